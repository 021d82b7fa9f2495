"""Free-threaded Python, measured from this interpreter: GIL off really parallel
(CPU-utilisation ratios, not times), races real without the GIL, one thread's cost against
its GIL twin. (Finding those interpreters: test_other_pythons.py.)

The measured tests need a free-threaded interpreter (``make free-threaded``). They skip
without one on a learner's machine; under ``CI=true`` they must run.
"""
import os
import subprocess
import sys

import pytest
from conftest import best_of

from helpers.core import other_pythons as op
from helpers.core.experiments import Comparison
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.system import effective_cpu_count
from helpers.free_threading import gil_lab as gl
from helpers.free_threading import gil_off as ft
from helpers.shared_state.races import Race

FOUND = op.find_free_threaded()  # what the conftest's free_threaded fixture gives


def test_bad_input_names_the_parameter():
    here = op.probe(sys.executable)
    with pytest.raises(ValueError, match="module"):
        ft.gil_after_import(here, "os; import shutil")
    with pytest.raises(ValueError, match="workers"):
        ft.measure_threads(here, None, workers=0)
    with pytest.raises(ValueError, match="increment"):
        ft.race_in(here, None, "teleport")


def test_the_measurement_module_runs_in_a_bare_interpreter():
    here = op.probe(sys.executable)
    comparison = ft.measure_threads(here, None, size=20_000, repeats=1)
    assert list(comparison.runs) == ["serial", "threads"]
    assert comparison.runs["threads"].results == [20_000, 20_000]
    assert all(isinstance(r, TaskRecord) for r in comparison.runs["threads"].records)
    assert ft.race_in(here, None, "read, pause, write + lock", threads=2, times=50).lost == 0


def test_gil_off_runs_threads_in_parallel_and_gil_on_does_not(free_threaded):
    runs = []

    def gil_off_utilisation() -> float:
        runs.append(ft.measure_threads(free_threaded, gil=False, size=3_000_000, repeats=2))
        return runs[-1].runs["threads"].utilisation

    busy = best_of(gil_off_utilisation, enough=1.5)
    off = runs[-1]
    on = ft.measure_threads(free_threaded, gil=True, size=3_000_000, repeats=2)
    if effective_cpu_count() >= 2:
        assert busy > 1.5
    assert on.runs["threads"].utilisation < 1.3
    assert off.runs["threads"].results == on.runs["threads"].results == [3_000_000] * 2


def test_plain_add_loses_updates_without_the_gil(free_threaded):
    if effective_cpu_count() < 2:
        pytest.skip("threads cannot overlap on one CPU")
    off = ft.race_in(free_threaded, gil=False, threads=4, times=200_000)
    on = ft.race_in(free_threaded, gil=True, threads=4, times=200_000)
    assert off.lost > 0 and on.lost == 0
    assert "Free-threading makes threads parallel" in ft.describe_races_by_gil(off, on, "3.13t")


def installed_version(interpreter, distribution: str) -> str | None:
    done = subprocess.run([interpreter.path, "-c", "import sys, importlib.metadata as m\n"
                           f"try: print(m.version({distribution!r}))\n"
                           "except m.PackageNotFoundError: sys.exit(3)"],
                          capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def test_an_extension_without_support_switches_the_gil_on(free_threaded):
    text = ft.gil_after_import(free_threaded)
    release = installed_version(free_threaded, "greenlet")
    if release is None:  # requirements-ft.txt installs it on a Linux 3.13t only
        assert "is not installed" in text and "greenlet 3.2.2" in text
        pytest.skip(f"greenlet is not installed for {free_threaded.label}")
    if int(release.split(".")[0]) == 3 and int(release.split(".")[1]) < 3:  # undeclared
        assert f"Importing `greenlet` (greenlet {release}) switched the GIL **on**" in text
        assert "Python warned: “The global interpreter lock (GIL) has been enabled to load " \
               "module 'greenlet._greenlet'" in text
    else:  # only the words are checked: which releases declare is greenlet's business
        assert "switched the GIL **on**" in text or "left the GIL off" in text


def test_an_import_that_declares_support_leaves_the_gil_off(free_threaded):
    """The negative control: the stdlib's extensions declare support."""
    text = ft.gil_after_import(free_threaded, "json")
    assert text.startswith("Importing `json` left the GIL off")
    assert "switched" not in text
    assert ft.gil_after_import(free_threaded, "no_such_module_here") == \
        f"`no_such_module_here` is not installed for {free_threaded.label}, so no import was tried."


def test_a_python_whose_gil_is_on_shows_nothing():
    here = op.probe(sys.executable)  # the GIL build running the tests (or PYTHON_GIL unset)
    if not here.free_threaded:
        text = ft.gil_after_import(here, "json")
        assert "already on" in text and "could not show anything" in text
    with pytest.raises(ValueError, match="module"):
        ft.gil_after_import(here, "json; import os")


def fake(wall_serial, wall_threads, cpu_threads, cpus=2, load=None):
    def run(executor, wall, cpu, workers):
        records = [TaskRecord(i, 1, i, 0.0, wall, cpu / 2) for i in range(2)]
        return RunResult("count", executor, workers, 2, 1, None, [wall], [cpu], records,
                         [1, 1], load)
    return Comparison({"serial": run("serial", wall_serial, wall_serial, 1),
                       "threads": run("threads", wall_threads, cpu_threads, 2)}, cpus)


def test_words_follow_the_measurements():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 1.0, 1.0),
                                  "3.13t, PYTHON_GIL=0": fake(1.0, 0.52, 1.0)}).text
    assert "**3.13t, PYTHON_GIL=0**: 2 threads were 1.9× faster than serial" in text
    assert "Only with the GIL off" in text
    assert "1 effective CPU" in ft.describe_gil_modes({"k": fake(1, 1, 1, cpus=1)}).text
    lost = ft.describe_races_by_gil(Race("plain +=", 4, 10, 31, 0.1),
                                    Race("plain +=", 4, 10, 40, 0.1), "3.13t")
    assert "lost **9** of 40" in lost and "lost nothing of 40" in lost


