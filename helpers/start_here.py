"""Notebook 00 · start here: your machine, the lab's words measured, and whether widgets work.

* :func:`describe_first_run` — wall time, CPU time and **CPUs busy** (CPU time ÷ wall
  time) of a counting loop and a sleep: what *CPU-bound* and *I/O-bound* mean.
* :func:`count_in_slices` — the same counting loop, noting when it made progress;
  :func:`race_two_tasks` runs two of them on two threads and on two processes.
* :func:`plot_concurrency` and :func:`describe_concurrency` — **concurrency** (tasks
  under way at the same time, perhaps taking turns) against **parallelism** (running
  at the same instant, on several CPUs), drawn and worded from that race.
* :func:`widget_check` and :func:`package_versions` — do widgets work here?
"""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from helpers.core import noise
from helpers.core.arguments import require_int
from helpers.core.colours import REFERENCE_GREY
from helpers.core.runner import ProgressCallback, RunResult, run_tasks
from helpers.core.settings import default, present_mode
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import Verdict, plural

if TYPE_CHECKING:  # imported only when needed: worker processes import this module
    import ipywidgets as widgets
    from matplotlib.figure import Figure

#: What the lab's widgets need from the kernel's environment.
WIDGET_PACKAGES = ("ipywidgets", "jupyterlab_widgets", "ipykernel", "matplotlib")

IDLE = 0.2  # CPUs busy below this: the task spent its time waiting, not computing
SLICE = 1_000  # loop iterations between two clock reads in count_in_slices
STOPPED = 0.0005  # s between two clock reads: the task was stopped in between
INTERLEAVED = 0.2  # at the same instant less than this share of the time: taking turns
SAME_INSTANT = 0.7  # at least this share: in parallel

Stretch = tuple[float, float]  # (start, end) in seconds


# --- wall time, CPU time, CPUs busy -------------------------------------------------------

def describe_first_run(run: RunResult, waiting: RunResult | None = None) -> Verdict:
    """What one serial ``count`` run (and one ``sleep``) measured, and what kind of work
    each is — or that the measurement was disturbed."""
    lines = [f"{run.size:,} loop iterations took **{run.wall * 1000:.0f} ms** of wall time "
             f"(median of {len(run.walls)}) and **{run.cpu * 1000:.0f} ms** of CPU time: "
             f"{run.cpu * 1000:.0f} ÷ {run.wall * 1000:.0f} = **{run.utilisation:.1f} CPUs "
             f"busy**, {run.size / run.wall / 1e6:.0f} million iterations per second."]
    disturbed = noise.run_disturbance(run, what="count")
    lines.append(disturbed or f"The loop kept a CPU busy {min(run.utilisation, 1):.0%} of the "
                 "time it ran: it is **CPU-bound** — its time goes to computing.")
    if waiting is not None:
        lines.append(f"One `sleep_ms({waiting.size})` took {waiting.wall * 1000:.0f} ms of "
                     f"wall time and {waiting.cpu * 1000:.1f} ms of CPU time: "
                     f"{waiting.utilisation:.2f} CPUs busy.")
        lines.append(_waiting_kind(waiting))
    return Verdict(tuple(lines))


def _waiting_kind(waiting: RunResult) -> str:
    """The sleep is I/O-bound when it needed (almost) no CPU; otherwise it was disturbed."""
    if waiting.utilisation < IDLE:
        return ("The sleep needed almost no CPU: it is **I/O-bound** — its time goes to "
                "waiting (for a disk, a network, a timer), not to computing.")
    return noise.disturbed_sentence("the sleep", f"a sleep kept {waiting.utilisation:.2f} "
                                    "CPUs busy although it only waits")


# --- concurrency and parallelism ----------------------------------------------------------

def count_in_slices(iterations: int) -> list[Stretch]:
    """Add 1, ``iterations`` times (like ``count_up``), reading the clock every
    :data:`SLICE` iterations; return the stretches of time, in seconds from the
    task's start, in which it made progress.

    Two clock reads more than :data:`STOPPED` apart mean the task was stopped in
    between — waiting for the GIL, or for a CPU — so a new stretch begins.
    """
    require_int("iterations", iterations, 0, 10**9)
    clock = time.perf_counter
    origin = begin = last = clock()
    stretches: list[Stretch] = []
    total, left = 0, iterations
    while left > 0:
        step = min(SLICE, left)
        for _ in range(step):
            total += 1
        left -= step
        now = clock()
        if now - last > STOPPED:
            stretches.append((begin - origin, last - origin))
            begin = now
        last = now
    stretches.append((begin - origin, last - origin))
    return [(start, end) for start, end in stretches if end > start]


