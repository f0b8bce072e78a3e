"""A run's page: details, live status, tags (and who may change them), files, the live log,
child runs and cancel, in a real browser against a real server."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from runyard import Experiment, ScriptRunConfig
from runyard import Workspace as SdkWorkspace
from runyard.entities import RunStatus
from runyard.server.control import Role
from runyard.server.ui.access import CSRF_HEADER
from tests.runners.helpers import is_alive, read_pids, write_script
from tests.server.process import ServerProcess, Workspace
from tests.ui.conftest import screenshot, sign_in

pytestmark = pytest.mark.timeout(120)

STD_LOG = "user_logs/std_log.txt"
SCRIPT_TAG = "<script>alert(1)</script>"


def open_run(page: Page, server: ServerProcess, workspace: Workspace, run_id: str,
             role: Role = Role.WRITER) -> None:  # fmt: skip
    sign_in(page, server, workspace.tokens[role])
    page.goto(f"{server.url}/ui/w/{workspace.name}/r/{run_id}")


def api_path(workspace: Workspace, run_id: str, tail: str = "") -> str:
    return f"/ui/api/w/{workspace.name}/runs/{run_id}{tail}"


def detail(page: Page, name: str) -> Locator:
    return page.locator(f'#details-list dd[data-field="{name}"]')


def png(width: int, height: int) -> bytes:
    """A real PNG image (RGB, a gradient) of this size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- details and live status ---------------------------------------------------------------------


