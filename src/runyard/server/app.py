"""The ASGI application: ``create_app(config)``, or ``app_from_env()`` in a uvicorn worker.

Each process opens its own control store and workspace stores; everything lives in the stores,
so any number of processes (``--workers``) or machines can serve the same data.

Guards (``ServerSettings``, docs/server.md): request bodies at most ``max_body_bytes`` (413;
the streamed uploads have no limit), a read timeout on every body (408), at most
``max_uploads`` uploads at once in threads of their own (``streams.UploadSlots``), and health
routes that run on the event loop, so no busy route can keep them from answering.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from starlette.responses import Response

from runyard._version import __version__
from runyard.server.bodies import RequestBodies
from runyard.server.config import ServerConfig
from runyard.server.errors import error_response, install_error_handlers
from runyard.server.mlflow.install import install_mlflow
from runyard.server.routes import (
    admin,
    artifacts,
    compute,
    environments,
    experiments,
    logs,
    metrics,
    models,
    registry,
    runs,
    snapshots,
    supervision,
)
from runyard.server.state import ServerState, server_state
from runyard.server.streams import UploadSlots
from runyard.server.ui import install_ui
from runyard.settings import TOKEN_ENV, TRACKING_URI_ENV, ServerSettings
from runyard.store import wire

READY_TIMEOUT_SECONDS = 10.0
"""How long ``/readyz`` waits for the server's tables before it answers 503."""

DESCRIPTION = f"""\
runyard's tracking server: named workspaces, each a complete runyard store, behind one route per
verb of the `Store` interface. The Python SDK talks to it when `{TRACKING_URI_ENV}` is
`http(s)://host:port/<workspace>` (and `{TOKEN_ENV}` holds a token).

Errors are `{{"error": {{"code", "message"}}}}`; the code names the runyard error class. Metric
points travel packed (see `runyard.store.codec`), artifact and blob bodies are streamed.
"""


def create_app(config: ServerConfig, settings: ServerSettings | None = None) -> FastAPI:
    """The server's ASGI app for ``config``; its stores open now and close at shutdown.

    Args:
        settings: its limits and timeouts (default: ``ServerSettings.from_env()``).
    """
    settings = settings or ServerSettings.from_env()
    state = ServerState.open(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="runyard tracking server",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runyard = state
    app.state.uploads = UploadSlots(settings.max_uploads, settings.read_timeout_seconds)
    install_mlflow(app, state, app.state.uploads)  # first: the body guards wrap it too
    app.add_middleware(
        RequestBodies,
        max_bytes=settings.max_body_bytes,
        read_timeout=settings.read_timeout_seconds,
    )
    install_error_handlers(app)
    health_threads = anyio.CapacityLimiter(2)  # never behind the routes' (or uploads') threads
    for module in (experiments, runs, supervision, metrics, logs, artifacts, snapshots, admin):
        app.include_router(module.router)
    app.include_router(models.router)
    app.include_router(registry.router)
    app.include_router(environments.router)
    app.include_router(compute.router)
    install_ui(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Response:
        """The process is up (``pid`` tells the workers apart)."""
        return Response(wire.dumps({"status": "ok", "pid": os.getpid()}), media_type=wire.JSON_TYPE)

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> Response:
        """The server's own tables can be reached: ready for requests."""
        ping = server_state(request).control.ping
        try:
            with anyio.fail_after(READY_TIMEOUT_SECONDS):
                await anyio.to_thread.run_sync(ping, limiter=health_threads, abandon_on_cancel=True)
        except TimeoutError:
            return error_response(
                503,
                "StoreError",
                f"The server's tables did not answer within {READY_TIMEOUT_SECONDS:g} s.",
            )
        except Exception as exc:  # any failure means "not ready"; the message says which
            return error_response(
                503, "StoreError", f"The server's tables cannot be reached: {exc}"
            )
        return Response(wire.dumps({"status": "ready"}), media_type=wire.JSON_TYPE)

    return app


def app_from_env() -> FastAPI:
    """The app of the configuration in the environment (``settings.SERVER_CONFIG_ENV``):
    uvicorn's factory in each worker process."""
    return create_app(ServerConfig.from_env())