def race_two_tasks(iterations: int | None = None,
                   executors: Sequence[str] = ("threads", "processes"),
                   on_progress: ProgressCallback | None = None) -> dict[str, RunResult]:
    """Two :func:`count_in_slices` tasks on two workers of each executor kind, measured by
    :func:`~helpers.core.runner.run_tasks` (warm-up, repeats, median, CPU time).
    ``on_progress(done, total)`` counts the tasks finished over all the runs."""
    size = int(default(6_000_000, 3_000_000)) if iterations is None else iterations
    require_int("iterations", size, SLICE, 10**8)
    runs = {}
    for index, kind in enumerate(executors):
        progress = None if on_progress is None else (
            lambda done, total, index=index: on_progress(index * total + done,
                                                         len(executors) * total))
        runs[f"2 {kind}"] = run_tasks(count_in_slices, executor=kind, tasks=2, workers=2,
                                      size=size, on_progress=progress)
    return runs


def running_stretches(run: RunResult) -> list[list[Stretch]]:
    """Per worker, the stretches (seconds from the run's start) in which its task ran."""
    lanes: list[list[Stretch]] = [[] for _ in range(run.worker_count_seen)]
    ids = run.worker_ids()
    for record, stretches in zip(run.records, run.results):
        lane = lanes[ids[(record.pid, record.thread)]]
        lane.extend((record.start + start, record.start + end) for start, end in stretches)
    return lanes


def _covered(lanes: Sequence[Sequence[Stretch]], at_least: int) -> float:
    """Seconds during which at least ``at_least`` of the lanes' stretches overlap."""
    events = sorted([(s, 1) for lane in lanes for s, _ in lane]
                    + [(e, -1) for lane in lanes for _, e in lane])
    seconds, running, since = 0.0, 0, 0.0
    for when, step in events:
        if running >= at_least:
            seconds += when - since
        running, since = running + step, when
    return seconds


def same_instant_share(lanes: Sequence[Sequence[Stretch]]) -> float:
    """Of the time anything ran, the share during which two or more lanes ran at once."""
    anything = _covered(lanes, 1)
    return _covered(lanes, 2) / anything if anything > 0 else 0.0


def under_way_share(run: RunResult) -> float:
    """Of the run, the share during which two or more tasks were under way (started,
    not yet finished) — running or not."""
    spans = [[(record.start, record.end)] for record in run.records]
    return same_instant_share(spans)


def kind_of_run(run: RunResult) -> str:
    """'one after the other', 'interleaved', 'in parallel' or 'partly at the same instant':
    how the tasks of ``run`` shared the time, from their measured stretches."""
    if under_way_share(run) < INTERLEAVED:
        return "one after the other"
    share = same_instant_share(running_stretches(run))
    if share < INTERLEAVED:
        return "interleaved"
    return "in parallel" if share >= SAME_INSTANT else "partly at the same instant"


def _shares(run: RunResult) -> str:
    return (f"the two tasks were under way together {under_way_share(run):.0%} of the time "
            f"and ran at the same instant {same_instant_share(running_stretches(run)):.0%} of it")


def _run_line(name: str, run: RunResult) -> str:
    lengths = [end - start for lane in running_stretches(run) for start, end in lane]
    return (f"**{name}**: {_shares(run)}, {run.utilisation:.1f} CPUs busy, in stretches of "
            f"about {statistics.median(lengths) * 1000:.1f} ms (median): "
            f"**{kind_of_run(run)}**.")


