"""Start, monitor and cancel training runs in Python: the user's how-to, cell by cell, on runyard.

Run it in any folder: it uses (or creates) the local workspace in ``./.runyard/``. The code of
each cell is the how-to's own, with only the import line changed.
"""

from __future__ import annotations

import math

import runyard
from runyard import Experiment, Run, ScriptRunConfig, Workspace


def section(title: str) -> None:
    print(f"\n=== {title} ===")


# -- Prerequisites: check the SDK version -----------------------------------------------------
section("Version")
print(runyard.VERSION)

ws = Workspace.from_config()
exp = Experiment(workspace=ws, name="explore-runs")

# -- Start a run and set its status -----------------------------------------------------------
section("Start a run and set its status")
notebook_run = exp.start_logging()
notebook_run.log(name="message", value="Hello from run!")
print(notebook_run.get_status())
print(notebook_run.get_details())
notebook_run.complete()
print(notebook_run.get_status())

# -- The with block: the run completes when it goes out of scope -----------------------------
section("The with block")
with exp.start_logging() as notebook_run:
    notebook_run.log(name="message", value="Hello from run!")
    print("Is it still running?", notebook_run.get_status())

print("Has it completed?", notebook_run.get_status())

# -- The scripts the how-to submits (its notebook keeps them beside itself) --------------------
SCRIPTS = {
    "hello.py": (
        "from runyard import Run\n\n"
        "run = Run.get_context()\n"
        'run.log(name="message", value="Hello from run!")\n'
    ),
    "hello_with_delay.py": (
        'import time\n\nprint("Wait for 10 seconds..")\ntime.sleep(10)\nprint("Done waiting")\n'
    ),
    "hello_with_children.py": (
        "from runyard import Run\n\n"
        "run = Run.get_context()\n"
        "child_runs = run.create_children(count=5)\n"
        "for c, child in enumerate(child_runs):\n"
        '    child.log(name="Hello from child run ", value=c)\n'
        "    child.complete()\n"
    ),
}
for script_name, source in SCRIPTS.items():
    with open(script_name, "w") as handle:
        handle.write(source)
with open(".runyardignore", "w") as handle:
    handle.write("/outputs\n/snapshots\n/files\n")

section("Submit a script")
run_config = ScriptRunConfig(source_directory=".", script="hello.py")
hello_run = exp.submit(run_config)
print(hello_run.get_status())
hello_run.wait_for_completion(show_output=True)
print(hello_run.get_details_with_logs())
print(hello_run.get_metrics())

# -- Cancel or fail runs ------------------------------------------------------------------------
section("Cancel or fail runs")
run_config = ScriptRunConfig(source_directory=".", script="hello_with_delay.py")

local_script_run = exp.submit(run_config)
print("Did the run start?", local_script_run.get_status())

local_script_run.cancel()
print("Did the run cancel?", local_script_run.get_status())

local_script_run = exp.submit(run_config)
local_script_run.fail()

print(local_script_run.get_status())

# -- Create child runs ---------------------------------------------------------------------------
section("Create child runs")
with open("hello_with_children.py") as handle:  # the how-to shows the script (!more)
    print(handle.read())
run_config = ScriptRunConfig(source_directory=".", script="hello_with_children.py")

local_script_run = exp.submit(run_config)
local_script_run.wait_for_completion(show_output=True)
print(local_script_run.get_status())

with exp.start_logging() as parent_run:
    for c, count in enumerate(range(5)):
        with parent_run.child_run() as child:
            child.log(name="Hello from child run", value=c)

print(list(parent_run.get_children()))

# -- Tag and find runs -------------------------------------------------------------------------
section("Add properties and tags")
local_script_run.add_properties({"author": "azureml-user"})
print(local_script_run.get_properties())

try:
    local_script_run.add_properties({"author": "different-user"})
except Exception as e:
    print(e)

local_script_run.tag("quality", "great run")
print(local_script_run.get_tags())

local_script_run.tag("quality", "fantastic run")
print(local_script_run.get_tags())

local_script_run.tag("worth another look")
print(local_script_run.get_tags())

section("Query properties and tags")
print(list(exp.get_runs(properties={"author": "azureml-user"}, tags={"quality": "fantastic run"})))
print(list(exp.get_runs(properties={"author": "azureml-user"}, tags="worth another look")))

section("Restore a snapshot")
print(local_script_run.restore_snapshot(path="snapshots"))

# -- The logging API (the how-to's logging notebook) ---------------------------------------------
section("Logging API")
logging_exp = Experiment(workspace=ws, name="logging-api-test")
run = logging_exp.start_logging()
run.log(name="Category", value="Red")
run.log(name="scale factor", value=2)
run.log(name="Magic Number", value=84)


def fibonacci(count: int):  # type: ignore[no-untyped-def]
    a, b = 0, 1
    for _ in range(count):
        yield a
        a, b = b, a + b


run.log_list("Fibonacci", fibonacci(10))
for i in range(-10, 10):
    run.log(name="Sigmoid", value=1 / (1 + math.exp(-i)))
for angle in range(0, 360, 18):
    run.log_row("Cosine Wave", angle=angle, cos=math.cos(math.radians(angle)))
angles = list(range(0, 360, 18))
run.log_table("Sine Wave", {"angle": angles, "sine": [math.sin(math.radians(a)) for a in angles]})
for i in range(100):
    run.log_row("Example rows", "Example row for metric", **{f"col{c}": i * c for c in range(15)})
with open("myfile.txt", "w") as handle:
    handle.write("The contents of myfile.txt\n")
run.upload_file(name="logging-api/myfile.txt", path_or_stream="myfile.txt")
run.complete()

reattached = Run(logging_exp, run.id)
print(reattached.get_metrics(name="scale factor"))
metrics = reattached.get_metrics()
print(sorted(metrics))
print(reattached.get_file_names())
run.tag("My Favorite Run")
run.tag("Competition Rank", 1)
print(run.get_tags())
