"""A script run's files: its output log (even empty) and the ignore rules of its working copy."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig
from runyard.sdk.script_run import STD_LOG
from tests.runners.helpers import write_script

pytestmark = pytest.mark.timeout(60)

LIST_WORKING_COPY = """
import os

for root, _, files in sorted(os.walk(".")):
    for name in sorted(files):
        print(os.path.join(root, name)[2:])
"""


@pytest.mark.parametrize(("code", "printed"), [("x = 1\n", ""), ("print('hi')\n", "hi\n")])
def test_script_run_file_names_list_its_log_printed_or_empty(
    experiment: Experiment, tmp_path: Path, code: str, printed: str
) -> None:
    write_script(tmp_path, "train.py", code)
    run = experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script="train.py"))
    run.wait_for_completion()

    logs = run.get_details_with_logs()["logFiles"]
    assert logs[STD_LOG] == printed
    assert run.get_file_names() == sorted(logs)
    downloaded = run.download_file(STD_LOG, tmp_path / "got" / "std_log.txt")
    assert downloaded.read_text() == printed


def test_script_run_working_copy_honours_amlignore_over_gitignore(
    experiment: Experiment, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    write_script(source, "list.py", LIST_WORKING_COPY)
    write_script(source, "data/big.csv", "1,2")
    write_script(source, "notes.log", "kept: only .gitignore names it")
    write_script(source, ".gitignore", "*.log\n")
    write_script(source, ".amlignore", "data/\n")
    run = experiment.submit(ScriptRunConfig(source_directory=str(source), script="list.py"))
    run.wait_for_completion()

    copied = run.get_details_with_logs()["logFiles"][STD_LOG].split()
    assert copied == [".amlignore", ".gitignore", "list.py", "notes.log"]
    with zipfile.ZipFile(run.restore_snapshot(path=tmp_path / "snap")) as archive:
        assert sorted(archive.namelist()) == copied
