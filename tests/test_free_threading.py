"""Free-threaded Python, measured from this interpreter: found or explained, GIL off really
parallel (CPU-utilisation ratios, not times), races real without the GIL.

The measured tests need a free-threaded interpreter (``make free-threaded``). They skip
without one on a learner's machine; under ``CI=true`` they must run.
"""
import os
import sys

import pytest

from helpers import free_threading as ft
from helpers.experiments import Comparison
from helpers.races import Race
from helpers.runner import RunResult, TaskRecord
from helpers.system import effective_cpu_count
from conftest import best_of

FOUND = ft.find_free_threaded()


@pytest.fixture
def free_threaded():
    if FOUND is None:
        message = "no free-threaded Python: run `make free-threaded` (or set LAB_FT_PYTHON)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the free-threaded path must run")
        pytest.skip(message)
    return FOUND


def test_this_interpreter_is_probed_correctly():
    here = ft.probe(sys.executable)
    assert here is not None and here.version == sys.version.split()[0]
    assert ft.probe("/no/such/python") is None and ft.probe(None) is None


def test_a_normal_python_is_never_taken_for_a_free_threaded_one(monkeypatch):
    monkeypatch.setattr(ft, "candidates", lambda: [sys.executable])
    expected = ft.probe(sys.executable).free_threaded
    assert (ft.find_free_threaded() is not None) == expected
    monkeypatch.setattr(ft, "candidates", lambda: [])
    assert ft.find_free_threaded() is None
    assert "make free-threaded" in ft.HOW_TO_GET_ONE and "LAB_FT_PYTHON" in ft.HOW_TO_GET_ONE


def test_bad_input_names_the_parameter():
    here = ft.probe(sys.executable)
    with pytest.raises(ValueError, match="module"):
        ft.gil_after_import(here, "os; import shutil")
    with pytest.raises(ValueError, match="workers"):
        ft.measure_threads(here, None, workers=0)
    with pytest.raises(ValueError, match="increment"):
        ft.race_in(here, None, "teleport")


def test_lab_ft_python_comes_first(monkeypatch):
    monkeypatch.setenv(ft.FT_ENV, "/opt/somewhere/python3.14t")
    assert ft.candidates()[0] == "/opt/somewhere/python3.14t"


def test_the_measurement_module_runs_in_a_bare_interpreter():
    here = ft.probe(sys.executable)
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


def test_an_extension_without_support_switches_the_gil_on(free_threaded):
    text = ft.gil_after_import(free_threaded)
    assert "switched the GIL **on**" in text or "is not installed" in text
    assert "left the GIL off" in ft.gil_after_import(free_threaded, "json")


def fake(wall_serial, wall_threads, cpu_threads, cpus=2):
    def run(executor, wall, cpu, workers):
        records = [TaskRecord(i, 1, i, 0.0, wall, cpu / 2) for i in range(2)]
        return RunResult("count", executor, workers, 2, 1, None, [wall], [cpu], records, [1, 1])
    return Comparison({"serial": run("serial", wall_serial, wall_serial, 1),
                       "threads": run("threads", wall_threads, cpu_threads, 2)}, cpus)


def test_words_follow_the_measurements():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 1.0, 1.0),
                                  "3.13t, PYTHON_GIL=0": fake(1.0, 0.52, 1.0)}).text
    assert "**3.13t, PYTHON_GIL=0**: 2 threads were 1.9× faster than serial" in text
    assert "Only with the GIL off" in text
    assert "1 effective CPU" in ft.describe_gil_modes({"k": fake(1, 1, 1, cpus=1)}).text
    overhead = ft.describe_overhead(fake(1.2, 0.6, 1.2), fake(1.0, 1.0, 1.0), "3.13")
    assert "20% slower" in overhead and "0.600 s per task" in overhead
    assert "not measured" in ft.describe_overhead(fake(1, 1, 1), None, "")
    faster = ft.describe_overhead(fake(0.8, 0.4, 0.8), fake(1.0, 1.0, 1.0), "3.13")
    assert "not slower here (20% faster)" in faster and "price" not in faster
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


def test_a_speedup_with_one_cpu_busy_is_called_noise():
    text = ft.describe_gil_modes({"kernel": fake(1.0, 0.7, 0.7),
                                  f"t, {ft.GIL_OFF}": fake(1.0, 0.52, 1.9),
                                  f"t, {ft.GIL_ON}": fake(1.0, 1.0, 1.0)}).text
    assert "1.4× faster than serial, 1.0 CPUs busy. With about one CPU busy" in text
    assert "Only with the GIL off" in text


def test_this_kernel_is_measured_the_same_way():
    here = ft.measure_threads(None, None, size=20_000, repeats=1)
    assert here.runs["threads"].results == [20_000, 20_000]
    assert ft.work_size("count") == min(12_000_000, 3 * 1_000_000)  # quick mode in tests


def test_conclusions_follow_which_settings_were_faster():
    kernel = fake(1.0, 1.0, 1.0)
    off, on_fast = fake(1.0, 0.52, 1.9), fake(1.0, 0.55, 1.8)
    assert "releases the GIL" in ft.describe_gil_modes(
        {"k": on_fast, f"t, {ft.GIL_OFF}": off, f"t, {ft.GIL_ON}": on_fast}).text
    assert "did not beat serial" in ft.describe_gil_modes(
        {"k": kernel, f"t, {ft.GIL_OFF}": kernel, f"t, {ft.GIL_ON}": kernel}).text
    assert "took turns: the GIL" in ft.describe_gil_modes({"k": kernel}).text


def test_gil_lab_runs_headless_with_and_without_a_free_threaded_python():
    lab = ft.GilLab(None, "hash")
    lab.threads.value = 2
    lab.run_button.click()
    assert lab.error is None and list(lab.results) == [ft.this_python()]
    assert lab.figure is not None and "Only this kernel was measured" in lab.words.value
    assert not lab.threads.continuous_update and lab.scale.max == 4
    if FOUND is not None:
        lab = ft.GilLab(FOUND, "count")
        lab.run_button.click()
        assert lab.error is None and len(lab.results) == 3
    with pytest.raises(ValueError, match="workload"):
        ft.GilLab(None, "numpy")