def plot_concurrency(runs: Mapping[str, RunResult]) -> Figure:
    """One panel per run, one lane per task: a grey outline while the task was under
    way, a coloured stretch wherever it was running."""
    import matplotlib.pyplot as plt  # here: worker processes that import this module skip it

    from helpers.core.plots import colour_for, finish_figure

    fig, axes = plt.subplots(len(runs), 1, figsize=(8, 1.5 * len(runs) + 0.8), squeeze=False)
    end = max(record.end for run in runs.values() for record in run.records) * 1.02
    for ax, (name, run) in zip(axes[:, 0], runs.items()):
        lanes = running_stretches(run)
        for record in run.records:
            lane = run.worker_ids()[(record.pid, record.thread)]
            ax.broken_barh([(record.start, record.duration)], (lane - 0.4, 0.8),
                           facecolors="none", edgecolors=REFERENCE_GREY)
        for lane, stretches in enumerate(lanes):
            ax.broken_barh([(s, e - s) for s, e in stretches], (lane - 0.4, 0.8),
                           facecolors=colour_for(run.executor), linewidth=0)
        ax.set(yticks=range(len(lanes)), yticklabels=[f"task {i + 1}" for i in
               range(len(lanes))], xlim=(0, end), ylim=(len(lanes) - 0.4, -0.6),
               xlabel="time since the run started (s)")
        mark = f" ({noise.DISTURBED})" if noise.run_disturbed(run) else ""
        ax.set_title(f"{name}: at the same instant {same_instant_share(lanes):.0%} of the "
                     f"time, {run.utilisation:.1f} CPUs busy{mark}", fontsize=9)
    fig.suptitle("Two counting tasks: running (colour) while under way (grey outline)")
    return finish_figure(fig)


def _expected(executor: str, effective_cpus: int, gil: bool) -> str:
    """How two counting tasks should run: in parallel needs 2 CPUs, and for threads no GIL."""
    if effective_cpus < 2 or (executor == "threads" and gil):
        return "interleaved"
    return "in parallel"


def _surprise(runs: Mapping[str, RunResult], effective_cpus: int, gil: bool) -> str:
    """A disturbed-sentence for the first run that ran otherwise than its CPUs and GIL
    allow (e.g. processes interleaved on 2 CPUs: something else had one), else ``''``."""
    for name, run in runs.items():
        if kind_of_run(run) != _expected(run.executor, effective_cpus, gil):
            return noise.disturbed_sentence(
                f"the {name} run", f"on {plural(effective_cpus, 'effective CPU')}, {name}: "
                f"{_shares(run)}")
    return ""


def _meaning(runs: Mapping[str, RunResult], effective_cpus: int, gil: bool) -> str:
    """Which run was concurrent only and which parallel, and why (undisturbed runs only)."""
    if effective_cpus == 1:
        return ("With 1 effective CPU only one task can run at any instant, so both kinds "
                "were **concurrent** (under way together, taking turns) and neither was "
                "**parallel**: parallelism needs a CPU for each task.")
    if not gil:
        return ("The GIL is off in this Python, so threads ran Python code **in parallel**, "
                f"like the processes, on {effective_cpus} effective CPUs.")
    return ("The threads were **concurrent but not parallel**: with the GIL, one thread at a "
            "time runs Python bytecode, and a waiting thread asks for it after the switch "
            f"interval ({sys.getswitchinterval() * 1000:g} ms). The processes, each with its "
            f"own interpreter and GIL, ran **in parallel** on {effective_cpus} effective CPUs.")


def describe_concurrency(runs: Mapping[str, RunResult], effective_cpus: int | None = None,
                         gil: bool | None = None) -> Verdict:
    """One line per run of :func:`race_two_tasks` (how long its tasks were under way
    together and ran at the same instant), then what that means — or, for a disturbed
    run, that it was disturbed and nothing more."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    gil = gil_enabled() if gil is None else gil
    lines = [_run_line(name, run) for name, run in runs.items()]
    disturbed = " ".join(sentence for name, run in runs.items()
                         if (sentence := noise.run_disturbance(run, cpus, name)))
    lines.append(disturbed or _surprise(runs, cpus, gil) or _meaning(runs, cpus, gil))
    return Verdict(tuple(lines))


def against_the_article(runs: Mapping[str, RunResult], effective_cpus: int | None = None,
                        gil: bool | None = None) -> str:
    """The article's two lines on concurrency vs parallelism, set against this race."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    gil = gil_enabled() if gil is None else gil
    if _surprise(runs, cpus, gil) or any(noise.run_disturbed(run, cpus)
                                         for run in runs.values()):
        return ("This race was **disturbed** (see above), so it can neither confirm nor "
                "contradict the article: run it again.")
    if cpus == 1:
        return ("Here the article's first line held (threads: concurrent, not parallel), but "
                "its second did not: with 1 effective CPU the processes took turns too. "
                "\"Processes run in parallel\" needs a free CPU for each process.")
    threads = next((run for run in runs.values() if run.executor == "threads"), None)
    share = same_instant_share(running_stretches(threads)) if threads else float("nan")
    if not gil:
        return (f"In this Python the article's first line did not hold: with the GIL off, "
                f"the threads ran at the same instant {share:.0%} of the time. Its second held.")
    return (f"Both lines held here. For pure-Python work, \"restricted\" meant the threads ran "
            f"at the same instant only {share:.0%} of the time; C code that releases the GIL "
            "can do better (notebook 03).")


