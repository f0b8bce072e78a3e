"""``runyard sync``: send the journals that HTTP clients left behind while a server was away.

A client that ends (or is killed) while its server cannot be reached leaves its changes in its
journal folder. This command finds every journal under the journal root, sends each one to the
workspace it was written for (or to ``--tracking-uri``), in order, and says what it sent. The
request ids kept in the records make a second run, or a run after a partial one, send nothing
twice. Journals of running processes are skipped: those processes send their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runyard.cli._context import CliError
from runyard.cli._output import (
    print_error,
    print_line,
    print_note,
    print_warning,
    with_env_names,
)
from runyard.errors import MissingExtraError, RunyardError
from runyard.settings import JOURNAL_DIR_ENV, TrackingUri, parse_with_env_token

if TYPE_CHECKING:
    from runyard.store.http.store import HttpStore

Stores = dict[str, "HttpStore | RunyardError"]


@click.command("sync")
@click.option(
    "--journal-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where to look for journals: every journal under DIR is sent (or DIR itself, if it is "
    f"one). Default: ${JOURNAL_DIR_ENV}, else ~/.cache/runyard/journal.",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="Send to this workspace (http(s)://host:port/<workspace>) instead of where the "
    "journals were written, for a server that moved; only journals of a workspace of the same "
    "name are sent. Default: each journal's own.",
)
@with_env_names
def sync(journal_dir: Path | None, tracking_uri: str | None) -> None:
    """Send the changes kept in journals while a tracking server could not be reached.

    Each journal is sent in order, with the token in {TOKEN_ENV}, and deleted once the server
    has acknowledged every change; the server ignores a change it has applied already, so running
    sync again sends nothing twice. Exits with 1 if something could not be sent, saying why (the
    journal then keeps what was not sent).
    """
    from runyard.store.http import journal as journals

    root = journal_dir if journal_dir is not None else journals.default_root()
    found = journals.find_journals(root) if root.is_dir() else []
    if not found:
        print_line(f"No journal to send in {root}.")
        return
    target = parse_with_env_token(tracking_uri) if tracking_uri is not None else None
    failures: list[str] = []
    stores: Stores = {}
    try:
        for folder in found:
            failure = _send_one(folder, target, stores)
            if failure:
                failures.append(failure)
    finally:
        for store in stores.values():
            if not isinstance(store, RunyardError):
                store.close()
    if failures:
        raise CliError(
            f"{len(failures)} journal(s) could not be sent completely; they keep what was not "
            "sent. Run `runyard sync` again once the cause is fixed."
        )


def _send_one(folder: Path, tracking_uri: TrackingUri | None, stores: Stores) -> str | None:
    """Send the journal in ``folder``; the reason it could not be sent completely, or None."""
    from runyard.errors import JournalBusyError

    meta = _meta(folder)
    if meta is None:
        print_error(f"{folder}: its meta.json cannot be read; it was left as it is.")
        return f"{folder}: unreadable meta.json"
    target = meta["tracking_uri"]
    if tracking_uri is not None:
        if tracking_uri.workspace != meta.get("workspace"):
            print_note(f"Skipped {folder}: it holds changes of workspace {meta.get('workspace')}.")
            return None
        target = tracking_uri.uri.rstrip("/")
    store = _store(target, stores)
    if isinstance(store, RunyardError):
        print_error(f"Could not send {folder} to {target}: {store.message}")
        return str(store)
    try:
        report, notes = store.send_journal(folder)
    except JournalBusyError:
        print_note(
            f"Skipped {folder}: in use by a running process (pid {meta.get('pid')} on "
            f"{meta.get('host')}), which sends it itself."
        )
        return None
    except RunyardError as exc:
        print_error(exc.message)
        return exc.message
    for note in notes:
        print_warning(note)
    if report.total:
        print_line(f"Sent {report.total} change(s) from {folder} to {target}: {report.describe()}.")
    elif not report.refused and report.error is None:
        kept = folder / "rejected.jsonl"
        print_line(
            f"Nothing left to send in {folder}; changes the server refused are kept in {kept}."
            if kept.exists()
            else f"Nothing left to send in {folder}; removed it."
        )
    for record, error in report.refused:
        print_error(
            f"The server refused {record.verb} (request {record.request_id}, run "
            f"{', '.join(record.run_ids) or '-'}): {error.message} Kept in "
            f"{folder / 'rejected.jsonl'}."
        )
    if report.error is not None:
        print_error(f"Stopped sending {folder} to {target}: {report.error.message}")
        return report.error.message
    if report.refused:
        return f"{len(report.refused)} change(s) refused"
    return None


def _meta(folder: Path) -> Mapping[str, Any] | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("tracking_uri"), str):
        return None
    return meta


def _store(uri: str, stores: Stores) -> HttpStore | RunyardError:
    """The HttpStore of ``uri`` (opened once), or the error that kept it from opening."""
    if uri not in stores:
        try:
            from runyard.store.http.store import HttpStore
        except ModuleNotFoundError as exc:
            if exc.name != "httpx":
                raise
            raise MissingExtraError(
                "Sending journals needs httpx: pip install 'runyard[server]'."
            ) from None
        try:
            stores[uri] = HttpStore(parse_with_env_token(uri))
        except RunyardError as exc:
            stores[uri] = exc
    return stores[uri]
