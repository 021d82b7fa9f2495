"""Subinterpreters from any kernel: a Python 3.14+ found (or how to get one), measure_cli's
``--executors``, interpreters really parallel in one process, and words that follow the
measurements (faster, not faster, 1 CPU, a busy machine).

The measured tests need a CPython 3.14+ (``make pythons``, or a 3.14 kernel): they skip
without one, naming how to get it.
"""
import json
import stat
import sys

import pytest
from conftest import best_of

from helpers.core import measure_cli
from helpers.core.experiments import Comparison
from helpers.core.noise import MachineLoad
from helpers.core.other_pythons import Interpreter, candidates
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.system import effective_cpu_count
from helpers.free_threading import subinterpreters as si

FOUND = si.find_python314()
SIZE = 20_000


@pytest.fixture
def py314():
    if FOUND is None:
        pytest.skip("no Python 3.14+ found: `make pythons`, `uv python install 3.14`, or "
                    f"set {si.PYTHON_ENV}")
    return FOUND


# --- the finder, with fake interpreters --------------------------------------------------

def fake_python(folder, name, version, free_threaded=False, marker=None):
    """An executable that answers other_pythons.probe like a Python of ``version`` would;
    with ``marker``, it also leaves that file behind to show it was asked."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    answer = json.dumps({"version": version, "free_threaded": free_threaded})
    touch = f"touch {marker}\n" if marker else ""
    path.write_text(f"#!/bin/sh\n{touch}echo '{answer}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def env_for(tmp_path, **extra):
    return {"PATH": str(tmp_path / "bin"), "LAB_PY_CACHE": str(tmp_path / "cache"),
            "PYENV_ROOT": str(tmp_path / "pyenv"), **extra}


def find(tmp_path, **extra):
    return si.find_python314(env_for(tmp_path, **extra), home=tmp_path / "home",
                             include_kernel=False)


def test_a_normal_build_is_preferred_to_a_newer_free_threaded_one(tmp_path):
    fake_python(tmp_path / "bin", "python3.15t", "3.15.0", free_threaded=True)
    normal = fake_python(tmp_path / "bin", "python3.14", "3.14.2")
    found = find(tmp_path)
    assert found is not None and found.path == normal and not found.free_threaded


def test_a_free_threaded_one_is_taken_when_it_is_all_there_is(tmp_path):
    only = fake_python(tmp_path / "cache" / "bin", "python3.14t", "3.14.0", free_threaded=True)
    fake_python(tmp_path / "bin", "python3.14", "3.13.5")  # too old, whatever its name
    found = find(tmp_path)
    assert found is not None and found.path == only and found.free_threaded
    assert "free-threaded build" in si.where_measured(si.Measured(found, fabricated(1, 1, 1)))


def test_nothing_older_than_3_14_is_found_and_the_message_says_how(tmp_path):
    fake_python(tmp_path / "bin", "python3.14", "3.13.5")
    broken = tmp_path / "bin" / "python3.15"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    assert find(tmp_path) is None
    for way in ("python.org", "uv python install 3.14", "make pythons", si.PYTHON_ENV):
        assert way in si.HOW_TO_GET_ONE


def test_places_are_searched_newest_first_and_lazily(tmp_path):
    marker = tmp_path / "asked"
    newest = fake_python(tmp_path / "pyenv" / "versions" / "3.15.1" / "bin", "python3.15",
                         "3.15.1")
    fake_python(tmp_path / "pyenv" / "versions" / "3.14.10" / "bin", "python3.14", "3.14.10",
                marker=marker)
    fake_python(tmp_path / "pyenv" / "versions" / "3.14.10" / "bin", "python3.14-config",
                "3.14.10")
    uv = fake_python(tmp_path / "home" / ".local" / "share" / "uv" / "python" /
                     "cpython-3.14.1-linux" / "bin", "python3.14", "3.14.1")
    paths = candidates(si.NEW_ENOUGH, env_for(tmp_path), home=tmp_path / "home")
    assert paths[0] == newest and paths[-1] == uv
    assert not any(p.endswith("-config") for p in paths)
    assert find(tmp_path).path == newest and not marker.exists()  # stopped at the first


def test_the_environment_variable_wins_even_free_threaded(tmp_path):
    fake_python(tmp_path / "bin", "python3.14", "3.14.2")
    chosen = fake_python(tmp_path / "elsewhere", "python", "3.15.0", free_threaded=True)
    assert find(tmp_path, **{si.PYTHON_ENV: chosen}).path == chosen


def test_this_kernel_counts_when_it_is_3_14(tmp_path, monkeypatch):
    kernel = Interpreter(sys.executable, "3.14.0", False)
    monkeypatch.setattr(si, "kernel_python", lambda: kernel)
    assert si.find_python314(env_for(tmp_path), home=tmp_path) == kernel
    monkeypatch.setattr(si, "kernel_python", lambda: Interpreter("k", "3.14.0", True))
    normal = fake_python(tmp_path / "bin", "python3.14", "3.14.2")
    assert si.find_python314(env_for(tmp_path), home=tmp_path).path == normal


def test_bad_input_names_the_parameter():
    new = Interpreter("/nowhere/python3.14", "3.14.0", False)
    with pytest.raises(ValueError, match="interpreter"):
        si.measure(Interpreter("/nowhere/python3.13", "3.13.1", False))
    with pytest.raises(ValueError, match="workload"):
        si.measure(new, "numpy")
    with pytest.raises(ValueError, match="workers"):
        si.measure(new, workers=0)
    with pytest.raises(ValueError, match="timeout"):
        si.measure(new, timeout=0)
    with pytest.raises(ValueError, match="workloads"):
        si.check_extensions(new, workloads=("numpy",))


# --- measure_cli --executors ----------------------------------------------------------

def cli_json(capsys, *args) -> dict:
    measure_cli.main(list(args))
    return json.loads(capsys.readouterr().out)


def test_measure_cli_compares_the_executors_it_is_given(capsys):
    default = cli_json(capsys, "compare", "count", str(SIZE), "--repeats", "1")
    assert list(default["runs"]) == ["serial", "threads"] and "start" not in default
    chosen = cli_json(capsys, "compare", "count", str(SIZE), "--repeats", "1",
                      "--executors", "threads,serial", "--start-cost")
    assert list(chosen["runs"]) == ["threads", "serial"]
    assert chosen["runs"]["serial"]["results"] == [SIZE, SIZE]
    assert list(chosen["start"]) == ["threads"] and chosen["start"]["threads"] > 0


def test_measure_cli_rejects_unknown_executors(capsys):
    for bad in ("", "serial,serial", "serial,gpu"):
        with pytest.raises(ValueError, match="executors"):
            measure_cli.parse_executors(bad)
    with pytest.raises(SystemExit):
        measure_cli.main(["compare", "count", "100", "--executors", "serial,gpu"])
    assert "executors must be" in capsys.readouterr().err


def test_interpreters_run_in_one_process_and_in_parallel(py314):
    runs = []

    progress = []

    def interpreters_busy() -> float:
        progress.clear()
        runs.append(si.measure(py314, size=3_000_000, repeats=1,
                               on_progress=lambda done, total: progress.append(done / total)))
        return runs[-1].comparison.runs["interpreters"].utilisation

    busy = best_of(interpreters_busy, enough=1.5)
    measured = runs[-1]
    comparison = measured.comparison
    assert list(comparison.runs) == list(si.EXECUTORS)
    assert comparison.runs["interpreters"].results == [3_000_000] * 2
    pids = {name: {r.pid for r in run.records} for name, run in comparison.runs.items()}
    assert pids["interpreters"] == pids["serial"] and len(pids["serial"]) == 1
    assert not pids["processes"] & pids["serial"]
    assert set(measured.start) == {"threads", "interpreters", "processes"}
    assert comparison.runs["threads"].utilisation < 1.3  # one shared GIL
    if effective_cpu_count() >= 2:
        assert busy > 1.5
    assert measured.interpreter.label in si.describe_interpreters(measured).text
    # streamed as it ran: a step per task (4 executors × 2 tasks), then the pools' start
    assert len(progress) == 9 and progress == sorted(progress) and progress[-1] == 1


def test_the_lab_workloads_run_in_a_subinterpreter(py314):
    checks = si.check_extensions(py314)
    assert all(result["error"] is None for result in checks["workloads"].values())
    assert set(checks["workloads"]) == set(si.CHECK_WORKLOADS)
    numpy = checks["modules"]["numpy"]
    if not numpy["missing"]:
        assert numpy["version"] and (numpy["error"] is None or "ImportError" in numpy["error"])
    assert "`count` (pure Python)" in si.describe_extensions(checks, py314.label)


# --- words, from fabricated measurements -------------------------------------------------

def run(executor, wall, busy, workers=2, method=None, workload="count", load=None):
    """A run of 2 tasks that took ``wall`` seconds with ``busy`` CPUs busy."""
    cpu = wall * busy
    records = [TaskRecord(i, 1, i, 0.0, wall, cpu / 2) for i in range(2)]
    return RunResult(workload, executor, workers, 2, 1, method, [wall], [cpu], records, [1, 1],
                     load)


def fabricated(interpreters_wall, interpreters_busy, serial_busy=1.0, threads=(1.0, 1.0),
               processes=(0.52, 1.9), cpus=2, method="forkserver"):
    """Serial took 1 s; the others' (wall, CPUs busy) as given."""
    return Comparison({"serial": run("serial", 1.0, serial_busy, 1),
                       "threads": run("threads", *threads),
                       "interpreters": run("interpreters", interpreters_wall, interpreters_busy),
                       "processes": run("processes", *processes, method=method)}, cpus)