# --- key points: the measured ones -------------------------------------------------------

def key_points(first: RunResult, waiting: RunResult, race: Mapping[str, RunResult],
               effective_cpus: int | None = None, gil: bool | None = None) -> Verdict:
    """The key points that rest on this notebook's measurements: the effective CPUs, what
    the loop and the sleep kept busy (section 2), and how the race ran (section 3) — a
    disturbed measurement is called **disturbed**, and nothing more."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    gil = gil_enabled() if gil is None else gil
    most = (f"You have {plural(cpus, 'effective CPU')}: CPU-bound work can run at most "
            f"{cpus}× faster here than on one CPU.")
    noisy = [name for name, disturbed in (("loop", bool(noise.run_disturbance(first))),
                                          ("sleep", waiting.utilisation >= IDLE)) if disturbed]
    if noisy:
        kinds = (f"The {' and the '.join(noisy)} (section 2) "
                 f"{'were' if len(noisy) > 1 else 'was'} measured **disturbed**: run "
                 f"{'them' if len(noisy) > 1 else 'it'} again.")
    else:
        kinds = (f"The loop kept {first.utilisation:.1f} CPUs busy and the sleep "
                 f"{waiting.utilisation:.2f}: CPU-bound work computes, I/O-bound work waits.")
    if _surprise(race, cpus, gil) or any(noise.run_disturbed(run, cpus) for run in race.values()):
        ran = "The race of two counting tasks (section 3) was **disturbed**: run it again."
    else:
        ran = "In the race of two counting tasks, " + "; ".join(
            f"on {name} they ran **{kind_of_run(run)}**, at the same instant "
            f"{same_instant_share(running_stretches(run)):.0%} of the time"
            for name, run in race.items()) + "."
    return Verdict((most, kinds, ran))


# --- do widgets work? ---------------------------------------------------------------------

def widget_check(effective_cpus: int) -> widgets.VBox:
    """A slider and a line of text that follows it: if the text changes, widgets work.
    In classroom mode (``LAB_PRESENT=1``) their text is larger, as in every lab panel."""
    import ipywidgets as widgets  # here, not at the top: worker processes import this module

    from helpers.core.controls import PRESENT_CLASS, PRESENT_CSS

    cpus = require_int("effective_cpus", effective_cpus, 1, 4096)
    slider = widgets.IntSlider(value=4, min=1, max=16, description="workers")
    answer = widgets.HTML()

    def show(workers: int) -> None:
        answer.value = (f"{plural(workers, 'worker')} → CPU-bound work at most "
                        f"{min(workers, cpus)}× faster here")

    slider.observe(lambda change: show(change["new"]), "value")
    slider.value = 2  # fills the text once
    box = widgets.VBox([slider, answer])
    if present_mode():
        box.add_class(PRESENT_CLASS)
        box.children = (widgets.HTML(PRESENT_CSS), *box.children)
    return box


def package_versions(packages: tuple[str, ...] = WIDGET_PACKAGES) -> str:
    """One line per package: its name and the version this kernel imports."""
    lines = []
    for package in packages:
        try:
            lines.append(f"{package:20} {version(package)}")
        except PackageNotFoundError:
            lines.append(f"{package:20} not installed")
    return "\n".join(lines)
