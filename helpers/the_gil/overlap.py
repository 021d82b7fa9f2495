"""The measurement the seed article's combined example should have made.

The article runs a counting task and a sleeping task side by side, in two threads,
and says threads suit work that can overlap — but it only times the sleep, from
inside the sleeping task, so nothing shows whether the two overlapped.

Here the same two tasks run through the lab's runner, first one after the other
(serial), then in two threads. Each task records when it started and ended and how
much CPU time it used (:class:`helpers.core.runner.TaskRecord`), so the overlap is
measured, not assumed:

* **overlap** = the time both tasks were running at once, read from the records;
* a sleeping thread holds no GIL while it waits, so the counting thread should keep
  about one CPU busy for its whole duration, even with the GIL on, even on 1 CPU.

A busy machine slows the count but cannot make a sleep hold the GIL; when the count got
less than a CPU (:func:`helpers.core.noise.starved`) or other programs took the CPU it
needed, the words say the run was **disturbed** and explain nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.experiments import stepped_progress
from helpers.core.noise import (
    busy_sentence,
    disturbed_sentence,
    load_disturbed,
    repeats_disagree,
    starved,
)
from helpers.core.plots import plot_timeline
from helpers.core.runner import ProgressCallback, RunResult, TaskRecord, run_tasks
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import Verdict
from helpers.core.workloads import count_up

KINDS = ("count", "sleep")
MAX_SECONDS = 10.0


def seed_task(job: tuple[str, float]) -> int | float:
    """One of the article's two tasks: ``("count", n)`` adds 1, n times, in a Python loop
    (its ``cpu_bound_task``); ``("sleep", s)`` sleeps s seconds (its ``io_bound_task``)."""
    if not (isinstance(job, tuple) and len(job) == 2):
        raise ValueError(f"job must be a pair (kind, amount), got {job!r}")
    kind = require_choice("kind", job[0], KINDS)
    if kind == "count":
        return count_up(require_int("count", job[1], 0, 10**9))
    seconds = require_float("sleep", job[1], 0.0, MAX_SECONDS)
    time.sleep(seconds)
    return seconds


def default_jobs() -> tuple[tuple[str, float], tuple[str, float]]:
    """The article's count of 10**7 beside a 1 s sleep (quick mode: 5×10**6 and 0.4 s):
    sizes where neither task hides the other."""
    return ("count", int(default(10**7, 5 * 10**6))), ("sleep", float(default(1.0, 0.4)))


@dataclass(frozen=True)
class Overlap:
    """The two tasks run serially and in two threads, and what the records show."""

    serial: RunResult
    threads: RunResult
    effective_cpus: int
    gil: bool

    def record(self, run: RunResult, kind: str) -> TaskRecord:
        """The record of task ``kind`` ("count" or "sleep") in ``run``."""
        return next(r for r in run.records if r.task == KINDS.index(kind))

    @property
    def overlap(self) -> float:
        """Seconds during which both tasks of the threads run were running."""
        count, sleep = self.record(self.threads, "count"), self.record(self.threads, "sleep")
        return max(0.0, min(count.end, sleep.end) - max(count.start, sleep.start))

    @property
    def count_share(self) -> float:
        """Share of its duration the count spent on a CPU, in the threads run."""
        count = self.record(self.threads, "count")
        return count.cpu / count.duration if count.duration > 0 else 0.0

    @property
    def possible(self) -> float:
        """The most the two could overlap: the shorter task's duration (threads run)."""
        return min(self.record(self.threads, k).duration for k in KINDS)


def measure_overlap(count: int | None = None, sleep: float | None = None, *,
                    repeats: int | None = None,
                    on_progress: ProgressCallback | None = None) -> Overlap:
    """Run the count and the sleep serially, then in two threads (lab runner: warm-up,
    ``repeats`` repeats, the median kept, other programs' CPU use recorded).

    ``on_progress(done, total)`` follows both runs, each one half of the way (a
    progress bar: :func:`helpers.core.progress.progress_bar`)."""
    jobs = list(default_jobs())
    if count is not None:
        jobs[0] = ("count", require_int("count", count, 1, 10**9))
    if sleep is not None:
        jobs[1] = ("sleep", require_float("sleep", sleep, 0.01, MAX_SECONDS))
    runs = {executor: run_tasks(seed_task, executor=executor, workers=2, arguments=jobs,
                                repeats=repeats,
                                on_progress=stepped_progress(on_progress, index, 2))
            for index, executor in enumerate(("serial", "threads"))}
    return Overlap(runs["serial"], runs["threads"], effective_cpu_count(), gil_enabled())


