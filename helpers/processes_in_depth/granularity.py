"""Task granularity: how much work one task must carry before processes pay off.

Handing a task to a worker process costs time: the task and its arguments are
pickled, sent through a pipe, unpickled, and the result travels back the same
way. With tiny tasks that overhead is larger than the work itself, and a process
pool is *slower* than a plain loop. Grouping items into chunks — what
``pool.map(function, items, chunksize=c)`` does for you — spreads the overhead
over ``c`` items.

:func:`sweep_chunk_sizes` runs the same items serially (one loop) and on a
process pool in chunks of 1, 4, 16, … items, all through the lab's runner, and
:func:`describe_granularity` derives the rule of thumb from what it measured:
the overhead per task, the work per item, and the smallest chunk that made
processes faster than the loop. The sweep measures the cheapest runs first — the
serial loop, then the largest chunks (fewest tasks) down to chunks of 1 — and reports
after every repeat, so a plot can show a first point within a second or so while the
thousands of one-item tasks come last. "Faster" means what it means everywhere in the lab
(:func:`helpers.core.words.speedup_phrase`): at least :data:`~helpers.core.words.SLIGHTLY`
× the loop's speed. A sweep that other programs disturbed
(:mod:`helpers.core.noise`) is called disturbed, and no rule is drawn from it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from helpers.core.arguments import require_choice, require_int
from helpers.core.colours import REFERENCE_GREY
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.estimates import run_seconds, runner_repeats, task_seconds
from helpers.core.executors import MAX_WORKERS
from helpers.core.experiments import stepped_progress
from helpers.core.guess import check_guess, draw_guess, guess_sentence
from helpers.core.noise import DISTURBED, beyond_ideal, disturbed_sentence
from helpers.core.plots import IDEAL_STYLE, LABEL_SIZE, colour_for, finish_figure
from helpers.core.runner import MAX_TASKS, ProgressCallback, RunResult, run_tasks
from helpers.core.settings import default, resolve_start_method
from helpers.core.system import default_workers, effective_cpu_count
from helpers.core.words import FASTER, SLIGHTLY, Verdict, plural, speedup_phrase
from helpers.core.workloads import count_up
from helpers.processes_in_depth.disturbance import disturbance_lines

MAX_ITEMS = MAX_TASKS
MAX_ITERATIONS = 100_000  # per item: 100,000 additions ≈ 2–5 ms
BEAT = SLIGHTLY  # a pool "beat" the loop when speedup_phrase calls it (slightly) faster
PLAIN_NUMBER = FuncFormatter(lambda value, _: f"{value:g}")  # 20, not 2×10¹


def count_each(iterations: Sequence[int]) -> int:
    """One task carrying a chunk of items: ``count_up(n)`` for each ``n``; the total."""
    return sum(count_up(n) for n in iterations)


def split(items: Sequence[int], chunk_size: int) -> list[list[int]]:
    """``items`` cut into consecutive chunks of ``chunk_size`` (the last may be shorter)."""
    require_int("chunk_size", chunk_size, 1, max(1, len(items)))
    return [list(items[i:i + chunk_size]) for i in range(0, len(items), chunk_size)]


def default_chunk_sizes(items: int, workers: int) -> list[int]:
    """1, 4, 16, … up to one chunk per worker (``items / workers``, rounded up)."""
    largest = max(1, math.ceil(items / workers))
    sizes = [4 ** k for k in range(0, 12) if 4 ** k < largest]
    return sizes + [largest]


@dataclass
class GranularitySweep:
    """The same items run as one serial loop and on a pool in chunks of several sizes."""

    items: int
    iterations: int  # additions per item
    workers: int
    executor: str
    effective_cpus: int
    serial: RunResult  # one task holding every item, in this thread
    runs: dict[int, RunResult] = field(default_factory=dict)  # chunk size -> pool run
    planned: tuple[int, ...] = ()  # every chunk size the sweep will measure (for the axis)

    def speedup(self, chunk_size: int) -> float:
        """Serial wall time ÷ the pool's wall time with this chunk size."""
        return self.serial.wall / self.runs[chunk_size].wall

    def best(self) -> int:
        """The chunk size with the shortest wall time."""
        return min(self.runs, key=lambda size: self.runs[size].wall)

    def ideal(self) -> int:
        """The most the pool could gain over the loop: one item per worker at a time,
        at most one per effective CPU (this work computes)."""
        return max(min(self.workers, self.effective_cpus), 1)

    def disturbances(self) -> list[str]:
        """One sentence per sign that other work disturbed this sweep (each contains
        "disturbed"): a run of :mod:`helpers.core.noise`'s judging, or a speedup above
        :meth:`ideal`. Empty when the sweep can be read as it is."""
        found = disturbance_lines(self._labelled_runs(), self.effective_cpus, "this sweep")
        above = [size for size in sorted(self.runs)
                 if beyond_ideal(self.speedup(size), self.ideal())]
        if above:
            size = max(above, key=self.speedup)
            found.append(disturbed_sentence(
                "this sweep", f"chunks of {size} ran {self.speedup(size):.2f}× the "
                f"loop's speed, more than {plural(self.workers, 'worker')} on "
                f"{plural(self.effective_cpus, 'effective CPU')} can give (at most "
                f"{self.ideal()}×)"))
        return found

    def disturbed(self) -> bool:
        """True when :meth:`disturbances` found any sign of other work."""
        return bool(self.disturbances())

    def _labelled_runs(self) -> list[tuple[str, RunResult]]:
        return [("the serial loop", self.serial)] + [
            (f"chunks of {size}", self.runs[size]) for size in sorted(self.runs)]

    def crossover(self) -> int | None:
        """The smallest chunk size from which every larger one beat the serial loop:
        ran at least :data:`BEAT` × its speed (what :func:`speedup_phrase` calls faster)."""
        winning = None
        for size in sorted(self.runs, reverse=True):
            if self.speedup(size) < BEAT:
                break
            winning = size
        return winning

    def seconds_per_item(self) -> float:
        """The work in one item, measured by the serial loop."""
        return self.serial.wall / self.items

    def overhead_per_task(self) -> float:
        """Extra seconds each task cost, from chunk size 1 against the best chunk size.

        Both runs did the same work; they differ only in how many tasks carried it.
        (The overhead is shared among the workers, so this is per task, as the pool
        experienced it.)
        """
        smallest, best = min(self.runs), self.best()
        extra_tasks = self.runs[smallest].tasks - self.runs[best].tasks
        if extra_tasks <= 0:
            return 0.0
        return max(self.runs[smallest].wall - self.runs[best].wall, 0.0) / extra_tasks