def test_speeds_up_self_check():
    right = {name: answer[:2] for name, answer in ft.SPEEDS_UP.items()}
    assert ft.check_speeds_up(right)
    assert not ft.check_speeds_up({**right, "count": (True, True)})
    assert not ft.check_speeds_up({**right, "sleep": (..., ...)})
    assert not ft.check_speeds_up({"count": (False, True)})
    assert not ft.check_speeds_up(None)


def test_an_empty_speeds_up_is_not_answered_neither_right_nor_wrong():
    empty = {name: ... for name in ft.SPEEDS_UP}
    partly = {**{name: answer[:2] for name, answer in ft.SPEEDS_UP.items()}, "hash": ...}
    for answer in (empty, partly, ...):
        result = ft.check_speeds_up(answer)
        assert result.state == "unanswered" and not result.passed
        assert "speeds_up" in result.message


def test_a_speedup_with_one_cpu_busy_is_called_disturbed():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 0.7, 0.7),
                                  f"t, {ft.GIL_OFF}": fake(1.0, 0.52, 1.9),
                                  f"t, {ft.GIL_ON}": fake(1.0, 1.0, 1.0)}).text
    kernel_line = text.splitlines()[0]
    assert "1.4× faster than serial, 1.0 CPUs busy" in kernel_line
    assert "**disturbed**" in kernel_line and "GIL" not in kernel_line.split("busy")[-1]
    assert "Only with the GIL off" in text and "like this kernel" not in text


IDLE = MachineLoad(0.05, 2)
BUSY = MachineLoad(1.5, 2)  # another program kept 1.5 of the 2 CPUs busy


def test_words_on_an_idle_machine_explain_by_the_gil():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 1.0, 1.0, load=IDLE),
                                  f"t, {ft.GIL_OFF}": fake(1.0, 0.52, 1.9, load=IDLE),
                                  f"t, {ft.GIL_ON}": fake(1.0, 1.0, 1.0, load=IDLE)}).text
    assert "disturbed" not in text
    assert "Only with the GIL off did the threads compute at the same time" in text
    assert "like this kernel" in text


def test_words_on_a_busy_machine_say_disturbed_and_give_no_mechanism():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 1.0, 1.0, load=IDLE),
                                  f"t, {ft.GIL_OFF}": fake(1.0, 1.0, 1.0, load=BUSY),
                                  f"t, {ft.GIL_ON}": fake(1.0, 1.0, 1.0, load=IDLE)}).text
    assert "**disturbed**" in text.splitlines()[1]
    conclusion = text.splitlines()[-1]
    assert "disturbed" in conclusion and "cannot say what the GIL changes" in conclusion
    assert "too short" not in text and "took turns" not in conclusion


def test_words_on_one_cpu_promise_no_speedup_and_flag_a_gain():
    quiet = ft.describe_gil_modes({"k": fake(1.0, 1.0, 1.0, cpus=1, load=MachineLoad(0, 1))})
    assert "1 effective CPU" in quiet.text and "disturbed" not in quiet.text
    gain = ft.describe_gil_modes({"k": fake(1.0, 0.6, 1.0, cpus=1)}).text
    assert "more than 1 CPU can give" in gain and "**disturbed**" in gain


