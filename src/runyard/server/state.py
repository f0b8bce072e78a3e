"""What one server process holds: its configuration, the control store, the workspace stores."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from runyard.server.config import ServerConfig
from runyard.server.control import ControlStore
from runyard.server.registry import WorkspaceRegistry


@dataclass(slots=True)
class ServerState:
    config: ServerConfig
    control: ControlStore
    registry: WorkspaceRegistry

    @classmethod
    def open(cls, config: ServerConfig) -> ServerState:
        url, schema = config.control_location()
        control = ControlStore(url, schema)
        try:
            return cls(config, control, WorkspaceRegistry(config, control))
        except BaseException:
            control.close()
            raise

    def close(self) -> None:
        self.registry.close()
        self.control.close()


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.runyard
    return state
