"""The ASGI application: ``create_app(config)``, or ``app_from_env()`` in a uvicorn worker.

Each process opens its own control store and workspace stores; everything lives in the stores,
so any number of processes (``--workers``) or machines can serve the same data.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.responses import Response

from runyard._version import __version__
from runyard.server.config import ServerConfig
from runyard.server.errors import error_response, install_error_handlers
from runyard.server.routes import (
    admin,
    artifacts,
    experiments,
    logs,
    metrics,
    runs,
    snapshots,
    supervision,
)
from runyard.server.state import ServerState, server_state
from runyard.settings import TOKEN_ENV, TRACKING_URI_ENV
from runyard.store import wire

DESCRIPTION = f"""\
runyard's tracking server: named workspaces, each a complete runyard store, behind one route per
verb of the `Store` interface. The Python SDK talks to it when `{TRACKING_URI_ENV}` is
`http(s)://host:port/<workspace>` (and `{TOKEN_ENV}` holds a token).

Errors are `{{"error": {{"code", "message"}}}}`; the code names the runyard error class. Metric
points travel packed (see `runyard.store.codec`), artifact and blob bodies are streamed.
"""


def create_app(config: ServerConfig) -> FastAPI:
    """The server's ASGI app for ``config``; its stores open now and close at shutdown."""
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
    install_error_handlers(app)
    for module in (experiments, runs, supervision, metrics, logs, artifacts, snapshots, admin):
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Response:
        """The process is up (``pid`` tells the workers apart)."""
        return Response(wire.dumps({"status": "ok", "pid": os.getpid()}), media_type=wire.JSON_TYPE)

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> Response:
        """The server's own tables can be reached: ready for requests."""
        try:
            server_state(request).control.ping()
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