def sweep_chunk_sizes(items: int | None = None, iterations: int | None = None, *,
                      chunk_sizes: Sequence[int] | None = None, workers: int | None = None,
                      executor: str = "processes", repeats: int | None = None,
                      start_method: str | None = None,
                      on_result: Callable[[GranularitySweep], None] | None = None,
                      on_progress: ProgressCallback | None = None) -> GranularitySweep:
    """Run ``items`` items of ``iterations`` additions serially, then in chunks on a pool.

    Defaults: 4,096 items of 1,000 additions (2,048 in quick mode), workers
    as :func:`helpers.core.system.default_workers`, chunk sizes :func:`default_chunk_sizes`.
    The chunk sizes run from the largest (fewest tasks: quick) down to the smallest.
    ``on_result(sweep)`` is called after every repeat of every run (the sweep so far,
    each run's wall time the median of its repeats so far), so a plot can follow along;
    the last call holds the finished sweep.
    """
    items = require_int("items", int(default(4096, 2048)) if items is None else items,
                        1, MAX_ITEMS)
    iterations = require_int("iterations", 1000 if iterations is None
                             else iterations, 1, MAX_ITERATIONS)
    workers = require_int("workers", default_workers() if workers is None else workers,
                          1, MAX_WORKERS)
    require_choice("executor", executor, ("processes", "threads"))
    sizes = sorted({require_int("chunk size", size, 1, items)
                    for size in (chunk_sizes or default_chunk_sizes(items, workers))})
    work = [iterations] * items
    steps = len(sizes) + 1
    cpus = effective_cpu_count()

    def loop_so_far(serial: RunResult) -> None:
        if on_result is not None:
            on_result(GranularitySweep(items, iterations, workers, executor, cpus, serial,
                                       planned=tuple(sizes)))

    serial = run_tasks(count_each, executor="serial", arguments=[work], repeats=repeats,
                       on_progress=stepped_progress(on_progress, 0, steps),
                       on_repeat=loop_so_far)
    sweep = GranularitySweep(items, iterations, workers, executor, cpus, serial,
                             planned=tuple(sizes))
    for index, size in enumerate(reversed(sizes), start=1):
        sweep.runs[size] = run_tasks(count_each, executor=executor, workers=workers,
                                     arguments=split(work, size), repeats=repeats,
                                     start_method=start_method,
                                     on_progress=stepped_progress(on_progress, index, steps),
                                     on_repeat=_so_far(sweep, size, on_result))
        if on_result is not None:
            on_result(sweep)
    return sweep


