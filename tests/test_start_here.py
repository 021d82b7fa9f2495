"""helpers.start_here: notebook 00's words for wall time, CPU time and CPUs busy, its race of
two counting tasks (concurrency vs parallelism), the widget check and the version table.

The words functions are fed fake runs — idle, busy (load disturbed), 1 CPU, beyond what the
CPUs allow, GIL off — so every branch is checked without depending on this machine's load."""
from __future__ import annotations

import pytest
from matplotlib.colors import to_rgb

from helpers import start_here as sh
from helpers.core.noise import MachineLoad
from helpers.core.plots import colour_for
from helpers.core.runner import RunResult, TaskRecord, run_tasks
from helpers.start_here import describe_first_run, package_versions, widget_check

IDLE = MachineLoad(others=0.0, allowed=2)
BUSY = MachineLoad(others=1.0, allowed=2)  # a CPU hog on one of two CPUs

MECHANISMS = ("GIL", "interpreter", "switch interval", "parallel")


def serial_run(workload: str, wall: float, cpu: float, size: int = 1_000_000,
               load: MachineLoad | None = IDLE) -> RunResult:
    record = TaskRecord(0, 1, 1, 0.0, wall, cpu)
    return RunResult(workload, "serial", 1, 1, size, None, [wall] * 3, [cpu] * 3, [record],
                     [None], load)


def race_run(executor: str, lanes: list[list[tuple[float, float]]], cpu: float,
             load: MachineLoad | None = IDLE) -> RunResult:
    """A fake race_two_tasks run: one task per lane, running in the given stretches."""
    wall = max(end for lane in lanes for _, end in lane)
    records = [TaskRecord(i, 100 + i if executor == "processes" else 1, i, 0.0, lane[-1][1],
                          cpu / len(lanes)) for i, lane in enumerate(lanes)]
    return RunResult("count_in_slices", executor, 2, 2, 1000, None, [wall] * 3, [cpu] * 3,
                     records, [list(lane) for lane in lanes], load)


def turns(slices: int = 10, every: float = 0.005) -> list[list[tuple[float, float]]]:
    """Two lanes taking turns: 0–5 ms, 10–15 ms … and 5–10 ms, 15–20 ms …"""
    return [[(2 * k * every + lane * every, (2 * k + 1) * every + lane * every)
             for k in range(slices)] for lane in (0, 1)]


TOGETHER = [[(0.0, 0.1)], [(0.0, 0.1)]]  # both running the whole time


def race(threads=None, processes=None, *, threads_load=IDLE, processes_load=IDLE):
    return {"2 threads": race_run("threads", threads or turns(), 0.1, threads_load),
            "2 processes": race_run("processes", processes or TOGETHER, 0.2, processes_load)}


# --- wall time, CPU time, CPUs busy -------------------------------------------------------

def test_the_first_run_is_described_from_its_own_numbers():
    run = run_tasks("count", executor="serial", tasks=1, size=200_000, repeats=2)
    text = describe_first_run(run).text
    assert f"{run.size:,} loop iterations" in text and "median of 2" in text
    assert f"**{run.cpu * 1000:.0f} ms** of CPU time" in text
    assert f"**{run.utilisation:.1f} CPUs busy**" in text


def test_an_idle_loop_is_called_cpu_bound_and_a_sleep_io_bound():
    text = describe_first_run(serial_run("count", 0.2, 0.2), serial_run("sleep", 0.05, 0.0)).text
    assert "200 ÷ 200 = **1.0 CPUs busy**" in text and "100% of the time it ran" in text
    assert "**CPU-bound**" in text
    assert "0.00 CPUs busy" in text and "**I/O-bound**" in text
    assert "disturbed" not in text


def test_a_starved_or_crowded_loop_is_called_disturbed_not_cpu_bound():
    starved = describe_first_run(serial_run("count", 0.2, 0.12)).text  # 0.6 CPUs busy
    assert "**disturbed**" in starved and "CPU-bound" not in starved
    one_cpu_busy = serial_run("count", 0.2, 0.2, load=MachineLoad(others=0.9, allowed=1))
    assert "**disturbed**" in describe_first_run(one_cpu_busy).text


def test_a_sleep_that_used_a_cpu_is_called_disturbed():
    text = describe_first_run(serial_run("count", 0.2, 0.2), serial_run("sleep", 0.05, 0.04)).text
    assert "**disturbed**" in text and "I/O-bound" not in text


# --- concurrency and parallelism ----------------------------------------------------------

def test_count_in_slices_counts_and_notes_when_it_ran():
    stretches = sh.count_in_slices(200_000)
    assert stretches and all(0 <= start < end for start, end in stretches)
    assert all(a[1] <= b[0] for a, b in zip(stretches, stretches[1:]))  # in order, apart
    assert sh.count_in_slices(0) == []


@pytest.mark.parametrize("iterations", [-1, 10**9 + 1, 1.5, "9"])
def test_count_in_slices_rejects_bad_sizes(iterations):
    with pytest.raises(ValueError, match="iterations"):
        sh.count_in_slices(iterations)


