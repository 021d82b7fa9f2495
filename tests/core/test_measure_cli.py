"""helpers.core.measure_cli: what another interpreter runs; ``call`` runs a lesson's function."""
import json
import subprocess
import sys

import pytest

from helpers.core import measure_cli
from helpers.core.settings import SOURCE_ROOT


def printed(capsys, *args: str) -> dict:
    measure_cli.main(list(args))
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_info_says_what_kind_of_interpreter_this_is(capsys):
    info = printed(capsys, "info")["info"]
    assert info["version"] == sys.version.split()[0]
    assert info["executable"] == sys.executable
    assert isinstance(info["gil_enabled"], bool) and "gil_enabled_after" in info


def test_call_runs_a_named_function_and_returns_a_dataclass_as_a_dict(capsys):
    report = printed(capsys, "call", "helpers.core.system:environment_report")["returned"]
    assert report["python"] and report["effective_cpus"] >= 1
    assert printed(capsys, "call", "helpers.core.workloads:count_up", "[1000]")["returned"] == 1000


@pytest.mark.parametrize("target", ["os:system", "helpers.core.workloads", "helpers.nope:f",
                                    "helpers.core.workloads:no_such_function"])
def test_call_refuses_what_is_not_a_helpers_function(target):
    with pytest.raises(SystemExit):
        measure_cli.main(["call", target, "[]"])


def test_it_runs_as_a_module_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, "-m", "helpers.core.measure_cli", "call",
                           "helpers.core.workloads:count_up", "[10]"], capture_output=True,
                          text=True, timeout=120, cwd=SOURCE_ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["returned"] == 10


@pytest.mark.skipif("forkserver" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="needs the forkserver start method")
def test_the_workers_cpu_reaches_the_python_that_started_it(monkeypatch):
    """Under forkserver the pool's workers are the fork server's children. measure_cli stops
    and waits for the fork server before it exits, so their CPU time reaches this process's
    children's times: counted as ours, not as other programs' (helpers.core.noise)."""
    import os

    monkeypatch.setenv("LAB_START_METHOD", "forkserver")
    before = os.times()
    done = subprocess.run([sys.executable, "-m", "helpers.core.measure_cli", "compare", "count",
                           "2000000", "--tasks", "4", "--workers", "2", "--repeats", "1",
                           "--executors", "processes"],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=SOURCE_ROOT)
    after = os.times()
    reaped = (after.children_user - before.children_user
              + after.children_system - before.children_system)
    records = json.loads(done.stdout)["runs"]["processes"]["records"]
    workers_cpu = sum(record["cpu"] for record in records)  # the tasks' CPU, in the workers
    assert workers_cpu > 0 and reaped >= 0.9 * workers_cpu, (reaped, workers_cpu)