def estimate_sweep_seconds(items: int, iterations: int, workers: int,
                           executor: str = "processes", repeats: int | None = None) -> float:
    """About how long :func:`sweep_chunk_sizes` takes here with its default chunk sizes:
    the serial loop over every item, then each chunk size's tasks, as many at once as
    :func:`~helpers.core.estimates.run_seconds` allows, each carrying the runner's cost per
    task — which is what makes the smallest chunks slow."""
    repeats, cpus = runner_repeats(repeats), effective_cpu_count()
    item = task_seconds("count", iterations)
    seconds = repeats * items * item  # the loop: one task of every item
    for size in default_chunk_sizes(items, workers):
        seconds += run_seconds(executor, "cpu-bound", task_seconds=size * item,
                               tasks=math.ceil(items / size), workers=workers,
                               repeats=repeats, cpus=cpus)
    return seconds


def _so_far(sweep: GranularitySweep, size: int,
            on_result: Callable[[GranularitySweep], None] | None
            ) -> Callable[[RunResult], None] | None:
    """An ``on_repeat`` for chunk ``size``: the sweep with that run's repeats so far."""
    if on_result is None:
        return None

    def report(partial: RunResult) -> None:
        sweep.runs[size] = partial
        on_result(sweep)

    return report


def check_chunk_guess(guess: object) -> float | None:
    """A guessed best chunk size: ``None`` (or ``...``) for none, else 1 … :data:`MAX_ITEMS`
    (``ValueError`` naming ``guess`` otherwise)."""
    return check_guess("guess", guess, 1, MAX_ITEMS)


