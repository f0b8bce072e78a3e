"""Issue 12's acceptance test: a training project written the way Azure ML v1's own samples write
them (the "train on local" style) runs with only its imports changed, locally and through the
server.

The training script logs with ``Run.get_context()`` and saves a model per hyper-parameter into
``./outputs``; the notebook part submits it with ``ScriptRunConfig``, re-attaches to it with
``Run(experiment, run_id)`` and ``wait_for_completion(show_output=True)``, registers the best
model and, in a later process, downloads it and uses it. Every part is a real Python process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import joblib
import pytest

from tests.server.process import ServerProcess, Workspace, start

pytestmark = pytest.mark.timeout(240)

# The imports are the only lines that differ from the Azure ML v1 originals:
#   from azureml.core.run import Run                               -> from runyard import Run
#   from azureml.core import Workspace, Experiment, ScriptRunConfig -> from runyard import ...
#   from azureml.core.model import Model                           -> from runyard import Model
TRAIN = """\
import argparse
import os

import joblib
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

from runyard import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alphas", type=str, default="0.1,0.5")
args = parser.parse_args()

os.makedirs("./outputs", exist_ok=True)
run = Run.get_context()

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

for alpha in [float(a) for a in args.alphas.split(",")]:
    reg = Ridge(alpha=alpha)
    reg.fit(X_train, y_train)
    preds = reg.predict(X_test)
    mse = mean_squared_error(preds, y_test)
    run.log("alpha", alpha)
    run.log("mse", mse)
    model_file_name = "ridge_{0:.2f}.pkl".format(alpha)
    joblib.dump(value=reg, filename=os.path.join("./outputs/", model_file_name))
    print("alpha is {0:.2f}, and mse is {1:0.2f}".format(alpha, mse))

run.log_list("coefficients", np.round(reg.coef_, 3).tolist())
run.tag("framework", "scikit-learn")
"""

SUBMIT = """\
from runyard import Experiment, ScriptRunConfig, Workspace

ws = Workspace.from_config()
experiment = Experiment(workspace=ws, name="train-on-local")
src = ScriptRunConfig(
    source_directory="./project",
    script="train.py",
    arguments=["--alphas", "0.1,0.4,0.8"],
)
run = experiment.submit(src)
print("SUBMITTED", run.id)
"""

REGISTER = """\
import sys

import numpy as np

from runyard import Experiment, Run, Workspace

ws = Workspace.from_config()
experiment = Experiment(workspace=ws, name="train-on-local")
run = Run(experiment, sys.argv[1])
run.wait_for_completion(show_output=True)
print("STATUS", run.get_status())

metrics = run.get_metrics()
best_alpha = metrics["alpha"][int(np.argmin(metrics["mse"]))]
print("BEST", best_alpha)
model = run.register_model(
    model_name="diabetes-ridge",
    model_path="outputs/ridge_{0:.2f}.pkl".format(best_alpha),
    tags={"alpha": best_alpha, "area": "diabetes"},
    properties={"mse": min(metrics["mse"])},
    description="Ridge regression on the diabetes data",
)
print("REGISTERED", model.name, model.version, model.run_id)
"""

USE = """\
import joblib
from sklearn.datasets import load_diabetes

from runyard import Model, Workspace

ws = Workspace.from_config()
model = Model(ws, "diabetes-ridge")
print("MODEL", model.name, model.version, model.tags["area"], model.run_id)
path = model.download(target_dir="downloaded", exist_ok=True)
reg = joblib.load(path)
X, _ = load_diabetes(return_X_y=True)
print("PREDICTION", float(reg.predict(X[:1])[0]) > 0)
for m in Model.list(ws, name="diabetes-ridge"):
    print("LISTED", m.name, m.version)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


def _python(folder: Path, code: str, env: Mapping[str, str], *args: str) -> str:
    """Run ``code`` as a script of ``folder`` (a new interpreter); its output, checked."""
    script = folder / "step.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=folder,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def _project(folder: Path) -> Path:
    (folder / "project").mkdir(parents=True)
    (folder / "project" / "train.py").write_text(TRAIN)
    return folder


def _line(output: str, word: str) -> list[str]:
    return next(line.split()[1:] for line in output.splitlines() if line.startswith(word + " "))


def _port_the_sample(folder: Path, env: Mapping[str, str]) -> None:
    run_id = _line(_python(folder, SUBMIT, env), "SUBMITTED")[0]

    registered = _python(folder, REGISTER, env, run_id)
    # wait_for_completion(show_output=True) streamed the script's own output, then the summary
    assert "alpha is 0.10, and mse is" in registered
    assert "Execution Summary" in registered
    assert _line(registered, "STATUS") == ["Completed"]
    best = float(_line(registered, "BEST")[0])
    assert best in (0.1, 0.4, 0.8)
    assert _line(registered, "REGISTERED") == ["diabetes-ridge", "1", run_id]

    used = _python(folder, USE, env)
    assert _line(used, "MODEL") == ["diabetes-ridge", "1", "diabetes", run_id]
    assert _line(used, "PREDICTION") == ["True"]
    assert _line(used, "LISTED") == ["diabetes-ridge", "1"]
    downloaded = folder / "downloaded" / f"ridge_{best:.2f}.pkl"
    assert joblib.load(downloaded).alpha == best


def test_azure_sample_runs_unchanged_on_the_local_workspace(tmp_path: Path) -> None:
    env = {**os.environ}
    env.pop("RUNYARD_TRACKING_URI", None)
    env.pop("RUNYARD_TOKEN", None)
    _port_the_sample(_project(tmp_path / "local"), env)


def test_azure_sample_runs_unchanged_through_the_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    workspace: Workspace = server.new_workspace()
    env = {**os.environ, "RUNYARD_TRACKING_URI": workspace.uri, "RUNYARD_TOKEN": workspace.writer}
    folder = _project(tmp_path / "remote")
    _port_the_sample(folder, env)
    assert not (folder / ".runyard").exists()  # everything went to the server's workspace
