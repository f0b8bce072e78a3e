"""The tracking server: named workspaces (each a complete store) behind a versioned HTTP API.

Nothing here is imported by ``import runyard``; FastAPI and uvicorn come with the ``server``
extra and are imported only when a server is built (``runyard.server.app.create_app``).
``docs/server.md`` describes running it; ``docs/architecture.md`` the HTTP path.
"""

from __future__ import annotations

from runyard.errors import MissingExtraError

__all__ = ["require_server_extra"]


def require_server_extra() -> None:
    """Check that FastAPI and uvicorn are installed.

    Raises:
        MissingExtraError: they are not; the message names the extra to install.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"The tracking server needs {exc.name}, which is not installed: "
            "pip install 'runyard[server]'."
        ) from None