def test_run_page_shows_details_parent_error_and_definition(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    exp = Experiment(ws, "details")
    parent = exp.start_logging(snapshot_directory=None, outputs=False, display_name="the parent")
    child = parent.child_run(name="the child")
    ws.store.update_run(child.id, run_definition={"script": "train.py", "arguments": ["--lr", "1"]})
    child.fail(error_details="boom: <b>not bold</b>", error_code="UserError")
    parent.complete()

    open_run(page, server, workspace, child.id, Role.READER)
    expect(page.get_by_role("heading", name="the child", level=1)).to_be_visible()
    expect(page.locator("#run-status .badge")).to_have_text("Failed")
    expect(detail(page, "Run ID")).to_have_text(child.id)
    expect(detail(page, "Experiment").get_by_role("link", name="details")).to_have_attribute(
        "href", f"/ui/w/{workspace.name}/e/details"
    )
    expect(detail(page, "Parent").get_by_role("link")).to_have_attribute(
        "href", f"/ui/w/{workspace.name}/r/{parent.id}"
    )
    expect(detail(page, "Ended")).not_to_be_empty()
    expect(detail(page, "Duration")).to_have_text(re.compile(r"^\d+s$"))  # not "(running)"
    expect(page.locator("#run-error-text")).to_contain_text("boom: <b>not bold</b>")
    assert page.locator("#run-error-text b").count() == 0
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()  # ended (and a reader)

    page.get_by_text("Run definition").click()
    shown = json.loads(page.locator("#run-definition-text").inner_text())
    assert shown == {"script": "train.py", "arguments": ["--lr", "1"]}

    page.goto(f"{server.url}/ui/w/{workspace.name}/r/no-such-run")
    expect(page.get_by_role("heading", name="Run not found")).to_be_visible()


def test_status_changes_on_screen_without_reload_and_polling_stops(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run = Experiment(ws, "live").start_logging(snapshot_directory=None, outputs=False)
    open_run(page, server, workspace, run.id)
    badge = page.locator("#run-status .badge")
    expect(badge).to_have_text("Running")
    expect(detail(page, "Duration")).to_contain_text("(running)")
    expect(page.get_by_role("button", name="Cancel run")).to_be_visible()
    polls: list[str] = []
    run_url = f"{server.url}{api_path(workspace, run.id)}"
    page.on(
        "request", lambda request: polls.append(request.url) if request.url == run_url else None
    )

    run.complete()
    expect(badge).to_have_text("Completed")
    expect(detail(page, "Ended")).not_to_be_empty()
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    assert polls, "the page polled the run"
    seen = len(polls)
    page.wait_for_timeout(4000)  # two poll intervals and more
    assert len(polls) == seen, "the page kept polling a run that has ended"


# -- tags ----------------------------------------------------------------------------------------


def test_tags_are_added_edited_and_removed_in_the_store(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run = Experiment(ws, "tags").start_logging(
        snapshot_directory=None, outputs=False, display_name="resnet50, lr 0.1"
    )
    run.set_tags({"team": "vision", "old": "x"})
    run.add_properties({"author": "ann"})
    open_run(page, server, workspace, run.id)
    tags = page.locator("#tags-table tbody")
    expect(tags.locator("tr")).to_have_count(2)

    page.get_by_label("Tag key").fill("lr")
    page.get_by_label("Tag value").fill("0.1")
    page.get_by_role("button", name="Add tag").click()
    expect(tags.locator('tr[data-key="lr"] td').nth(1)).to_have_text("0.1")

    page.get_by_label("Tag key").fill("flag")
    page.get_by_role("button", name="Add tag").click()  # empty value: a value-less tag
    expect(tags.locator('tr[data-key="flag"] td').nth(1)).to_have_text("(no value)")

    page.get_by_role("button", name="Edit tag team").click()
    page.get_by_label("New value of tag team").fill("audio")
    page.get_by_role("button", name="Save").click()
    expect(tags.locator('tr[data-key="team"] td').nth(1)).to_have_text("audio")

    page.get_by_role("button", name="Remove tag old").click()
    expect(tags.locator('tr[data-key="old"]')).to_have_count(0)

    properties = page.locator('#properties-table tr[data-key="author"] td')
    expect(properties).to_have_text(["author", "ann"])
    expect(page.get_by_text("Properties are immutable")).to_be_visible()
    screenshot(page, "run")

    stored = ws.store.get_run(run.id).tags
    assert stored == {"flag": None, "lr": "0.1", "team": "audio"}
    run.complete()


def test_a_reader_gets_no_tag_controls_and_the_api_refuses_changes(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run = Experiment(ws, "tags").start_logging(snapshot_directory=None, outputs=False)
    run.tag("team", "vision")
    open_run(page, server, workspace, run.id, Role.READER)
    expect(page.locator('#tags-table tr[data-key="team"]')).to_be_visible()
    expect(page.get_by_label("Tag key")).to_be_hidden()
    expect(page.get_by_role("button", name="Edit tag team")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    expect(page.get_by_text("tags are read-only for you")).to_be_visible()

    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    url = f"{server.url}{api_path(workspace, run.id, '/tags')}"
    refused = page.request.patch(url, headers={CSRF_HEADER: csrf}, data={"tags": {"team": "x"}})
    assert refused.status == 403
    assert "writer" in refused.json()["error"]["message"]
    removed = page.request.delete(f"{url}?key=team", headers={CSRF_HEADER: csrf})
    assert removed.status == 403
    cancel = page.request.post(
        f"{server.url}{api_path(workspace, run.id, '/cancel')}", headers={CSRF_HEADER: csrf}
    )
    assert cancel.status == 403
    assert ws.store.get_run(run.id).tags == {"team": "vision"}
    assert ws.store.get_run(run.id).status is RunStatus.RUNNING
    run.complete()


def test_a_change_without_the_right_csrf_header_is_refused_and_changes_nothing(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run = Experiment(ws, "csrf").start_logging(snapshot_directory=None, outputs=False)
    run.tag("team", "vision")
    open_run(page, server, workspace, run.id)  # a writer's session
    expect(page.locator('#tags-table tr[data-key="team"]')).to_be_visible()
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    url = f"{server.url}{api_path(workspace, run.id, '/tags')}"
    body = {"tags": {"team": "changed"}}
    for headers in ({}, {CSRF_HEADER: "0" * len(csrf)}, {CSRF_HEADER: csrf[:-1]}):
        answer = page.request.patch(url, headers=headers, data=body)
        assert answer.status == 403, headers
        assert "anti-CSRF" in answer.json()["error"]["message"]
        assert page.request.delete(f"{url}?key=team", headers=headers).status == 403
        cancel = f"{server.url}{api_path(workspace, run.id, '/cancel')}"
        assert page.request.post(cancel, headers=headers).status == 403
    assert ws.store.get_run(run.id).tags == {"team": "vision"}
    assert ws.store.get_run(run.id).status is RunStatus.RUNNING
    # The same session with its header may change it: the refusals were the header's.
    accepted = page.request.patch(url, headers={CSRF_HEADER: csrf}, data=body)
    assert accepted.status == 200
    assert ws.store.get_run(run.id).tags == {"team": "changed"}
    run.complete()


def test_user_text_is_shown_as_text(
    page: Page,
    server: ServerProcess,
    workspace: Workspace,
    ws: SdkWorkspace,
    dialogs: list[str],
) -> None:
    exp = Experiment(ws, "xss")
    run = exp.start_logging(snapshot_directory=None, outputs=False, display_name=SCRIPT_TAG)
    run.tag(SCRIPT_TAG, "<img src=x onerror=alert(2)>")
    run.add_properties({"p": SCRIPT_TAG})
    run.child_run(name="<img src=y onerror=alert(3)>").complete()
    ws.store.append_log(run.id, STD_LOG, f"{SCRIPT_TAG}\n".encode())
    run.log("<b>m</b>", 1.0)
    run.flush()
    open_run(page, server, workspace, run.id)
    expect(page.get_by_role("heading", name=SCRIPT_TAG, level=1)).to_be_visible()
    row = page.locator("#tags-table tbody tr").first
    expect(row.locator("td").nth(0)).to_have_text(SCRIPT_TAG)
    expect(row.locator("td").nth(1)).to_have_text("<img src=x onerror=alert(2)>")
    expect(page.locator('#properties-table tr[data-key="p"] td').nth(1)).to_have_text(SCRIPT_TAG)
    expect(page.get_by_role("link", name="<img src=y onerror=alert(3)>")).to_be_visible()
    expect(page.locator("#log-text")).to_contain_text(SCRIPT_TAG)
    expect(page.locator("#metrics-root")).to_contain_text("<b>m</b>")
    assert page.locator("#main img, #main script:not([type='application/json'])").count() == 0
    page.get_by_role("button", name=f"Edit tag {SCRIPT_TAG}").click()
    page.get_by_label(f"New value of tag {SCRIPT_TAG}").fill("<svg onload=alert(4)>")
    page.get_by_role("button", name="Save").click()
    expect(row.locator("td").nth(1)).to_have_text("<svg onload=alert(4)>")
    assert ws.store.get_run(run.id).tags[SCRIPT_TAG] == "<svg onload=alert(4)>"
    assert dialogs == []
    run.complete()


# -- metrics (charts.js draws them: tests/ui/test_charts.py checks the charts themselves) ---------


def test_metrics_section_draws_the_run_metrics(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run = Experiment(ws, "metrics").start_logging(snapshot_directory=None, outputs=False)
    for step, value in enumerate([0.5, 0.25, 0.75]):
        run.log("loss", value, step=step)
    run.complete()
    open_run(page, server, workspace, run.id)
    section = page.get_by_role("region", name="Metrics")
    expect(section).to_be_visible()
    root = page.locator("#metrics-root")
    assert root.get_attribute("data-workspace") == workspace.name
    assert root.get_attribute("data-run") == run.id
    # The run page hands its section to charts.js, which draws each numeric series.
    expect(root.locator(".js-plotly-plot")).to_have_count(1)
    expect(root).to_contain_text("loss")
    plotted = page.evaluate(
        "() => document.querySelector('#metrics-root .js-plotly-plot').data"
        ".flatMap(t => Array.from(t.y || []))"
    )
    assert {0.5, 0.25, 0.75} <= set(plotted)


# -- files ---------------------------------------------------------------------------------------


def test_files_tree_previews_and_raw_downloads(
    page: Page,
    server: ServerProcess,
    workspace: Workspace,
    ws: SdkWorkspace,
    dialogs: list[str],
) -> None:
    run = Experiment(ws, "files").start_logging(
        snapshot_directory=None, outputs=False, display_name="evaluation"
    )
    html = b"<html><body><script>alert(1)</script><h1>hello</h1></body></html>"
    csv_rows = "step,loss\n" + "".join(f"{i},{1 / (i + 1):.4f}\n" for i in range(250))
    files = {
        "outputs/page.html": html,
        "outputs/drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(5)"/>',
        "outputs/metrics.json": b'{"acc": 0.9, "layers": [1, 2]}',
        "outputs/config.yaml": b"lr: 0.1\nbatch: 32\n",
        "outputs/table.csv": csv_rows.encode(),
        "outputs/plots/curve.png": png(64, 32),
        "model.bin": bytes(range(256)) * 4,
        "notes.txt": "café ☕\n".encode(),
    }
    for path, content in files.items():
        run.upload_file(path, io.BytesIO(content))
    run.complete()
    open_run(page, server, workspace, run.id)
    tree = page.locator("#files-tree")
    expect(tree.locator("summary", has_text="outputs/")).to_be_visible()
    expect(tree.locator("summary", has_text="plots/")).to_be_visible()
    expect(tree.locator("li.file")).to_have_count(len(files))
    expect(tree.locator("li.file", has_text="model.bin")).to_contain_text("1.0 KiB")
    preview = page.locator("#file-preview")

    tree.get_by_role("button", name="page.html").click()
    expect(preview.locator("pre")).to_have_text(html.decode())
    tree.get_by_role("button", name="drawing.svg").click()
    expect(preview.locator("pre")).to_contain_text("onload=")
    tree.get_by_role("button", name="metrics.json").click()
    expect(preview.locator("pre")).to_have_text(
        json.dumps({"acc": 0.9, "layers": [1, 2]}, indent=2)
    )
    tree.get_by_role("button", name="config.yaml").click()
    expect(preview.locator("pre")).to_have_text("lr: 0.1\nbatch: 32\n")
    tree.get_by_role("button", name="notes.txt").click()
    expect(preview.locator("pre")).to_have_text("café ☕\n")
    tree.get_by_role("button", name="table.csv").click()
    table = preview.locator("table")
    expect(table.locator("thead th")).to_have_text(["step", "loss"])
    expect(table.locator("tbody tr")).to_have_count(200)
    expect(table.locator("tbody tr").first.locator("td")).to_have_text(["0", "1.0000"])
    expect(preview.get_by_text("The first 200 rows.")).to_be_visible()
    screenshot(page, "run-files")
    tree.get_by_role("button", name="model.bin").click()
    expect(preview).to_contain_text("No preview for this kind of file")
    expect(preview.get_by_role("link", name="Download")).to_have_attribute(
        "href", api_path(workspace, run.id, "/files/raw/model.bin")
    )
    tree.get_by_role("button", name="curve.png").click()
    image = preview.locator("img")
    expect(image).to_have_attribute("alt", "outputs/plots/curve.png")
    page.wait_for_function("() => document.querySelector('#file-preview img')?.naturalWidth > 0")
    assert image.evaluate("node => [node.naturalWidth, node.naturalHeight]") == [64, 32]

    tree.locator("summary", has_text="outputs/").click()  # folders fold
    expect(tree.get_by_role("button", name="page.html")).to_be_hidden()

    raw = api_path(workspace, run.id, "/files/raw/")
    for path in ("outputs/page.html", "outputs/drawing.svg", "model.bin"):
        answer = page.request.get(f"{server.url}{raw}{path}")
        assert answer.status == 200
        assert answer.body() == files[path]
        headers = answer.headers
        assert headers["content-disposition"].startswith("attachment;"), path
        assert headers["content-security-policy"] == "sandbox"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-type"] == "application/octet-stream"
    image_answer = page.request.get(f"{server.url}{raw}outputs/plots/curve.png")
    assert image_answer.headers["content-type"] == "image/png"
    assert image_answer.headers["content-disposition"].startswith("inline;")
    assert image_answer.headers["content-security-policy"] == "sandbox"
    missing = page.request.get(f"{server.url}{raw}outputs/nothing.txt")
    assert missing.status == 404
    assert dialogs == []


# -- logs ----------------------------------------------------------------------------------------


def test_live_log_grows_on_screen_and_follows_the_end(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run = Experiment(ws, "logs").start_logging(
        snapshot_directory=None, outputs=False, display_name="training"
    )
    ws.store.append_log(run.id, STD_LOG, b"epoch 1\n")
    open_run(page, server, workspace, run.id, Role.READER)
    text = page.locator("#log-text")
    expect(text).to_have_text("epoch 1\n")
    expect(page.get_by_label("Log file")).to_have_value(STD_LOG)
    # a character split over two writes comes out whole
    ws.store.append_log(run.id, STD_LOG, "epoch 2 é".encode()[:-1])
    ws.store.append_log(run.id, STD_LOG, "é\n".encode()[1:])
    expect(text).to_have_text("epoch 1\nepoch 2 é\n")
    lines = "".join(f"step {i}: loss {1 / (i + 1):.4f}\n" for i in range(300))
    ws.store.append_log(run.id, STD_LOG, lines.encode())
    expect(text).to_contain_text("step 299: loss 0.0033")
    at_end = "node => node.scrollTop + node.clientHeight >= node.scrollHeight - 8"
    page.wait_for_function(f"() => ({at_end})(document.getElementById('log-text'))")
    screenshot(page, "run-log")
    text.evaluate("node => { node.scrollTop = 0; }")  # reading earlier lines: no jump
    ws.store.append_log(run.id, STD_LOG, b"after scroll\n")
    expect(text).to_contain_text("after scroll")
    assert text.evaluate("node => node.scrollTop") == 0
    ws.store.append_log(run.id, "system_logs/setup.txt", b"setup done\n")
    expect(page.get_by_label("Log file").locator("option")).to_have_count(2)
    page.get_by_label("Log file").select_option("system_logs/setup.txt")
    expect(text).to_have_text("setup done\n")
    run.complete()


# -- children ------------------------------------------------------------------------------------


def test_child_runs_tree_loads_on_expand(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    parent = Experiment(ws, "sweep").start_logging(snapshot_directory=None, outputs=False)
    first = parent.child_run(name="trial 1")
    grandchild = first.child_run(name="fold a")
    grandchild.complete()
    first.complete()
    second = parent.child_run(name="trial 2")
    second.fail("diverged")
    open_run(page, server, workspace, parent.id)
    tree = page.locator("#children-tree")
    items = tree.locator(":scope > ul > li")
    expect(items).to_have_count(2)
    expect(items.nth(0).get_by_role("link", name="trial 1")).to_have_attribute(
        "href", f"/ui/w/{workspace.name}/r/{first.id}"
    )
    expect(items.nth(0).locator(".badge").first).to_have_text("Completed")
    expect(items.nth(1).locator(".badge").first).to_have_text("Failed")
    expect(tree.get_by_role("link", name="fold a")).to_have_count(0)
    toggle = page.get_by_role("button", name="Show child runs of trial 1")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(tree.get_by_role("link", name="fold a")).to_have_attribute(
        "href", f"/ui/w/{workspace.name}/r/{grandchild.id}"
    )
    page.get_by_role("button", name="Show child runs of trial 2").click()
    expect(items.nth(1)).to_contain_text("No child runs.")
    toggle.click()
    expect(tree.get_by_role("link", name="fold a")).to_be_hidden()
    parent.complete()

    open_run(page, server, workspace, grandchild.id)
    expect(page.locator("#children-tree")).to_have_text("No child runs.")


# -- cancel --------------------------------------------------------------------------------------

LOOPING_SCRIPT = """
import os
import sys
import time
from pathlib import Path

Path(sys.argv[1]).write_text(str(os.getpid()))
step = 0
while True:
    print(f"working, step {step}", flush=True)
    step += 1
    time.sleep(0.2)
"""


def test_a_running_script_is_cancelled_from_the_page(
    page: Page,
    server: ServerProcess,
    workspace: Workspace,
    ws: SdkWorkspace,
    tmp_path: Path,
    dialogs: list[str],
) -> None:
    write_script(tmp_path / "src", "loop.py", LOOPING_SCRIPT)
    pid_file = tmp_path / "pid.txt"
    config = ScriptRunConfig(
        source_directory=str(tmp_path / "src"), script="loop.py", arguments=[str(pid_file)]
    )
    run = Experiment(ws, "cancel").submit(config)
    (pid,) = read_pids(pid_file, 1, timeout=60)
    try:
        open_run(page, server, workspace, run.id)
        expect(page.locator("#run-status .badge")).to_have_text("Running")
        expect(page.locator("#log-text")).to_contain_text("working, step 1")
        expect(detail(page, "Type")).to_have_text("azureml.scriptrun")
        page.get_by_text("Run definition").click()
        expect(page.locator("#run-definition-text")).to_contain_text("loop.py")
        steps_before = page.locator("#log-text").inner_text().count("working")
        expect(page.locator("#log-text")).not_to_have_text(
            page.locator("#log-text").inner_text()
        )  # new lines keep coming
        assert page.locator("#log-text").inner_text().count("working") > steps_before

        page.get_by_role("button", name="Cancel run").click()
        expect(page.locator("#run-status .badge")).to_have_text("Canceled", timeout=60_000)
        assert len(dialogs) == 1 and "Cancel run" in dialogs[0]
        assert ws.store.get_run(run.id).status is RunStatus.CANCELED
        assert not is_alive(pid)
        expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    finally:
        if not ws.store.get_run(run.id).status.is_terminal:
            run.cancel()


def test_children_of_a_running_run_appear_and_change_status_on_screen(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    parent = Experiment(ws, "sweep").start_logging(snapshot_directory=None, outputs=False)
    open_run(page, server, workspace, parent.id, Role.READER)
    tree = page.locator("#children-tree")
    expect(tree).to_have_text("No child runs.")
    child = parent.child_run(name="trial 1")
    item = tree.locator(f'li[data-run="{child.id}"]')
    expect(item.locator(".badge")).to_have_text("Running")
    child.complete()
    expect(item.locator(".badge")).to_have_text("Completed")
    parent.complete()
    expect(page.locator("#run-status .badge")).to_have_text("Completed")