def test_the_race_counts_its_tasks_over_both_runs():
    seen = []
    runs = sh.race_two_tasks(20_000, on_progress=lambda done, total: seen.append((done, total)))
    assert list(runs) == ["2 threads", "2 processes"]
    tasks = sum(len(run.walls) * run.tasks for run in runs.values())
    assert seen == [(done, tasks) for done in range(1, tasks + 1)]


def test_race_rejects_too_few_iterations():
    with pytest.raises(ValueError, match="iterations"):
        sh.race_two_tasks(10)


def test_same_instant_share_separates_turns_from_together():
    assert sh.same_instant_share(turns()) == pytest.approx(0.0, abs=1e-9)
    assert sh.same_instant_share(TOGETHER) == pytest.approx(1.0)
    half = [[(0.0, 0.1)], [(0.05, 0.15)]]  # together from 0.05 to 0.1 of 0–0.15 s
    assert sh.same_instant_share(half) == pytest.approx(1 / 3)
    assert sh.same_instant_share([[], []]) == 0.0


def test_a_real_race_of_two_threads_is_not_parallel_under_the_gil():
    run = sh.race_two_tasks(1_500_000, executors=("threads",))["2 threads"]
    assert len(run.results) == 2 and 1 <= len(sh.running_stretches(run)) <= 2
    if sh.gil_enabled():  # interleaved, or one after the other: never at the same instant
        assert sh.kind_of_run(run) in ("interleaved", "one after the other")


def test_tasks_run_one_after_the_other_are_not_called_concurrent():
    one_lane = race_run("threads", [[(0.0, 0.05)], [(0.05, 0.1)]], 0.1)
    one_lane.records[1] = TaskRecord(1, 1, 0, 0.05, 0.1, 0.05)  # the same thread, later
    one_lane.results[1] = [(0.0, 0.05)]
    assert sh.kind_of_run(one_lane) == "one after the other"
    runs = {"2 threads": one_lane, "2 processes": race()["2 processes"]}
    verdict = sh.describe_concurrency(runs, effective_cpus=2, gil=True)
    assert "under way together 0% of the time" in verdict.lines[0]
    assert "**disturbed**" in verdict.lines[-1]


def test_idle_two_cpus_with_the_gil_threads_interleave_and_processes_run_in_parallel():
    verdict = sh.describe_concurrency(race(), effective_cpus=2, gil=True)
    threads, processes, meaning = verdict.lines
    assert "at the same instant 0% of it" in threads and "**interleaved**" in threads
    assert "1.0 CPUs busy" in threads and "5.0 ms" in threads
    assert "100% of it" in processes and "2.0 CPUs busy" in processes
    assert "**in parallel**" in processes
    assert "concurrent but not parallel" in meaning and "GIL" in meaning
    assert "disturbed" not in verdict.text
    article = sh.against_the_article(race(), effective_cpus=2, gil=True)
    assert article.startswith("Both lines held") and "only 0% of the time" in article


def test_a_busy_machine_is_called_disturbed_and_explained_by_nothing():
    runs = race(processes=[[(0.0, 0.05), (0.1, 0.15)], [(0.05, 0.1), (0.15, 0.2)]],
                processes_load=BUSY, threads_load=BUSY)
    verdict = sh.describe_concurrency(runs, effective_cpus=2, gil=True)
    meaning = verdict.lines[-1]
    assert "**disturbed**" in meaning
    assert not any(word in meaning for word in MECHANISMS)
    article = sh.against_the_article(runs, effective_cpus=2, gil=True)
    assert "**disturbed**" in article and "held" not in article


def test_processes_that_took_turns_on_two_idle_cpus_are_called_disturbed():
    runs = race(processes=turns())  # no load measured as busy, yet they took turns
    meaning = sh.describe_concurrency(runs, effective_cpus=2, gil=True).lines[-1]
    assert "**disturbed**" in meaning and "ran at the same instant 0% of it" in meaning
    assert not any(word in meaning for word in MECHANISMS)
    assert "**disturbed**" in sh.against_the_article(runs, effective_cpus=2, gil=True)


def test_one_cpu_both_kinds_are_concurrent_and_neither_parallel():
    one = MachineLoad(others=0.0, allowed=1)
    runs = {"2 threads": race_run("threads", turns(), 0.1, one),
            "2 processes": race_run("processes", turns(), 0.1, one)}
    verdict = sh.describe_concurrency(runs, effective_cpus=1, gil=True)
    assert "With 1 effective CPU" in verdict.lines[-1] and "neither was" in verdict.lines[-1]
    assert "disturbed" not in verdict.text and "GIL" not in verdict.lines[-1]
    article = sh.against_the_article(runs, effective_cpus=1, gil=True)
    assert "its second did not" in article


def test_beyond_what_one_cpu_allows_is_called_disturbed():
    # processes running together on 1 CPU cannot be: the measurement is noise
    one = MachineLoad(others=0.0, allowed=1)
    runs = {"2 threads": race_run("threads", turns(), 0.1, one),
            "2 processes": race_run("processes", TOGETHER, 0.2, one)}
    meaning = sh.describe_concurrency(runs, effective_cpus=1, gil=True).lines[-1]
    assert "**disturbed**" in meaning and "1 effective CPU" in meaning


