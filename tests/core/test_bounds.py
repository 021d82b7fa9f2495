"""Issue 20, point 7: memory and time bounds.

The bound on memory comes from the machine (the OS's available memory, or less under a
cgroup limit, as on Binder) and names the parameter, the range allowed here and why. The
Lab says before a Run how long it will take, and refuses a Run that would take minutes or
need more memory than the machine has. Memory is injected: nothing here allocates much.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from helpers.core import controls, estimates, memory
from helpers.core import lab as lab_module
from helpers.core.estimates import RUN_BUDGET_SECONDS, about
from helpers.core.lab import Lab, estimate_run_memory, estimate_run_seconds
from helpers.core.memory import GIB, MIB, most_that_fits, require_memory
from helpers.core.workloads import get_workload


def fake_cgroup(monkeypatch, tmp_path, paths, files):
    monkeypatch.setattr(memory, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(memory, "own_cgroup_paths", lambda: paths)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)


def test_memory_bound_comes_from_the_cgroup_v2_limit(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"": "/binder/me"}, {
        "cgroup.controllers": "memory", "binder/me/memory.max": str(2 * GIB),
        "binder/me/memory.current": str(GIB), "binder/me/memory.stat":
        f"anon {GIB // 2}\ninactive_file {GIB // 4}\n", "memory.max": "max"})
    assert memory.cgroup_memory_room() == GIB + GIB // 4  # dropped cache counts as room
    monkeypatch.setattr(memory.psutil, "virtual_memory",
                        lambda: SimpleNamespace(available=20 * GIB))
    assert memory.available_memory() == GIB + GIB // 4  # the smaller of the two


def test_memory_bound_comes_from_the_cgroup_v1_limit(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"memory": "/lab"}, {
        "memory/memory.limit_in_bytes": "9223372036854771712",  # v1's "no limit"
        "memory/memory.usage_in_bytes": str(GIB),
        "memory/lab/memory.limit_in_bytes": str(3 * GIB),
        "memory/lab/memory.usage_in_bytes": str(GIB)})
    assert memory.cgroup_memory_room() == 2 * GIB


def test_memory_bound_without_a_cgroup_limit_is_the_os_figure(monkeypatch, tmp_path):
    fake_cgroup(monkeypatch, tmp_path, {"": "/"}, {"cgroup.controllers": "",
                                                    "memory.max": "max"})
    assert memory.cgroup_memory_room() is None
    monkeypatch.setattr(memory.psutil, "virtual_memory",
                        lambda: SimpleNamespace(available=5 * GIB))
    assert memory.available_memory() == 5 * GIB


def test_memory_bound_names_the_parameter_the_range_here_and_why():
    def need(mebibytes):
        return 5 * mebibytes * MIB

    assert require_memory("size", 100, 1, 512, need, available=GIB) == 100
    with pytest.raises(ValueError) as raised:
        require_memory("size", 512, 1, 512, need, unit=" MiB", available=GIB)
    message = str(raised.value)
    for words in ("size must be from 1 to 204 on this machine", "got 512",
                  "512 MiB would need about 2.5 GiB", "1.0 GiB available"):
        assert words in message
    with pytest.raises(ValueError, match="from 1 to 512, got 513"):  # the hard cap first
        require_memory("size", 513, 1, 512, need, available=100 * GIB)
    with pytest.raises(ValueError, match="does not fit on this machine either"):
        require_memory("size", 3, 1, 512, need, available=MIB)
    assert most_that_fits(need, 1, 512, 5 * 204 * MIB) == 204
    assert most_that_fits(need, 1, 512, 100 * GIB) == 512


def test_time_bound_estimate_counts_rounds_of_tasks_per_executor(monkeypatch):
    monkeypatch.setattr(estimates, "TASK_OVERHEAD_SECONDS", {})  # the rounds alone
    count, sleep = get_workload("count"), get_workload("sleep")
    options = {"task_seconds": 1.0, "tasks": 4, "repeats": 2, "cpus": 2}
    assert estimate_run_seconds(count, ["serial"], workers=4, **options) == 8  # 2 × 4 × 1 s
    processes = estimate_run_seconds(count, ["processes"], workers=4, **options)
    assert processes == 4 + estimates.START_SECONDS["processes"]  # 2 CPUs: 2 rounds
    assert estimate_run_seconds(sleep, ["threads"], workers=4, **options) == 2  # all wait
    both = estimate_run_seconds(count, ["serial", "processes"], workers=4, **options)
    assert both == 8 + processes
    assert estimate_run_seconds(count, ["asyncio"], workers=4, **options) == 8  # one thread
    assert estimates.run_seconds("threads", "cpu-bound", workers=4, gil=False,
                                 **options) == 4  # free-threaded: 2 CPUs, 2 rounds


def test_time_bound_estimate_counts_the_runners_cost_per_task(monkeypatch):
    """Thousands of tiny tasks cost the runner's overhead each (notebook 05's chunks)."""
    monkeypatch.setattr(estimates, "TASK_OVERHEAD_SECONDS", {"processes": 0.001})
    seconds = estimates.run_seconds("processes", "cpu-bound", task_seconds=0.0, tasks=4000,
                                    workers=2, repeats=3, cpus=2)
    assert seconds == pytest.approx(3 * 4000 * 0.001 + estimates.START_SECONDS["processes"])


def test_time_bound_words_are_about():
    assert about(0.79) == "about 0.79 s" and about(42) == "about 40 s"
    assert about(140) == "about 2 min" and about(480) == "about 8 min"


def test_time_bound_lab_says_how_long_a_run_will_take(monkeypatch):
    monkeypatch.setattr(estimates, "seconds_per_cost", lambda name: 1e-5)  # 10 µs a unit
    lab = Lab(size=20_000, tasks=2, repeats=1, executors=["serial"])
    said = re.search(r"A Run with these settings takes about ([\d.]+) s here\.",
                     lab.estimate_line.value)
    assert said and float(said.group(1)) == pytest.approx(0.4)  # 2 × 20,000 × 10 µs
    lab.repeats.value = 3  # the line follows the controls
    assert "about 1.2 s" in lab.estimate_line.value
    assert lab.estimate_line in lab.ui.children  # in the widget, above Run


def test_time_bound_lab_refuses_a_run_over_its_limit(monkeypatch):
    monkeypatch.setattr(estimates, "seconds_per_cost", lambda name: 1e-6)
    monkeypatch.setattr(lab_module, "compare", lambda *a, **k: pytest.fail("it ran"))
    lab = Lab("primes", size=400_000, tasks=16, repeats=5)  # the sliders' maxima
    assert lab.estimate() > RUN_BUDGET_SECONDS
    assert "more than the lab's limit of about 2 min" in lab.estimate_line.value
    lab.run_button.click()
    assert lab.results is None and "Not run: this Run would take about" in lab.words.value


def test_memory_bound_lab_refuses_a_run_the_machine_cannot_hold(monkeypatch):
    numpy = get_workload("numpy")
    need = estimate_run_memory(numpy, ["serial", "threads", "processes"], size=128,
                               tasks=16, workers=16)
    assert 2.5 * GIB < need < 3.5 * GIB  # measured: 2.7 GiB of summed RSS
    monkeypatch.setattr(controls, "available_memory", lambda: 10 * MIB)
    monkeypatch.setattr(lab_module, "compare", lambda *a, **k: pytest.fail("it ran"))
    lab = Lab("numpy", size=4, tasks=2, repeats=1)
    lab.run_button.click()
    assert lab.results is None
    assert "would need about" in lab.words.value and "0.0 GiB available" in lab.words.value


def _panels():
    """(name, a panel at its largest settings, the module function its Run would call,
    whether such a Run is over the lab's limit) for every widget but the Lab."""
    from helpers.capstone import lab as capstone_lab
    from helpers.capstone.plan import MAX_PAGES
    from helpers.free_threading import gil_lab
    from helpers.io_bound import pool_size
    from helpers.processes_in_depth import amdahl, granularity
    from helpers.the_gil import trace_lab

    serial = {stage: ("serial", 1) for stage in ("fetch", "parse", "compute", "aggregate")}
    return {
        "ChunkLab": (lambda: granularity.ChunkLab(items=4096, iterations=100_000),
                     granularity, "sweep_chunk_sizes", True),
        "AmdahlLab": (lambda: amdahl.AmdahlLab("zlib", 0.95, "threads"), amdahl,
                      "measure_scaling", False),
        "PoolSizeLab": (lambda: pool_size.PoolSizeLab(200, 64, 64), pool_size,
                        "measure_throughput", False),
        "CapstoneLab": (lambda: capstone_lab.CapstoneLab(
            stages=serial, pages=MAX_PAGES, latency_ms=1000,
            compute_size=200_000), capstone_lab, "run_pipeline", True),
        "GilLab": (lambda: gil_lab.GilLab(None, "count", threads=4), gil_lab,
                   "measure_threads", False),
        "ThreadTraceLab": (lambda: trace_lab.ThreadTraceLab(4, "count", 20, "processes"),
                           trace_lab, None, False)}


@pytest.mark.parametrize("name", list(_panels()))
def test_time_bound_every_panel_says_how_long_and_refuses_what_is_too_long(name, monkeypatch):
    """Issue 20.7: every widget says before a Run how long it takes here, follows its
    controls, and refuses a Run over the lab's limit before anything runs (the ChunkLab's
    and the CapstoneLab's largest settings; measured: 4,096 items of 100,000 additions
    took minutes)."""
    make, module, runs, too_long = _panels()[name]
    monkeypatch.setattr(estimates, "seconds_per_cost", lambda workload: 2e-7)  # a slow laptop
    panel = make()
    said = panel.estimate_line.value
    assert "A Run with these settings takes about" in said
    assert ("more than the lab's limit" in said) is too_long
    assert panel.estimate_line in panel.ui.children
    if not too_long:
        return
    monkeypatch.setattr(module, runs, lambda *a, **k: pytest.fail("it ran"))
    panel.run_button.click()
    assert "Not run: this Run would take about" in panel.words.value
    advice = panel.advice[:1].upper() + panel.advice[1:]
    assert advice in panel.words.value.replace("&#x27;", "'")