GIL = Interpreter("/x/python3.14", "3.14.0", False)
START = {"threads": 0.0002, "interpreters": 0.03, "processes": 0.09}


def words(comparison, interpreter=GIL, start=None):
    measured = si.Measured(interpreter, comparison, start or {})
    return si.describe_interpreters(measured).text, si.summary_line(measured)


def test_faster_interpreters_are_explained_by_their_own_gil():
    text, summary = words(fabricated(0.52, 1.9), start=START)
    assert "**interpreters** (2 workers): 1.9× faster than serial, 1.9 CPUs busy." in text
    assert "Each interpreter has its own GIL" in text and "96% of the ideal 2×" in text
    assert "Threads, which share one GIL, were about as fast as serial" in text
    assert "about as fast as processes (1.00×): the same parallelism" in text
    assert "threads 0.2 ms, interpreters 30 ms, processes 90 ms" in text
    assert "(forkserver) is a new process of its own" in text
    assert "parallel Python inside one process" in summary and "threads 1.00×" in summary


def test_interpreters_against_processes_only_as_far_as_measured():
    close, _ = words(fabricated(0.52, 1.9, processes=(0.6, 1.8)))  # 1.15×, both ~2 CPUs
    assert "only slightly faster than processes (1.15×); with 1.9 and 1.8 CPUs" in close
    assert "run-to-run variation" in close and "same parallelism" not in close
    apart, _ = words(fabricated(0.52, 1.9, processes=(0.9, 1.8)))
    assert "1.7× faster than processes." in apart and "variation" not in apart