def describe_granularity(sweep: GranularitySweep, guess: float | None = None) -> Verdict:
    """What the sweep measured, in words: slowest and best chunk, the crossover, the rule.

    A disturbed sweep (:meth:`GranularitySweep.disturbances`) is called disturbed, with
    what was seen; no overhead, crossover or rule is drawn from it. With a ``guess`` of
    the fastest chunk size, a third sentence compares it with the measured best."""
    guess = check_chunk_guess(guess)
    smallest, best = min(sweep.runs), sweep.best()
    lines = [f"The serial loop did {sweep.items:,} items in {sweep.serial.wall * 1000:.0f} ms "
             f"({sweep.seconds_per_item() * 1e6:.0f} µs of work per item).",
             f"With chunks of {smallest} ({sweep.runs[smallest].tasks:,} tasks) the "
             f"{sweep.executor} were {speedup_phrase(sweep.speedup(smallest), 'the loop')}; "
             f"with chunks of {best} ({plural(sweep.runs[best].tasks, 'task')}) "
             f"{speedup_phrase(sweep.speedup(best), 'the loop')}."]
    disturbances = sweep.disturbances()
    if guess is not None:
        lines.append(guess_sentence(guess, best, quantity="the fastest chunk size",
                                    unit=" items per task", digits=0,
                                    disturbed=bool(disturbances)))
    if disturbances:
        lines.extend(disturbances)
        lines.append(f"This sweep was **{DISTURBED}**, so no cost per task and no rule of "
                     "thumb is drawn from it: press **Run** again when the machine is quieter.")
        return Verdict(tuple(lines))
    crossover = sweep.crossover()
    overhead = sweep.overhead_per_task()
    if overhead > 0:
        items = overhead / sweep.seconds_per_item()
        lines.append(f"Each extra task cost about **{overhead * 1e6:.0f} µs** of overhead "
                     f"here — as much as {items:.1f} items of work.")
    lines.append(_verdict(sweep, crossover, overhead))
    return Verdict(tuple(lines))


def _verdict(sweep: GranularitySweep, crossover: int | None, overhead: float) -> str:
    """The sentence that says what to conclude, from the shape of an undisturbed sweep."""
    best = sweep.best()
    if sweep.effective_cpus == 1:
        return ("With 1 effective CPU the workers take turns on it: no chunk size can make "
                "processes faster than the loop, and every task adds its overhead. On a "
                "machine with 2 or more CPUs, large enough chunks can win.")
    if sweep.speedup(best) < BEAT:
        return (f"No chunk size made the pool faster than the loop here (at least {BEAT}× its "
                "speed): the whole job is too small to share out. Raise the items or the "
                "work per item.")
    if crossover is None:
        larger = [size for size in sweep.runs if size > best]
        return (f"Chunks of {best} were the fastest, but larger chunks "
                f"({', '.join(map(str, larger))}) did not beat the loop (at least {BEAT}× "
                f"its speed): with only {plural(sweep.runs[max(sweep.runs)].tasks, 'task')}, "
                "one slow task decides the whole run. Press **Run** again to see whether "
                "that repeats.")
    if sweep.speedup(best) < FASTER:
        return (f"From chunks of **{crossover}** items on, the pool beat the loop, but even "
                f"the best chunk size was only slightly faster (under {FASTER}×): the job is "
                "close to too small to share out; more work per item would show a clearer "
                "gain.")
    per_task = crossover * sweep.seconds_per_item()
    return (f"From chunks of **{crossover}** items (about {per_task * 1000:.1f} ms of work "
            "per task) on, the pool beat the loop. **Rule of thumb from this measurement:** "
            f"give each task at least ~{_rule(overhead):.0f} ms of work — ten times the "
            "per-task overhead — and no more tasks than a few per worker.")


def _rule(overhead: float) -> float:
    """Ten times the measured per-task overhead, in milliseconds, at least 1 ms."""
    return max(1.0, 10 * overhead * 1000)


