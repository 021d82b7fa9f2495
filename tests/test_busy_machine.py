"""On a busy machine every notebook still tells the truth: disturbed runs are called so.

A learner's laptop is rarely idle. Here a CPU hog (another program, pinned to one of
this machine's CPUs) runs while each notebook executes in quick mode. Every measurement
that wanted more than the CPU left over is then disturbed, and the words must say so
(:mod:`helpers.core.noise`) instead of explaining the numbers by a mechanism:

* the notebooks that measure computing work in parallel say "disturbed" somewhere;
* no output offers a mechanism (the GIL, overhead, own interpreters …) for a result
  that needed two CPUs — under the hog no such result is undisturbed;
* nothing is left running afterwards.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import nbformat
import pytest
from conftest import ROOT, descendants, new_descendants
from test_notebook_files import NOTEBOOKS
from test_one_cpu import CELL_TIMEOUT, EXECUTE, NOTEBOOK_TIMEOUT, cell_texts

# Notebooks whose measured words are about computing work on several CPUs (01 times only
# waits and thread start-up, which need one CPU: a hog on the other leaves them be).
MEASURES_PARALLEL = ("00_", "02_", "03_", "05_", "07_", "09_")
# Sentences the helpers write only for an undisturbed measurement that used 2+ CPUs.
MECHANISMS = (
    "That turn-taking is the GIL",  # words.describe_turn_taking
    "Processes each have their own interpreter and GIL",  # words._why_processes
    "sped up because this C code releases the GIL",  # words._threads_on_gil_releasing_code
    "costs as much as it saves",  # words._why_processes
    "the CPUs also went to something else",  # words._why_processes
    "did not compute in parallel on this pure-Python work",  # words._threads_under_the_gil
)
HOG = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass"


def hog_on_one_cpu(seconds: int) -> subprocess.Popen:
    """Another program: a busy loop pinned to the last CPU this process may use."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("a busy-machine run needs 2 CPUs: one for the hog, one left over")
    return subprocess.Popen(["taskset", "-c", str(cpus[-1]), sys.executable, "-c",
                             HOG.format(seconds=seconds)])


def run_beside_a_hog(notebook, target):
    env = {**os.environ, "LAB_QUICK": "1"}
    env.pop("LAB_STRICT_CHECKS", None)  # a disturbed self-check says so; it does not fail
    hog = hog_on_one_cpu(NOTEBOOK_TIMEOUT)
    try:
        time.sleep(0.2)
        return subprocess.run([sys.executable, "-c", EXECUTE, str(notebook), str(target),
                               str(CELL_TIMEOUT), str(notebook.parent)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT)
    finally:
        hog.kill()
        hog.wait(timeout=10)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity (Linux)")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_on_a_busy_machine_calls_disturbed_runs_disturbed(notebook, tmp_path):
    target = tmp_path / notebook.name
    before = descendants()
    result = run_beside_a_hog(notebook, target)
    assert result.returncode == 0, f"{notebook.name} failed beside a CPU hog:\n" + \
        result.stderr[-6000:]
    assert not new_descendants(before), f"{notebook.name} left processes running"

    texts = cell_texts(nbformat.read(target, as_version=4))
    explained = [f"cell {i}: {phrase}" for i, text in texts.items() for phrase in MECHANISMS
                 if phrase in text]
    assert not explained, (f"{notebook.name} explains a disturbed measurement by a "
                           f"mechanism: {explained}")
    if notebook.stem.startswith(MEASURES_PARALLEL):
        assert any("disturbed" in text for text in texts.values()), (
            f"{notebook.name} measured parallel work beside a CPU hog and never called a "
            "measurement disturbed")
