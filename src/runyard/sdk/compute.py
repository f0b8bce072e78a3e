"""Compute targets of a workspace: ``RayCluster`` (what to attach) and ``ComputeTarget`` (one
attached), as Azure ML's ``ComputeTarget.attach(ws, name, config)`` and ``ws.compute_targets``.

>>> ws.attach_compute("ray", RayCluster(address="http://127.0.0.1:8265"))   # once
>>> ScriptRunConfig(..., compute_target="ray")

``local`` is every workspace's own target and is never attached nor detached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.entities import ComputeTargetInfo
from runyard.errors import InvalidArgumentError

if TYPE_CHECKING:
    from runyard.sdk.workspace import Workspace


class RayCluster:
    """A Ray cluster to attach: ``address`` is its dashboard's URL, which serves Ray's Job
    Submission API (``http://HOST:8265`` by default; ``ray status`` and the head's log print
    it). A token-auth cluster's token is read from Ray's own ``RAY_AUTH_TOKEN`` variable in the
    submitting process, never stored in the workspace.

    Raises:
        InvalidArgumentError: ``address`` is not an http(s) URL.
    """

    kind = "ray"

    def __init__(self, address: str) -> None:
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise InvalidArgumentError(
                f"RayCluster address must be the cluster's dashboard URL, such as "
                f"'http://127.0.0.1:8265', got {address!r:.80}."
            )
        self.address = address.rstrip("/")

    def to_config(self) -> dict[str, Any]:
        return {"address": self.address}

    def __repr__(self) -> str:
        return f"RayCluster(address={self.address!r})"


class ComputeTarget:
    """A compute target of a workspace: ``name``, ``type`` (``local``, ``ray``) and, for an
    attached one, its configuration (``address``)."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        """The target ``name`` of ``workspace`` (Azure's ``ComputeTarget(workspace, name)``).

        Raises:
            ComputeTargetNotFoundError: the workspace has none of that name.
        """
        self.workspace = workspace
        self.name = name
        if name == "local":
            self._info = ComputeTargetInfo("local", "local", {}, 0.0)
        else:
            self._info = workspace.store.get_compute(name)

    @classmethod
    def _of(cls, workspace: Workspace, info: ComputeTargetInfo) -> ComputeTarget:
        target = cls.__new__(cls)
        target.workspace, target.name, target._info = workspace, info.name, info
        return target

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: RayCluster) -> ComputeTarget:
        """Attach a target to ``workspace`` (``ws.attach_compute``)."""
        return workspace.attach_compute(name, attach_configuration)

    @property
    def type(self) -> str:
        return self._info.kind

    @property
    def address(self) -> str | None:
        value = self._info.config.get("address")
        return None if value is None else str(value)

    def detach(self) -> None:
        """Detach the target from its workspace (its runs stay)."""
        self.workspace.detach_compute(self.name)

    def __repr__(self) -> str:
        where = f", address={self.address!r}" if self.address else ""
        return f"ComputeTarget(name={self.name!r}, type={self.type!r}{where})"


def attach(workspace: Workspace, name: str, target: RayCluster) -> ComputeTarget:
    if not isinstance(target, RayCluster):
        raise InvalidArgumentError(
            f"attach_compute needs a RayCluster(address=...), got {type(target).__name__}."
        )
    info = workspace.store.attach_compute(name, target.kind, target.to_config())
    return ComputeTarget._of(workspace, info)


def targets(workspace: Workspace) -> dict[str, ComputeTarget]:
    local = ComputeTargetInfo("local", "local", {}, 0.0)
    found = [local, *workspace.store.list_compute()]
    return {info.name: ComputeTarget._of(workspace, info) for info in found}
