"""Training frameworks' MLflow integrations, unchanged, logging into runyard:
scikit-learn autologging, and PyTorch Lightning's ``MLFlowLogger`` (CPU torch; slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from tests.mlflow.conftest import Tracking

mlflow = pytest.importorskip("mlflow")

pytestmark = [
    # Third-party training code warns about its own future (torch, Lightning, scikit-learn);
    # runyard's part is what these tests check.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
from mlflow import MlflowClient  # noqa: E402


def test_sklearn_autolog(tracking: Tracking, tmp_path: Path) -> None:
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = sklearn_datasets.load_iris(return_X_y=True)
    mlflow.set_experiment("sklearn")
    mlflow.sklearn.autolog()  # the defaults: models and datasets logged too
    try:
        with mlflow.start_run() as run:
            linear_model.LogisticRegression(max_iter=200, C=0.5).fit(x, y)
    finally:
        mlflow.sklearn.autolog(disable=True)

    got = MlflowClient().get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5"
    assert got.data.params["max_iter"] == "200"
    assert 0.5 < got.data.metrics["training_accuracy_score"] <= 1.0
    assert got.data.tags["estimator_name"] == "LogisticRegression"
    (model,) = got.outputs.model_outputs
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["dataset"]

    ws = Workspace.from_config()
    (runyard_run,) = list(Experiment(ws, "sklearn").get_runs())
    assert runyard_run.get_details()["properties"]["C"] == "0.5"
    assert "training_accuracy_score" in runyard_run.get_metrics()
    assert f"models/{model.model_id}/MLmodel" in runyard_run.get_file_names()
    ws.close()


@pytest.mark.slow
def test_lightning_mlflow_logger(tracking: Tracking, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    lightning = pytest.importorskip("pytorch_lightning")
    from pytorch_lightning.loggers import MLFlowLogger

    class Regressor(lightning.LightningModule):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.save_hyperparameters({"hidden": 8, "lr": 0.05})
            self.net = torch.nn.Sequential(
                torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)
            )

        def training_step(self, batch: object, _index: int) -> object:
            x, y = batch  # type: ignore[misc]
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def configure_optimizers(self) -> object:
            return torch.optim.SGD(self.parameters(), lr=0.05)

    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x.sum(dim=1, keepdim=True)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    logger = MLFlowLogger(
        experiment_name="lightning", tracking_uri=tracking.uri, run_name="regressor"
    )
    trainer = lightning.Trainer(
        max_epochs=3,
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=str(tmp_path),
    )
    trainer.fit(Regressor(), data)

    got = MlflowClient().get_run(logger.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "regressor"
    assert got.data.params == {"hidden": "8", "lr": "0.05"}
    history = MlflowClient().get_metric_history(logger.run_id, "train_loss_step")
    assert len(history) == 12  # 4 batches x 3 epochs
    assert [m.step for m in history] == sorted(m.step for m in history)
    ws = Workspace.from_config()
    (runyard_run,) = list(Experiment(ws, "lightning").get_runs())
    assert runyard_run.id == logger.run_id
    assert len(runyard_run.get_metrics()["train_loss_step"]) == 12
    ws.close()