def test_a_gain_beyond_the_ideal_is_disturbed_not_parallelism():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 1.0, 1.0),
                                  f"t, {ft.GIL_OFF}": fake(1.0, 0.3, 1.9)}).text
    assert "3.33× is more than 2 CPUs can give" in text and "**disturbed**" in text
    assert "Only with the GIL off" not in text


def test_the_title_names_only_what_was_measured():
    alone = ft.modes_title({"this kernel": fake(1, 1, 1)})
    assert alone == "2 threads versus serial (count): this kernel (GIL on) only"
    both = ft.modes_title({"k": fake(1, 1, 1), f"Python 3.13.5t, {ft.GIL_OFF}": fake(1, 1, 1),
                           f"Python 3.13.5t, {ft.GIL_ON}": fake(1, 1, 1)})
    assert both.endswith("this kernel (GIL on), Python 3.13.5t GIL off and on")


def test_the_self_check_speaks_from_the_measurement():
    right = {name: answer[:2] for name, answer in ft.SPEEDS_UP.items()}
    modes = {"k": fake(1.0, 1.0, 1.0, load=IDLE), f"t, {ft.GIL_OFF}": fake(1.0, 0.52, 1.9)}
    said = str(ft.check_speeds_up(right, modes))
    assert "Section 1 measured, for `count`: k 1.00×; t, PYTHON_GIL=0 1.92×." in said
    busy = {"k": fake(1.0, 1.0, 1.0), f"t, {ft.GIL_OFF}": fake(1.0, 1.0, 1.0, load=BUSY)}
    assert "disturbed" in str(ft.check_speeds_up(right, busy))
    one = {"k": fake(1.0, 1.0, 1.0, cpus=1)}
    assert "1 effective CPU" in str(ft.check_speeds_up(right, one))
    wrong = str(ft.check_speeds_up({**right, "count": (True, True)}, modes))
    assert "you predicted (True, True)" in wrong and "1.92×" in wrong


def test_races_are_explained_by_the_cpus_there_were():
    off, on = Race("plain +=", 4, 10, 31, 0.1), Race("plain +=", 4, 10, 40, 0.1)
    assert "really read and write at the same time" in ft.describe_races_by_gil(
        off, on, "t", effective_cpus=2)
    one = ft.describe_races_by_gil(off, on, "t", effective_cpus=1)
    assert "never ran at the same instant" in one and "same time" not in one
    both = ft.describe_races_by_gil(off, Race("plain +=", 4, 10, 35, 0.1), "t", 2)
    assert "with the GIL on too" in both


def test_this_kernel_is_measured_the_same_way():
    here = ft.measure_threads(None, None, size=20_000, repeats=1)
    assert here.runs["threads"].results == [20_000, 20_000]
    assert ft.work_size("count") == min(12_000_000, 3 * 1_000_000)  # quick mode in tests


def test_conclusions_follow_which_settings_were_faster():
    kernel = fake(1.0, 1.0, 1.0)
    off, on_fast = fake(1.0, 0.52, 1.9), fake(1.0, 0.55, 1.8)
    assert "releases the GIL" in ft.describe_gil_modes(
        {"k": on_fast, f"t, {ft.GIL_OFF}": off, f"t, {ft.GIL_ON}": on_fast}).text
    assert "Even with the GIL off the threads gained only" in ft.describe_gil_modes(
        {"k": kernel, f"t, {ft.GIL_OFF}": kernel, f"t, {ft.GIL_ON}": kernel}).text
    assert "took turns: the GIL" in ft.describe_gil_modes({"k": kernel}).text


def test_gil_lab_runs_headless_with_and_without_a_free_threaded_python():
    lab = gl.GilLab(None, "hash")
    lab.threads.value = 2
    lab.run_button.click()
    assert lab.error is None and list(lab.results) == [ft.this_python()]
    said = lab.words.value  # a busy test machine may disturb it: then it must say so
    assert lab.figure is not None and ("Only this kernel was measured" in said
                                       or "<b>disturbed</b>" in said)
    assert not lab.threads.continuous_update and lab.scale.max == 4
    if FOUND is not None:
        lab = gl.GilLab(FOUND, "count")
        lab.run_button.click()
        assert lab.error is None and len(lab.results) == 3
    with pytest.raises(ValueError, match="workload"):
        gl.GilLab(None, "numpy")


def cost(free_cpus, twin_cpus, busy=1.0):
    """A fake measurement: wall = CPU ÷ busy."""
    return ft.SingleThreadCost("Python 3.13.5t", "Python 3.13.5", "count", 3_000_000,
                               tuple(c / busy for c in free_cpus),
                               tuple(c / busy for c in twin_cpus),
                               tuple(free_cpus), tuple(twin_cpus))


SEARCH = op.TwinSearch(op.Interpreter("/ft", "3.13.5", True), None)