def disturbance(result: Overlap) -> str:
    """One sentence with "disturbed" when other programs took the CPU the count needed,
    the count got less than a CPU, or the repeats disagree; ``''`` otherwise.

    The run wants one CPU while the count runs and none while only the sleep does, so
    it is judged by the CPUs it wants on average over the run (the count's share of it),
    and told as the one CPU the count wants."""
    for name, run in (("the serial run", result.serial), ("the two threads", result.threads)):
        wanted = min(result.record(run, "count").duration / run.wall, 1.0) if run.wall else 1
        if load_disturbed(run.load, wanted):
            return busy_sentence(run.load, 1, name)
    if starved(result.count_share):
        return disturbed_sentence("the threads run", f"the count spent only "
                                  f"{result.count_share:.0%} of its time on a CPU")
    for name, run in (("serial", result.serial), ("threads", result.threads)):
        if repeats_disagree(run.walls):
            return disturbed_sentence(f"the {name} run", f"its repeats took from "
                                      f"{min(run.walls):.2f} s to {max(run.walls):.2f} s")
    return ""


def describe_overlap(result: Overlap) -> Verdict:
    """What the records show: the serial sum, the threads' overlap, and why — or, when
    the run was disturbed, only that."""
    if not isinstance(result, Overlap):
        raise ValueError(f"result must be the Overlap that measure_overlap() returns, "
                         f"got {type(result).__name__}")
    serial = [result.record(result.serial, k).duration for k in KINDS]
    threads = [result.record(result.threads, k).duration for k in KINDS]
    lines = [f"Serial: the count took {serial[0]:.2f} s, then the sleep {serial[1]:.2f} s — "
             f"{result.serial.wall:.2f} s in all.",
             f"2 threads: the count took {threads[0]:.2f} s and the sleep {threads[1]:.2f} s, "
             f"{result.threads.wall:.2f} s in all; both were running at once for "
             f"{result.overlap:.2f} s, and the count spent {result.count_share:.0%} of its "
             "time on a CPU."]
    noise = disturbance(result)
    if noise:
        return Verdict((*lines, noise))
    if result.overlap < 0.5 * result.possible:
        return Verdict((*lines, disturbed_sentence(
            "the threads run", f"the two overlapped for only {result.overlap:.2f} s of a "
            f"possible {result.possible:.2f} s")))
    return Verdict((*lines, _why_they_overlap(result)))


def _why_they_overlap(result: Overlap) -> str:
    """Why a computing thread and a sleeping thread overlap, for this GIL and CPU count."""
    cpus = (" — on 1 effective CPU too: waiting needs no CPU"
            if result.effective_cpus == 1 else "")
    if not result.gil:
        return (f"They overlapped for {result.overlap:.2f} s: the GIL is off in this "
                f"interpreter, and a sleeping thread needs no CPU{cpus}.")
    return (f"They overlapped for {result.overlap:.2f} s even with the GIL on: a sleeping "
            f"thread holds no GIL while it waits, so the counting thread kept running{cpus}. "
            "This is the one thing the article's example could have shown, and what threads "
            "are for: waiting beside other work.")


def plot_overlap(result: Overlap) -> Figure:
    """The two runs' timelines on one time axis (core :func:`plot_timeline`): the
    serial lane runs the count then the sleep; the threads' lanes run them side by side.
    Each lane is named after the task(s) it ran, read from the records."""
    runs = {"serial": result.serial,
            "2 threads": result.threads}
    fig = plot_timeline(runs)  # finished: in classroom mode its text is already enlarged
    for ax, run in zip(fig.axes, runs.values()):
        lanes = run.worker_ids()
        names = [[] for _ in lanes]
        for record in sorted(run.records, key=lambda r: r.start):
            names[lanes[(record.pid, record.thread)]].append(KINDS[record.task])
        size = ax.get_yticklabels()[0].get_fontsize()  # keep the size finish_figure set
        ax.set_yticks(range(len(names)), [", then ".join(n) for n in names], fontsize=size)
    title = _suptitle(fig)
    title.set_text("The seed's two tasks: one after the other, then side by side")
    fig.tight_layout()
    return fig


def _suptitle(fig: Figure) -> Text:
    """The figure's title, as a Text artist (its size as :func:`finish_figure` left it)."""
    return next(text for text in fig.findobj(Text) if text.get_text() == fig.get_suptitle()
                and text.get_text())


__all__ = ["KINDS", "Overlap", "default_jobs", "describe_overlap", "disturbance",
           "measure_overlap", "plot_overlap", "seed_task"]
