"""The buffered metric pipeline: nothing is lost, nothing is written twice, failures surface."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Run, Workspace
from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.errors import (
    MetricRejectedError,
    MetricValueError,
    MetricWriteError,
    RunyardError,
    StoreError,
    UserError,
)
from runyard.logging.pipeline import MetricPipeline, Series, chunk_points
from runyard.store.sql import SqlStore


def _queue(pipeline: MetricPipeline, run_id: str, name: str, count: int) -> None:
    """Queue ``count`` points 0.0, 1.0, ... of a numeric series, as Run.log does."""
    key = pipeline.register(run_id, name, MetricKind.VECTOR, ValueType.NUMBER, "")
    now = time.time()
    for i in range(count):
        pipeline.append(key, float(i), i, now)


def _values(workspace: Workspace, run_id: str, name: str) -> list[float]:
    found = workspace.store.read_metrics([run_id], [name])
    return list(found[0].values) if found else []


@pytest.fixture
def run(experiment: Experiment) -> Run:
    return experiment.start_logging(snapshot_directory=None)


def test_chunk_points_groups_per_series_in_order() -> None:
    series = [
        Series("r1", "a", MetricKind.VECTOR, ValueType.NUMBER, ""),
        Series("r1", "b", MetricKind.VECTOR, ValueType.NUMBER, ""),
        Series("r2", "a", MetricKind.VECTOR, ValueType.NUMBER, ""),
        Series("r1", "a", MetricKind.VECTOR, ValueType.NONE, ""),
    ]
    items = []
    for key, value, step in [(0, 0.0, 0), (1, 0.0, None), (0, 1.0, 1), (3, None, 2), (2, 5.0, 0)]:
        items.extend((key, value, step, 1.0))
    items.extend((1, 1.0, None, 1.0))
    chunks = chunk_points(series, items)
    assert [(c.run_id, c.name, c.value_type, list(c.values)) for c in chunks] == [
        ("r1", "a", ValueType.NUMBER, [0.0, 1.0, None]),
        ("r1", "b", ValueType.NUMBER, [0.0, 1.0]),
        ("r2", "a", ValueType.NUMBER, [5.0]),
    ]
    assert list(chunks[0].steps or []) == [0, 1, 2]
    assert chunks[1].steps is None


def test_chunk_points_one_series_keeps_everything_in_order() -> None:
    series = [Series("r", "loss", MetricKind.VECTOR, ValueType.NUMBER, "")]
    items: list[object] = []
    for i in range(1000):
        items.extend((0, float(i), None, 2.0))
    (chunk,) = chunk_points(series, items)
    assert list(chunk.values) == [float(i) for i in range(1000)]
    assert chunk.steps is None
    assert set(chunk.times) == {2.0}


def test_pipeline_writes_nothing_until_flush_then_everything(
    workspace: Workspace, run: Run
) -> None:
    pipeline = MetricPipeline(workspace.store, interval=3600)
    _queue(pipeline, run.id, "loss", 5000)
    assert _values(workspace, run.id, "loss") == []
    pipeline.flush()
    assert _values(workspace, run.id, "loss") == [float(i) for i in range(5000)]
    pipeline.close()


def test_pipeline_writes_in_the_background(workspace: Workspace, run: Run) -> None:
    pipeline = MetricPipeline(workspace.store, interval=0.01)
    _queue(pipeline, run.id, "loss", 100)
    deadline = time.monotonic() + 30
    while len(_values(workspace, run.id, "loss")) < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_values(workspace, run.id, "loss")) == 100
    pipeline.close()


class FlakyStore(SqlStore):
    """A real SQLite store whose metric writes fail while ``failures`` is above zero."""

    failures = 0
    calls = 0

    def log_metrics(self, chunks: Sequence[MetricChunk]) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("the store is away (injected)")
        super().log_metrics(chunks)


def _flaky(tmp_path: Path) -> FlakyStore:
    return FlakyStore(f"sqlite:///{tmp_path}/flaky.db", str(tmp_path / "flaky-artifacts"))


def test_pipeline_retries_transient_failures(tmp_path: Path) -> None:
    store = _flaky(tmp_path)
    (info,) = store.create_runs([_new_run()])
    store.failures = 2
    pipeline = MetricPipeline(store, interval=3600)
    _queue(pipeline, info.run_id, "loss", 10)
    pipeline.flush()
    assert len(store.read_metrics([info.run_id])[0].values) == 10
    pipeline.close()


def test_pipeline_failure_is_raised_then_points_are_kept_and_written_once(
    tmp_path: Path,
) -> None:
    store = _flaky(tmp_path)
    (info,) = store.create_runs([_new_run()])
    store.failures = 100
    pipeline = MetricPipeline(store, interval=3600)
    _queue(pipeline, info.run_id, "loss", 10)
    with pytest.raises(MetricWriteError, match="retried on the next flush"):
        pipeline.flush()
    assert store.read_metrics([info.run_id]) == []
    store.failures = 0
    _queue(pipeline, info.run_id, "loss", 5)
    pipeline.flush()
    values = list(store.read_metrics([info.run_id])[0].values)
    assert values == [float(i) for i in range(10)] + [float(i) for i in range(5)]
    pipeline.close()


def test_pipeline_error_surfaces_on_the_next_log_call(tmp_path: Path) -> None:
    store = _flaky(tmp_path)
    workspace = Workspace(f"sqlite:///{tmp_path}/flaky.db")
    workspace._store = store  # the workspace logs through the flaky store
    run = Experiment(workspace, "flaky").start_logging(snapshot_directory=None)
    workspace.pipeline.interval = 0.01
    store.failures = 100
    run.log("loss", 1.0)
    deadline = time.monotonic() + 30
    while workspace.pipeline.error is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the background writer fails, retries, then gives up for now
    with pytest.raises(MetricWriteError, match="the store is away"):
        run.log("loss", 2.0)
    run.log("loss", 3.0)  # raised once; logging goes on
    store.failures = 0
    run.flush()
    assert run.get_metrics() == {"loss": [1.0, 3.0]}


def test_pipeline_isolates_a_chunk_the_store_refuses(workspace: Workspace, run: Run) -> None:
    pipeline = MetricPipeline(workspace.store, interval=3600)
    _queue(pipeline, run.id, "good", 3)
    _queue(pipeline, "no-such-run", "bad", 2)
    with pytest.raises(UserError, match="2 point\\(s\\) of 'bad'"):
        pipeline.flush()
    assert _values(workspace, run.id, "good") == [0.0, 1.0, 2.0]
    pipeline.flush()  # the refused chunk is not retried forever
    pipeline.close()


class RefusingStore(SqlStore):
    """A real SQLite store that refuses every write holding a chunk of the series ``bad`` (as an
    invalid value would be), and fails the first ``hiccups`` writes of other lone chunks with
    ``hiccup`` (a transient failure, or an error that is not a runyard error at all)."""

    hiccups = 0
    hiccup: Exception = StoreError("the store is busy (injected)")

    def log_metrics(self, chunks: Sequence[MetricChunk], **kw: Any) -> None:
        if any(c.name == "bad" for c in chunks):
            raise MetricValueError("'bad' is refused (injected)")
        if len(chunks) == 1 and self.hiccups > 0:
            self.hiccups -= 1
            raise self.hiccup
        super().log_metrics(chunks, **kw)


def _refusing(tmp_path: Path, hiccup: Exception) -> tuple[RefusingStore, str]:
    store = RefusingStore(f"sqlite:///{tmp_path}/refusing.db", str(tmp_path / "artifacts"))
    store.hiccup = hiccup
    (info,) = store.create_runs([_new_run()])
    return store, info.run_id


def test_pipeline_isolation_retries_a_chunk_that_fails_transiently(tmp_path: Path) -> None:
    store, run_id = _refusing(tmp_path, StoreError("the store is busy (injected)"))
    pipeline = MetricPipeline(store, interval=3600)
    _queue(pipeline, run_id, "good", 3)
    _queue(pipeline, run_id, "bad", 2)
    store.hiccups = 1  # the good chunk, written alone, meets a busy store once

    with pytest.raises(MetricRejectedError, match="2 point\\(s\\) of 'bad'"):
        pipeline.flush()
    pipeline.flush()

    assert list(store.read_metrics([run_id], ["good"])[0].values) == [0.0, 1.0, 2.0]
    assert store.read_metrics([run_id], ["bad"]) == []
    pipeline.close()


def test_pipeline_flush_does_not_hang_on_an_error_that_is_not_a_runyard_error(
    tmp_path: Path,
) -> None:
    store, run_id = _refusing(tmp_path, RuntimeError("a bug in a driver (injected)"))
    pipeline = MetricPipeline(store, interval=3600)
    _queue(pipeline, run_id, "good", 3)
    _queue(pipeline, run_id, "bad", 2)
    store.hiccups = 1

    with pytest.raises(RunyardError) as raised:
        pipeline.flush(timeout_seconds=20)

    assert "within 20 s" not in str(raised.value)  # released with the error, not timed out
    assert isinstance(raised.value, MetricRejectedError)
    pipeline.flush(timeout_seconds=20)  # the good points were kept, and are written now
    assert list(store.read_metrics([run_id], ["good"])[0].values) == [0.0, 1.0, 2.0]
    pipeline.close()


def test_pipeline_error_that_is_not_a_runyard_error_keeps_the_points(tmp_path: Path) -> None:
    store, run_id = _refusing(tmp_path, RuntimeError("a bug in a driver (injected)"))
    pipeline = MetricPipeline(store, interval=3600)
    _queue(pipeline, run_id, "good", 3)
    store.hiccups = 100

    with pytest.raises(MetricWriteError, match="a bug in a driver"):
        pipeline.flush(timeout_seconds=20)
    store.hiccups = 0
    pipeline.flush(timeout_seconds=20)

    assert list(store.read_metrics([run_id], ["good"])[0].values) == [0.0, 1.0, 2.0]
    pipeline.close()


def test_pipeline_refusal_is_the_same_error_on_log_and_on_flush(
    workspace: Workspace, run: Run
) -> None:
    pipeline = MetricPipeline(workspace.store, interval=0.01)
    _queue(pipeline, "no-such-run", "bad", 2)
    deadline = time.monotonic() + 30
    while pipeline.error is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the background writer meets the refusal
    key = pipeline.register(run.id, "good", MetricKind.VECTOR, ValueType.NUMBER, "")

    with pytest.raises(MetricRejectedError, match="2 point\\(s\\) of 'bad'"):
        pipeline.append(key, 1.0, None, time.time())  # what run.log raises
    _queue(pipeline, "no-such-run", "bad", 3)
    with pytest.raises(MetricRejectedError, match="3 point\\(s\\) of 'bad'"):
        pipeline.flush()

    pipeline.append(key, 2.0, None, time.time())
    pipeline.flush()
    assert _values(workspace, run.id, "good") == [2.0]
    pipeline.close()


def test_pipeline_flush_restarts_a_writer_thread_that_is_gone(
    workspace: Workspace, run: Run
) -> None:
    pipeline = MetricPipeline(workspace.store, interval=3600)
    pipeline._closed = True  # how the writer thread ends; then as if it had died
    pipeline._wake.set()
    assert pipeline._thread is not None
    pipeline._thread.join(timeout=30)
    pipeline._closed = False
    _queue(pipeline, run.id, "loss", 10)

    pipeline.flush(timeout_seconds=20)

    assert _values(workspace, run.id, "loss") == [float(i) for i in range(10)]
    pipeline.close()


def test_pipeline_flush_after_close_writes_and_returns(workspace: Workspace, run: Run) -> None:
    pipeline = MetricPipeline(workspace.store, interval=3600)
    pipeline.close()
    _queue(pipeline, run.id, "late", 3)

    pipeline.flush(timeout_seconds=20)

    assert _values(workspace, run.id, "late") == [0.0, 1.0, 2.0]


def test_pipeline_memory_is_bounded(workspace: Workspace, run: Run) -> None:
    pipeline = workspace.pipeline
    pipeline.max_pending = 500
    highest = 0
    for i in range(20_000):
        run.log("loss", float(i))
        highest = max(highest, len(pipeline))
    assert highest <= 501
    run.flush()
    assert len(run.get_metrics()["loss"]) == 20_000


def _run_script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_interpreter_exit_flushes_every_point(workspace: Workspace, tmp_path: Path) -> None:
    done = _run_script(
        tmp_path,
        """
        from runyard import Experiment, Workspace
        run = Experiment(Workspace.from_config(), "exit").start_logging(snapshot_directory=None)
        print(run.id)
        for i in range(50_000):
            run.log("loss", float(i), step=i)
        """,
    )
    assert done.returncode == 0, done.stderr
    values = _values(workspace, done.stdout.strip(), "loss")
    assert values == [float(i) for i in range(50_000)]


def test_interpreter_exit_after_an_uncaught_exception_flushes(
    workspace: Workspace, tmp_path: Path
) -> None:
    done = _run_script(
        tmp_path,
        """
        from runyard import Experiment, Workspace
        run = Experiment(Workspace.from_config(), "crash").start_logging(snapshot_directory=None)
        print(run.id, flush=True)
        for i in range(1000):
            run.log("loss", float(i))
        raise RuntimeError("training crashed")
        """,
    )
    assert done.returncode == 1
    assert "training crashed" in done.stderr
    assert len(_values(workspace, done.stdout.strip(), "loss")) == 1000


def test_fork_does_not_write_the_parents_points_twice(workspace: Workspace, run: Run) -> None:
    pipeline = MetricPipeline(workspace.store, interval=3600)
    _queue(pipeline, run.id, "loss", 100)
    pid = os.fork()
    if pid == 0:  # the child: flushes its (empty) copy and leaves
        try:
            pipeline.flush(30)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    pipeline.flush()
    assert len(_values(workspace, run.id, "loss")) == 100
    pipeline.close()


def test_several_processes_log_into_one_run(workspace: Workspace, run: Run, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from runyard import Run, Workspace
            run = Run.get(Workspace.from_config(), sys.argv[1])
            for i in range(20_000):
                run.log("loss-" + sys.argv[2], float(i))
                run.log("shared", float(i))
            """
        )
    )
    workers = [
        subprocess.Popen([sys.executable, str(script), run.id, str(n)], cwd=tmp_path)
        for n in range(4)
    ]
    assert [w.wait(timeout=180) for w in workers] == [0, 0, 0, 0]
    metrics = run.get_metrics()
    for n in range(4):
        assert metrics[f"loss-{n}"] == [float(i) for i in range(20_000)]
    assert len(metrics["shared"]) == 80_000
    assert sorted(metrics["shared"]) == sorted([float(i) for i in range(20_000)] * 4)


def _new_run():  # type: ignore[no-untyped-def]
    from runyard.entities import NewRun

    return NewRun(run_id="flaky-run", experiment_name="flaky")
