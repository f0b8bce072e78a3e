"""``runyard ui``: the web UI on the local workspace of the current folder."""

from __future__ import annotations

import socket
import threading
import webbrowser

import click

from runyard.cli._output import print_note
from runyard.cli.server import _config, _serve


def free_port(host: str) -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="The port (default: a free one)."
)
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@click.pass_context
def ui(ctx: click.Context, host: str, port: int, no_browser: bool) -> None:
    """Open the web UI on the local workspace of the current folder.

    Serves it with the tracking server on HOST (127.0.0.1: only this machine) and a free port,
    prints the address and opens it in the browser. Stop with Ctrl-C. Any `runyard server`
    serves the same UI at http://HOST:PORT/ui/ for its workspaces.
    """
    config = _config(ctx)
    port = port or free_port(host)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/ui/"
    print_note(f"runyard UI: {url}")
    if not no_browser:
        threading.Timer(1.5, webbrowser.open, [url]).start()
    _serve(config, host, port, 1)