def test_without_the_gil_threads_run_in_parallel_too():
    runs = race(threads=TOGETHER)
    verdict = sh.describe_concurrency(runs, effective_cpus=2, gil=False)
    assert "The GIL is off" in verdict.lines[-1] and "disturbed" not in verdict.text
    assert "first line did not hold" in sh.against_the_article(runs, effective_cpus=2,
                                                               gil=False)
    surprise = sh.describe_concurrency(race(threads=TOGETHER), effective_cpus=2, gil=True)
    assert "**disturbed**" in surprise.lines[-1]  # parallel threads under the GIL: noise


def test_the_race_plot_shows_every_stretch_in_the_executor_colours():
    runs = race()
    fig = sh.plot_concurrency(runs)
    for ax, (name, run) in zip(fig.axes, runs.items()):
        assert ax.get_title().startswith(f"{name}: at the same instant")
        assert "(s)" in ax.get_xlabel()
        latest = max(end for lane in sh.running_stretches(run) for _, end in lane)
        assert ax.get_xlim()[0] <= 0 and ax.get_xlim()[1] >= latest
        colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections
                   if len(c.get_facecolor()) and c.get_facecolor()[0][3] > 0}
        assert colours == {to_rgb(colour_for(run.executor))}
    busy = sh.plot_concurrency(race(processes_load=BUSY, threads_load=BUSY))
    assert all("(disturbed)" in ax.get_title() for ax in busy.axes)


# --- widgets and versions -----------------------------------------------------------------

def test_the_widget_check_follows_its_slider_and_caps_at_the_cpus(monkeypatch):
    monkeypatch.delenv("LAB_PRESENT", raising=False)
    slider, answer = widget_check(effective_cpus=1).children
    assert answer.value == "2 workers → CPU-bound work at most 1× faster here"
    slider.value = 5
    assert answer.value == "5 workers → CPU-bound work at most 1× faster here"
    slider.value = 1
    assert answer.value == "1 worker → CPU-bound work at most 1× faster here"
    assert widget_check(effective_cpus=4).children[1].value.endswith("at most 2× faster here")
    with pytest.raises(ValueError, match="effective_cpus"):
        widget_check(effective_cpus=0)


def test_the_widget_check_is_larger_in_classroom_mode(monkeypatch):
    from helpers.core.controls import PRESENT_CLASS
    monkeypatch.setenv("LAB_PRESENT", "1")
    box = widget_check(effective_cpus=2)
    assert PRESENT_CLASS in box._dom_classes and PRESENT_CLASS in box.children[0].value
    monkeypatch.setenv("LAB_PRESENT", "0")
    assert PRESENT_CLASS not in widget_check(effective_cpus=2)._dom_classes


def test_versions_name_each_package_and_say_when_one_is_missing():
    text = package_versions(("ipywidgets", "no-such-package-here"))
    lines = text.splitlines()
    assert lines[0].startswith("ipywidgets") and lines[0].split()[1][0].isdigit()
    assert lines[1].endswith("not installed")


# --- key points ---------------------------------------------------------------------------

def test_key_points_speak_from_the_measurements():
    first, nap = serial_run("count", 0.5, 0.5), serial_run("sleep", 0.1, 0.001, size=100)
    points = sh.key_points(first, nap, race(), effective_cpus=2, gil=True)
    assert points.lines[0] == ("You have 2 effective CPUs: CPU-bound work can run at most 2× "
                               "faster here than on one CPU.")
    assert points.lines[1] == ("The loop kept 1.0 CPUs busy and the sleep 0.01: CPU-bound work "
                               "computes, I/O-bound work waits.")
    assert "on 2 threads they ran **interleaved**, at the same instant 0%" in points.lines[2]
    assert "on 2 processes they ran **in parallel**, at the same instant 100%" in points.lines[2]
    assert "disturbed" not in points.text
    assert sh.key_points(first, nap, race(), effective_cpus=1, gil=True).lines[0].startswith(
        "You have 1 effective CPU:")


def test_key_points_call_disturbed_measurements_disturbed():
    crowded = MachineLoad(others=1.7, allowed=2)  # other programs left 0.3 of a CPU
    first, nap = serial_run("count", 0.5, 0.5, load=crowded), serial_run("sleep", 0.1, 0.05)
    busy = race(processes_load=BUSY, threads_load=BUSY)
    points = sh.key_points(first, nap, busy, effective_cpus=2, gil=True)
    assert points.lines[1] == ("The loop and the sleep (section 2) were measured **disturbed**: "
                               "run them again.")
    calm = sh.key_points(first, serial_run("sleep", 0.1, 0.001), race(), effective_cpus=2,
                         gil=True)
    assert calm.lines[1] == "The loop (section 2) was measured **disturbed**: run it again."
    assert "**disturbed**" in points.lines[2] and "interleaved" not in points.lines[2]
    assert not any(word in points.text for word in MECHANISMS)