def plot_granularity(sweep: GranularitySweep, guess: float | None = None) -> Figure:
    """Wall time against chunk size (log scales, labelled), with the serial loop, the
    line under which a chunk size beat it, and the ideal; with a ``guess``, a vertical
    line at the guessed fastest chunk size. A sweep still running shows what it has
    measured so far on the axis of every planned chunk size."""
    guess = check_chunk_guess(guess)
    fig, ax = plt.subplots(figsize=(7, 4))
    sizes = sorted(sweep.runs)
    axis = sorted(set(sweep.planned) | set(sizes))
    loop = sweep.serial.wall * 1000
    ax.plot(sizes, [sweep.runs[s].wall * 1000 for s in sizes], marker="o",
            color=colour_for(sweep.executor), label=f"{sweep.executor} "
            f"({plural(sweep.workers, 'worker')})")
    ax.axhline(loop, color=colour_for("serial"), linewidth=2, label="serial loop")
    ax.axhline(loop / BEAT, color=REFERENCE_GREY, linestyle=":", linewidth=1.5,
               label=f"beats the loop below this (loop ÷ {BEAT})")
    ax.axhline(loop / sweep.ideal(), label=f"ideal (loop ÷ {sweep.ideal()})", **IDEAL_STYLE)
    for size in sizes:
        ax.annotate(f"{sweep.runs[size].tasks:,} tasks", (size, sweep.runs[size].wall * 1000),
                    xytext=(0, 6), textcoords="offset points", ha="center",
                    fontsize=LABEL_SIZE)
    draw_guess(ax, guess, along="x")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ends = axis + ([guess] if guess is not None else [])
    ax.set_xlim(min(ends) / 1.5, max(ends) * 1.5)
    ax.set_xticks(axis, [str(size) for size in axis])
    ax.yaxis.set_major_formatter(PLAIN_NUMBER)
    ax.yaxis.set_minor_formatter(PLAIN_NUMBER)
    ax.margins(y=0.15)
    ax.set_xlabel("items per task (chunk size, log scale)")
    ax.set_ylabel("wall time (ms, log scale)")
    title = f"{sweep.items:,} items of {sweep.iterations:,} additions: how big should a task be?"
    if sweep.disturbed():
        title += f"\n({DISTURBED} by other work: run it again)"
    ax.set_title(title)
    ax.legend(fontsize=LABEL_SIZE)
    return finish_figure(fig)


class ChunkLab(RunPanel):
    """A widget: pick the items, the work per item and the workers; press Run.

    The plot redraws as results arrive (the serial loop first, then the largest chunks);
    ``lab.sweep`` keeps the latest result. Sliders are bounded (at most 4,096 items of
    100,000 additions), and the line above Run says how long a Run takes here: one over
    the lab's limit (the largest items and additions together, on most machines) is
    refused before it starts. ``guess``: your guess of the fastest chunk size
    (1 … 4,096, or ``None``), drawn on the plot and compared in the words.
    """

    def __init__(self, items: int | None = None, iterations: int | None = None,
                 workers: int | None = None, start_method: str | None = None,
                 guess: float | None = None) -> None:
        self.guess = check_chunk_guess(guess)
        most_workers = min(MAX_WORKERS, max(4, 2 * effective_cpu_count()))
        # checked now (a typo fails here, not at Run); None: the lab's default at Run
        self.start_method = start_method and resolve_start_method(start_method)
        self.items = bounded_slider("items", int(default(4096, 2048)) if items is None else items,
                                    16, MAX_ITEMS, 16, width="380px")
        self.iterations = bounded_slider("additions per item",
                                         1000 if iterations is None else iterations, 100,
                                         MAX_ITERATIONS, 100, width="380px")
        self.workers = bounded_slider("workers", min(default_workers(), most_workers)
                                      if workers is None else workers,
                                      1, most_workers, width="380px")
        self.sweep: GranularitySweep | None = None
        super().__init__([widgets.HBox([self.items, self.iterations]), self.workers])

    advice = "lower the items or the additions per item"

    def estimate(self) -> float:
        """About how many seconds a Run with the sliders as they are takes here."""
        return estimate_sweep_seconds(self.items.value, self.iterations.value,
                                      self.workers.value)

    def run(self) -> GranularitySweep | None:
        """Sweep the chunk sizes with the current settings."""
        sweep = self.guarded(lambda on_progress: sweep_chunk_sizes(
            self.items.value, self.iterations.value, workers=self.workers.value,
            start_method=self.start_method, on_progress=on_progress,
            on_result=self.live(lambda partial: plot_granularity(partial, self.guess))))
        if sweep is not None:
            self.sweep = sweep
            self.words.value = describe_granularity(sweep, self.guess)._repr_html_()
        return sweep