def test_processes_that_kept_one_cpu_busy_are_called_disturbed_not_compared():
    text, summary = words(fabricated(0.52, 1.9, processes=(0.99, 1.0)))
    assert "Processes kept only 1.0 CPUs busy" in text and "**disturbed**" in text
    assert "faster than processes" not in text
    assert "processes run was **disturbed**" in summary
    one_cpu, _ = words(fabricated(0.99, 1.0, processes=(0.99, 1.0), cpus=1))
    assert "Processes kept only" not in one_cpu


def test_a_free_threaded_build_says_threads_need_no_interpreters():
    free = Interpreter("/x/python3.14t", "3.14.0", True)
    text, summary = words(fabricated(0.52, 1.9, threads=(0.53, 1.9)), free)
    assert "add isolation, not parallelism" in text and "threads are parallel too" in summary
    assert "free-threaded build" in text


def test_not_faster_is_not_explained_by_the_gil():
    text, summary = words(fabricated(1.0, 1.0))
    assert "did not run in parallel here (1.0 CPUs busy)" in text
    assert "own GIL, so" not in text and "not parallel this time" in summary


def test_one_cpu_expects_no_speedup_and_calls_a_gain_disturbed():
    text, summary = words(fabricated(0.7, 0.7, cpus=1))
    assert "more than 1 worker on 1 CPU can give" in text and "**disturbed**" in text
    assert "own GIL, so" not in text and "disturbed" in summary
    quiet, summary = words(fabricated(1.0, 1.0, processes=(1.0, 1.0), cpus=1))
    assert "1 effective CPU" in quiet and "disturbed" not in quiet
    assert "with 1 effective CPU nothing computes in parallel" in summary


