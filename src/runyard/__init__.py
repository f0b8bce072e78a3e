"""runyard: local-first run management with the Azure ML SDK v1 run API.

>>> from runyard import Workspace, Experiment, Run, ScriptRunConfig
"""

from runyard import errors
from runyard._version import __version__
from runyard.entities import RunStatus
from runyard.sdk.compute import ComputeTarget, RayCluster
from runyard.sdk.conda import CondaDependencies
from runyard.sdk.environment import Environment
from runyard.sdk.experiment import Experiment
from runyard.sdk.model import Model
from runyard.sdk.run import Run
from runyard.sdk.script_run_config import RunConfiguration, ScriptRunConfig
from runyard.sdk.workspace import Workspace

VERSION = __version__

__all__ = [
    "VERSION",
    "ComputeTarget",
    "CondaDependencies",
    "Environment",
    "Experiment",
    "Model",
    "RayCluster",
    "Run",
    "RunConfiguration",
    "RunStatus",
    "ScriptRunConfig",
    "Workspace",
    "__version__",
    "errors",
]
