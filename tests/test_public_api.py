"""The public API only grows on purpose: this test pins it."""

from __future__ import annotations

import runyard
from runyard import errors


def test_public_api_all_is_pinned() -> None:
    assert sorted(runyard.__all__) == sorted(
        [
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
    )


def test_public_api_names_exist() -> None:
    for name in runyard.__all__:
        assert hasattr(runyard, name), name


def test_version_matches_dunder_version() -> None:
    assert runyard.__version__ == runyard.VERSION
    assert runyard.__version__.count(".") == 2


def test_errors_every_class_has_code_and_status() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.RunyardError):
            assert 400 <= obj.http_status < 600, name
            assert errors.error_class_for_code(obj.code) is obj, name


def test_import_runyard_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, runyard\n"
        "heavy = [m for m in ('alembic', 'fastapi', 'psycopg', 'ray', 'uvicorn', 'numpy') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