def test_overhead_words_say_only_what_was_measured():
    slower = ft.describe_single_thread_cost(SEARCH, cost((1.2, 1.18, 1.25), (1.0, 1.0, 1.0)))
    assert "CPU time **+20%**, wall time +20%" in slower
    assert "CPU time over all 3 pairs: +18% to +25%" in slower
    assert "above zero: free-threading costs this thread about 20%" in slower
    assert "3 pairs" in slower and "same build options" in slower
    noise = ft.describe_single_thread_cost(SEARCH, cost((0.97, 1.05, 1.1), (1.0, 1.0, 1.0)))
    assert "within the run-to-run spread — noise" in noise and "costs" not in noise
    even = ft.describe_single_thread_cost(SEARCH, cost((0.98, 1.0, 1.01), (1.0, 1.0, 1.0)))
    assert "noise" in even and "faster" not in even.lower()
    faster = ft.describe_single_thread_cost(SEARCH, cost((0.8, 0.85, 0.9), (1.0, 1.0, 1.0)))
    assert "cannot say why" in faster and "disturbed" in faster
    waited = ft.describe_single_thread_cost(SEARCH,
                                            cost((1.2, 1.2, 1.2), (1.0, 1.0, 1.0), busy=0.6))
    assert "0.60 of a CPU busy" in waited and "disturbed" in waited
    assert "costs this thread" not in waited
    for text in (slower, noise, even, faster, waited):  # no excuse about compiler differences
        assert "compiled differently" not in text and "profile-guided" not in text
    assert ft.describe_single_thread_cost(SEARCH, None) == SEARCH.explain()  # no twin: why


def test_a_busy_machine_during_the_pairs_is_called_disturbed():
    measured = cost((1.2, 1.2, 1.2), (1.0, 1.0, 1.0))
    busy = ft.SingleThreadCost(*[getattr(measured, f) for f in (
        "free", "twin", "workload", "size", "free_walls", "twin_walls", "free_cpus",
        "twin_cpus")], loads=(IDLE, BUSY, None))
    text = ft.describe_single_thread_cost(SEARCH, busy)
    assert "**disturbed**" in text and "costs this thread" not in text
    idle = ft.SingleThreadCost(*[getattr(measured, f) for f in (
        "free", "twin", "workload", "size", "free_walls", "twin_walls", "free_cpus",
        "twin_cpus")], loads=(IDLE, IDLE))
    assert "costs this thread about 20%" in ft.describe_single_thread_cost(SEARCH, idle)


def test_one_disturbed_pair_of_many_does_not_widen_the_spread():
    ratios = (1.16, 1.01, 1.12, 0.98, 1.11, 1.03, 1.13, 1.22, 1.2, 1.13, 1.1, 1.1, 1.04, 1.14)
    measured = cost(ratios, (1.0,) * len(ratios))
    low, high, which = measured.spread()
    assert which == "the middle half of the 14 pairs" and 1.0 < low < high < 1.16
    assert "costs this thread about 12%" in ft.describe_single_thread_cost(SEARCH, measured)
    assert measured.spread("wall")[2] == which


def test_single_thread_cost_checks_its_input():
    here = op.probe(sys.executable)
    with pytest.raises(ValueError, match="pairs"):
        ft.single_thread_cost(here, here, pairs=1)  # a spread needs two
    with pytest.raises(ValueError, match="iterations"):
        ft.single_thread_cost(here, here, size=1)
    with pytest.raises(ValueError, match="kind"):
        cost((1,), (1,)).ratios("user")


def test_single_thread_cost_alternates_two_interpreters():
    here = op.probe(sys.executable)
    progress = []
    measured = ft.single_thread_cost(here, here, size=20_000, pairs=2,
                                     on_progress=lambda done, total: progress.append((done, total)))
    assert measured.pairs == 2 and len(measured.ratios("wall")) == 2
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert all(c > 0 for c in measured.free_cpus + measured.twin_cpus)


def test_the_cache_build_has_its_twin(free_threaded):
    """`make free-threaded` builds its 3.13t and a GIL twin from one source: found here."""
    if not free_threaded.base_prefix.startswith(str(op.cache_dir())):
        pytest.skip(f"{free_threaded.path} is not make free-threaded's own build")
    search = op.find_twin(free_threaded)
    if search.twin is None and os.environ.get("CI") != "true":
        pytest.skip("no GIL twin yet: run `make free-threaded`")
    assert search.twin is not None, search.explain()
    assert search.twin.version == free_threaded.version and not search.twin.free_threaded
    measured = ft.single_thread_cost(free_threaded, search.twin, size=100_000, pairs=2)
    assert measured.pairs == 2 and 0 < measured.cpus_busy