def test_a_busy_machine_is_called_disturbed_not_explained():
    starved, summary = words(fabricated(0.52, 1.0, serial_busy=0.5), start=START)
    assert "Serial kept only 0.5 CPUs busy" in starved and "own GIL, so" not in starved
    assert "inflated too" in starved and "**disturbed**" in summary
    unexplained, summary = words(fabricated(0.9, 1.8))  # CPUs busy, no gain, machine quiet
    assert "cannot say why" in unexplained and "disturbed" not in unexplained
    loaded = fabricated(0.9, 1.8)
    loaded.runs["interpreters"].load = MachineLoad(1.5, 2)  # another program took 1.5 CPUs
    busy, summary = words(loaded)
    assert "Other programs kept about 1.5" in busy and "**disturbed**" in busy
    assert "own GIL, so" not in busy and "cannot say why" not in busy
    noisy, summary = words(fabricated(0.65, 0.65))  # 1.5× with one CPU busy
    assert "**disturbed**" in noisy and "own GIL, so" not in noisy and "disturbed" in summary


def test_fork_start_and_not_measured_have_their_own_words():
    text, _ = words(fabricated(0.52, 1.9, method="fork"), start=START)
    assert "a forked process is a copy of this one, imports included" in text
    assert "not measured" in si.summary_line(None)


def test_extension_words_say_only_what_was_tried():
    checks = {"modules": {"numpy": {"missing": False, "version": "2.5.5",
                                    "error": "ImportError: module x does not support loading "
                                             "in subinterpreters"},
                          "json": {"missing": False, "version": None, "error": None},
                          "nothere": {"missing": True, "version": None, "error": None}},
              "workloads": {"count": {"error": None}, "zlib": {"error": "ImportError: no"}}}
    text = si.describe_extensions(checks, "Python 3.14.0")
    assert "`import numpy` (numpy 2.5.5) in a subinterpreter of Python 3.14.0 failed" in text
    assert "`import json` worked" in text and "`nothere` is not installed" in text
    assert "`count` (pure Python) ran" in text and "workload `zlib` failed" in text


def test_the_plot_has_titles_axes_and_units():
    figure = si.plot_measured(si.Measured(GIL, fabricated(0.52, 1.9), START))
    left, right = figure.axes
    assert left.get_ylabel() == "time (s)" and left.get_xlabel() == "executor"
    assert "Python 3.14.0" in left.get_title() and "ms" in right.get_ylabel()
    assert right.get_title() and right.get_yscale() == "log"
    assert len(si.plot_measured(si.Measured(GIL, fabricated(0.52, 1.9))).axes) == 1
