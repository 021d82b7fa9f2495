"""Notebook 08's measurements: what Dask costs per task, and what moving data costs.

* :func:`measure_overhead` runs the same tiny and large tasks on a process pool
  and on a Dask cluster (through the lab's runner), so the price of a scheduler
  shows per task, and where it stops mattering.
* :func:`measure_scatter` sends a large array with every task, then places it on
  the workers once with ``client.scatter`` and sends only a reference.
* :func:`describe_finish_order` says what ``as_completed`` showed.
* The two self-checks for the notebook's exercises, and its Key points.
"""
from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.core.arguments import require_int
from helpers.core.experiments import Comparison, compare
from helpers.core.memory import MIB, require_memory
from helpers.core.noise import (
    DISTURBED,
    MachineLoad,
    beyond_ideal,
    busy_sentence,
    cpus_wanted,
    disturbed_sentence,
    repeats_disagree,
    run_disturbance,
    run_disturbed,
    watch_load,
)
from helpers.core.plots import IDEAL_STYLE, LABEL_SIZE, colour_for, finish_figure
from helpers.core.runner import ProgressCallback
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    inconclusive,
    not_answered,
    not_yet,
)
from helpers.core.settings import default
from helpers.core.system import default_workers, effective_cpu_count
from helpers.core.words import (
    FASTER,
    Verdict,
    comparison_disturbance,
    plural,
    speedup_phrase,
)
from helpers.core.workloads import count_primes, get_workload
from helpers.processes_in_depth.data_movement import array_checksum, make_array

TINY_SIZE = get_workload("count").min_size  # 10,000 additions: well under a millisecond
OVERHEAD_KINDS = ("serial", "processes", "dask")


@dataclass(frozen=True)
class OverheadStudy:
    """The same kinds on many tiny tasks and on a few large ones."""

    tiny: Comparison
    large: Comparison

    def per_task_ms(self, kind: str) -> float:
        """Milliseconds of wall time per tiny task, counted per worker: how long one
        worker is busy with a task that itself needs almost nothing."""
        run = self.tiny.runs[kind]
        return 1000 * run.wall * run.workers / run.tasks

    def overhead_ms(self, kind: str) -> float:
        """Per-task cost beyond the work itself (the serial run's time per task)."""
        return max(self.per_task_ms(kind) - self.per_task_ms("serial"), 0.0)

    def large_task_ms(self) -> float:
        """How long one large task takes serially, in milliseconds."""
        run = self.large.runs["serial"]
        return 1000 * run.wall / run.tasks


def measure_overhead(workers: int | None = None, *, tiny_tasks: int | None = None,
                     large_tasks: int | None = None, repeats: int | None = None,
                     start_method: str | None = None,
                     on_progress: ProgressCallback | None = None) -> OverheadStudy:
    """Run ``tiny_tasks`` tiny and ``large_tasks`` large count tasks on each kind."""
    workers = require_int("workers", default_workers() if workers is None else workers, 1, 16)
    if tiny_tasks is None:
        tiny_tasks = int(default(400, 120))
    tiny_tasks = require_int("tiny_tasks", tiny_tasks, 10, 4096)
    large_tasks = require_int("large_tasks", 2 * workers if large_tasks is None else large_tasks,
                              1, 64)
    options = {"workers": workers, "repeats": repeats, "start_method": start_method}
    tiny = compare("count", OVERHEAD_KINDS, tasks=tiny_tasks, size=TINY_SIZE,
                   on_progress=_half(on_progress, 0), **options)
    large = compare("count", OVERHEAD_KINDS, tasks=large_tasks,
                    on_progress=_half(on_progress, 1), **options)
    return OverheadStudy(tiny, large)


def _half(on_progress: ProgressCallback | None, index: int) -> ProgressCallback | None:
    """Report progress of part ``index`` (0 or 1) of two as one bar from 0 to 100."""
    if on_progress is None:
        return None
    return lambda done, total: on_progress(50 * index + 50 * done // total, 100)


def overhead_disturbance(study: OverheadStudy) -> str:
    """Sentences (with "disturbed") for each disturbed part of ``study``, or ``''``: a
    disturbed run (:mod:`helpers.core.noise`), or a large-task gain above the ideal."""
    # the tiny part as describe_overhead judges it: a disturbed run, or (a pool faster than
    # serial beyond what the CPUs allow) a slow serial baseline
    tiny = _first_disturbance(study.tiny, "tiny tasks")
    if not tiny and (beyond := comparison_disturbance(study.tiny)):
        tiny = f"Tiny tasks — {beyond[0].lower()}{beyond[1:]}"
    said = [text for text in (tiny, _first_disturbance(study.large, "large tasks")) if text]
    ideal = _most_possible(study.large)
    for kind in ("processes", "dask"):
        gain = study.large.speedup(kind)
        if beyond_ideal(gain, ideal):
            said.append(disturbed_sentence(
                f"the large-task measurement of {kind}",
                f"{kind} measured {gain:.1f}×, more than {plural(ideal, 'CPU')} can give"))
    return " ".join(said)


def _first_disturbance(comparison: Comparison, what: str) -> str:
    """The first disturbed run's sentence (:func:`helpers.core.noise.run_disturbance`),
    and how many more were — or ``''``."""
    said = [text for name, run in comparison.runs.items()
            if (text := run_disturbance(run, comparison.effective_cpus, f"{name} on {what}"))]
    more = f" ({plural(len(said) - 1, 'other run')} of it too.)" if len(said) > 1 else ""
    return said[0] + more if said else ""


def describe_overhead(study: OverheadStudy) -> Verdict:
    """What a scheduler costs per task, and whether it still matters for large tasks —
    or, when the measurement was disturbed, only that (no mechanism)."""
    dask, pool = study.overhead_ms("dask"), study.overhead_ms("processes")
    ratio = f"{dask / pool:.1f}× the process pool's {pool:.2f} ms" if pool > 0.01 else (
        f"the process pool's was too small to measure ({pool:.2f} ms)")
    tiny_disturbed = bool(comparison_disturbance(study.tiny))
    lines = [f"Tiny tasks: Dask added about **{dask:.2f} ms per task**, {ratio}"
             + (" (disturbed: see below)." if tiny_disturbed else
                ": each task goes through the scheduler, which picks a worker and records it."),
             f"Large tasks ({study.large_task_ms():.0f} ms each): Dask ran "
             f"{speedup_phrase(study.large.speedup('dask'))}, the process pool "
             f"{speedup_phrase(study.large.speedup('processes'))}."]
    disturbance = overhead_disturbance(study)
    if disturbance:
        lines.append(disturbance)
    elif max(study.large.speedup("dask"), study.large.speedup("processes")) < FASTER:
        lines.append(why_no_speedup(study.large))
    if dask > 0:
        lines.append(f"Rule of thumb from your numbers{' (disturbed ones)' * tiny_disturbed}: "
                     f"give each Dask task at least {10 * dask:.0f} ms of work to keep its "
                     "overhead under 10 %.")
    return Verdict(tuple(lines))


def _most_possible(large: Comparison) -> int:
    """The largest speedup the large tasks can show: CPUs, workers and tasks all limit it."""
    run = large.runs["dask"]
    return max(1, min(large.effective_cpus, run.workers, run.tasks))


def why_no_speedup(large: Comparison) -> str:
    """Why neither pool beat serial on the large (undisturbed) tasks: one CPU — or, with
    more, that this run cannot say."""
    if large.effective_cpus == 1:
        return ("Neither ran the large tasks in parallel: with 1 effective CPU, no pool can "
                "compute two tasks at the same moment — what you see is each one's overhead.")
    busy = max(large.runs["dask"].utilisation, large.runs["processes"].utilisation)
    return (f"Neither beat serial on the large tasks although {large.effective_cpus} "
            f"effective CPUs were there (at most {busy:.1f} busy on this work), and no other "
            "program was measured taking them: this run cannot say why. Run the cell again.")


def plot_overhead(study: OverheadStudy) -> Figure:
    """Left: ms per tiny task. Right: speedup on large tasks, with the ideal. Every bar
    carries its value, and "disturbed" when its run was."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    kinds = list(study.tiny.runs)
    per_task = [study.per_task_ms(k) for k in kinds]
    left.bar(kinds, per_task, color=[colour_for(k) for k in kinds])
    _label_bars(left, per_task, "{:.2f} ms", study.tiny, kinds)
    left.set(title=f"Tiny tasks ({study.tiny.baseline.tasks} × count to {TINY_SIZE:,})",
             xlabel="executor", ylabel="time per task per worker (ms)")
    speedups = [study.large.speedup(k) for k in kinds]
    right.bar(kinds, speedups, color=[colour_for(k) for k in kinds])
    _label_bars(right, speedups, "{:.2f}×", study.large, kinds)
    ideal = _most_possible(study.large)
    right.axhline(ideal, **IDEAL_STYLE, label=f"ideal: {ideal}× ({plural(ideal, 'CPU')} busy)")
    right.set_ylim(0, max([ideal, *speedups]) * 1.3)
    right.legend(loc="upper left", fontsize=LABEL_SIZE)
    right.set(title=f"Large tasks ({study.large_task_ms():.0f} ms each)",
              xlabel="executor", ylabel="speedup over serial (×)")
    left.set_ylim(0, max(per_task) * 1.3)
    return finish_figure(fig)


def _label_bars(ax: Axes, values: list[float], form: str, comparison: Comparison,
                kinds: list[str]) -> None:
    """Each bar's value above it, and "(disturbed)" under it when its run was."""
    for i, (kind, value) in enumerate(zip(kinds, values)):
        disturbed = run_disturbed(comparison.runs[kind], comparison.effective_cpus)
        ax.annotate(form.format(value) + (f"\n({DISTURBED})" if disturbed else ""),
                    (i, value), ha="center", va="bottom", fontsize=LABEL_SIZE)


@dataclass(frozen=True)
class ScatterResult:
    """Seconds per batch of tasks, sending the array each time vs scattering it once."""

    mebibytes: int
    tasks: int
    sent_s: float
    scattered_s: float
    dask_warning: str | None = None  # what Dask itself said about the large arguments
    load: MachineLoad | None = None  # what other programs did meanwhile
    sent_all: tuple[float, ...] = ()  # every repeat's seconds, for the spread
    scattered_all: tuple[float, ...] = ()
    workers: int = 1  # the cluster's workers: the CPUs the transfers could keep busy

    @property
    def gain(self) -> float:
        return self.sent_s / self.scattered_s


def measure_scatter(client, mebibytes: int | None = None, *, tasks: int | None = None,
                    repeats: int | None = None, timeout: float = 120) -> ScatterResult:
    """Time ``tasks`` checksums of one array: sent with each task, then scattered once.

    Scattering copies the array to the workers ahead of time (``broadcast=True``:
    to every worker) and gives back a future that tasks receive instead of the data.
    """
    if mebibytes is None:
        mebibytes = int(default(32, 8))  # × tasks copies in flight: keep the total modest
    tasks = require_int("tasks", 6 if tasks is None else tasks, 1, 64)
    repeats = require_int("repeats", int(default(3, 1)) if repeats is None else repeats, 1, 10)
    mebibytes = require_memory("mebibytes", mebibytes, 1, 256,  # checked before allocating
                               lambda size: scatter_memory_needed(size, tasks),
                               unit=f" MiB with {tasks} tasks")
    array = make_array(mebibytes)
    expected = array_checksum(array)
    batches = {"sent": partial(_send_with_every_task, client, array, tasks),
               "scattered": partial(_scatter_once, client, array, tasks)}
    with warnings.catch_warnings(record=True) as caught, watch_load() as watch:
        warnings.simplefilter("always")
        times = _time_in_turn(batches, repeats, expected, timeout)
    said = [str(w.message).splitlines()[0] for w in caught if "large" in str(w.message)]
    workers = max(sum(client.nthreads().values()), 1)  # worker threads: CPUs they could use
    return ScatterResult(mebibytes, tasks, statistics.median(times["sent"]),
                         statistics.median(times["scattered"]), said[0] if said else None,
                         watch.load, tuple(times["sent"]), tuple(times["scattered"]), workers)


def scatter_memory_needed(mebibytes: int, tasks: int) -> int:
    """About how many bytes :func:`measure_scatter` adds at its peak: (2 × tasks + 2) copies
    of the array — two for every task that carries it (the pickled one the client sends,
    the one the worker unpacks), and two for the array here and what was scattered. Fitted
    to measurements (2 workers, fork, summed PSS): 32 MiB × 6 tasks → 0.6 GiB; 256 MiB × 6
    tasks → 3.4 GiB; 256 MiB × 64 tasks passed 8 GiB."""
    return (2 * tasks + 2) * mebibytes * MIB


def _send_with_every_task(client, array: np.ndarray, tasks: int) -> list:
    """Submit ``tasks`` checksums of ``array``, the array itself going with each task."""
    return [client.submit(array_checksum, array, pure=False) for _ in range(tasks)]


def _scatter_once(client, array: np.ndarray, tasks: int) -> list:
    """Place ``array`` on every worker once, then submit ``tasks`` checksums of it that
    receive only a reference (a future) to it."""
    [remote] = client.scatter([array], broadcast=True)
    return [client.submit(array_checksum, remote, pure=False) for _ in range(tasks)]


def _time_in_turn(batches: dict[str, Callable[[], list]], repeats: int, expected: float,
                  timeout: float) -> dict[str, list[float]]:
    """Submit each batch of tasks in turn, ``repeats`` rounds, and wait for its results
    (each must be ``expected``): the seconds each batch took, by name."""
    times: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(repeats):
        for name, submit in batches.items():
            start = time.perf_counter()
            results = [future.result(timeout=timeout) for future in submit()]
            times[name].append(time.perf_counter() - start)
            if not all(np.isclose(r, expected) for r in results):
                raise RuntimeError("a worker computed a different checksum")
    return times


def scatter_disturbance(result: ScatterResult, effective_cpus: int | None = None) -> str:
    """A sentence with "disturbed" when other programs took the CPUs the transfers could use,
    or the repeats disagree; ``''`` otherwise."""
    cpus = effective_cpu_count() if effective_cpus is None else effective_cpus
    wanted = cpus_wanted(result.workers, result.tasks, cpus)
    said = busy_sentence(result.load, wanted, "the batches")
    if said:
        return said
    for name, walls in (("sent", result.sent_all), ("scattered", result.scattered_all)):
        if repeats_disagree(walls):
            return disturbed_sentence(f"the timing of the {name} batches", "their repeats "
                                      f"took from {min(walls):.2f} s to {max(walls):.2f} s")
    return ""


def _a(number: int) -> str:
    """``number`` with its article as spoken: "an 8", "an 18", "a 32"."""
    digits = str(number)
    vowel = digits.startswith("8") or (len(digits) in (2, 5) and digits[:2] in ("11", "18"))
    return f"{'an' if vowel else 'a'} {number}"


def describe_scatter(result: ScatterResult, effective_cpus: int | None = None) -> str:
    """One sentence: the gain (or not) of placing data on the workers once — or, when the
    measurement was disturbed, that it was."""
    head = (f"{result.tasks} tasks on {_a(result.mebibytes)} MiB array: sent with every task "
            f"{result.sent_s:.2f} s, scattered once {result.scattered_s:.2f} s — ")
    disturbance = scatter_disturbance(result, effective_cpus)
    if disturbance:
        text = head + f"{result.gain:.2f}×. " + disturbance
    elif result.gain >= FASTER:
        text = head + (f"scattering was {result.gain:.1f}× faster: the data crossed to the "
                       "workers once instead of once per task.")
    else:
        text = head + ("no clear gain here: the array is small enough that copying it is "
                       f"cheap ({result.gain:.2f}×). Try `measure_scatter(session.client, 64)`.")
    if result.dask_warning:
        text += (" Dask itself warned when the array went with each task: "
                 f"“{result.dask_warning}”")
    return text


def describe_finish_order(submitted: list[int], finished: list[int], workers: int) -> str:
    """What ``as_completed`` showed: the limits in the order they finished, set against the
    order they were submitted in (larger limits take longer)."""
    text = f"Finished in this order: {', '.join(f'{limit:,}' for limit in finished)}. "
    if list(finished) == list(submitted):
        return text + (f"That is the submission order: with {plural(workers, 'worker')} "
                       "each taking the next task when free, and every task a little longer "
                       "than the one before, none overtook another this time. Run the cell "
                       "again: the order may change.")
    early = [limit for position, limit in enumerate(finished)
             if position < submitted.index(limit)]
    return text + (f"Not the submission order: {', '.join(f'{limit:,}' for limit in early)} "
                   "finished before a task submitted earlier — each worker takes the next task "
                   "when it is free, and a result is yielded as soon as it is ready.")


def check_primes_by_limit(answer: object, limits: list[int]) -> CheckResult:
    """Exercise 1: ``answer`` maps each limit to ``count_primes(limit)``."""
    if blank(answer):
        return not_answered("fill the dict `primes` (limit → count) from a cluster with "
                            "`as_completed`, then run this cell again.")
    if not isinstance(answer, Mapping):
        return not_yet(f"expected a dict, got {type(answer).__name__}.",
                       "start with `primes = {}` and fill it in the as_completed loop.")
    values = list(answer.values())
    if any(hasattr(v, "result") and hasattr(v, "key") for v in values):
        return not_yet("the dict holds Dask futures, not numbers.",
                       "store `future.result()`, not the future itself.")
    if set(answer) != set(limits):
        return not_yet(f"the keys are {sorted(answer, key=str)}, not the limits "
                       f"{sorted(limits)}.", "as_completed yields futures in the order they "
                       "finish: keep a dict {future: limit} to know which limit a finished "
                       "future belongs to.")
    return first_problem([
        (all(answer[k] == count_primes(k) for k in limits),
         "some counts are wrong.", "submit `count_primes(limit)`, one task per limit."),
    ], f"All {len(limits)} counts are right, collected as they finished.")


EXERCISE_ITEMS = 4_000  # tiny tasks (count to TINY_SIZE) that exercise 2 groups into chunks


@dataclass(frozen=True)
class ChunkBounds:
    """What ``study`` says about grouping ``items`` tiny tasks into Dask tasks of a chunk."""

    per_item_ms: float  # one tiny task's own work (the serial run's time per task)
    overhead_ms: float  # what Dask adds to every task it runs
    workers: int
    items: int

    @property
    def fewest(self) -> int:
        """The smallest chunk whose work is at least 10 × Dask's overhead."""
        return max(1, math.ceil(10 * self.overhead_ms / self.per_item_ms))

    @property
    def most(self) -> int:
        """The largest chunk that still gives every worker two Dask tasks."""
        return max(1, self.items // (2 * self.workers))

    def overhead_share(self, chunk: int) -> float:
        """Dask's overhead as a fraction of one chunk's work."""
        return self.overhead_ms / (chunk * self.per_item_ms)


def chunk_bounds(study: OverheadStudy, items: int = EXERCISE_ITEMS) -> ChunkBounds:
    return ChunkBounds(study.per_task_ms("serial"), study.overhead_ms("dask"),
                       study.tiny.runs["dask"].workers, items)


def check_chunk(answer: object, study: OverheadStudy, items: int = EXERCISE_ITEMS
                ) -> CheckResult:
    """Exercise 2: a chunk of tiny tasks per Dask task that pays for Dask's overhead (at
    most 10 % of the chunk's work) and still gives every worker at least two Dask tasks —
    judged by the learner's own section-4 measurement (``study``). A disturbed measurement
    still judges the reasoning from those numbers, and the words say it was disturbed."""
    if blank(answer):
        return not_answered("set `chunk` to how many tiny tasks one Dask task should run, "
                            "then run this cell again.")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 1 <= answer <= items:
        return not_yet(f"expected a whole number of tiny tasks from 1 to {items:,}, got "
                       f"{answer!r}.", "`chunk` counts tiny tasks per Dask task.")
    bounds = chunk_bounds(study, items)
    seen = (f"section 4 measured {bounds.per_item_ms:.2f} ms of work per tiny task and "
            f"{bounds.overhead_ms:.2f} ms of Dask overhead per task")
    note = (" (Those numbers were **disturbed**, section 4 says how: the reasoning holds, "
            "the values are not to rely on; run section 4 again for better ones.)"
            if comparison_disturbance(study.tiny) else "")
    if bounds.fewest > bounds.most:
        return inconclusive(f"{seen}: at that cost no chunk of {items:,} tiny tasks both "
                            f"keeps the overhead under 10 % (≥ {bounds.fewest:,} per chunk) "
                            f"and gives {plural(bounds.workers, 'worker')} two Dask tasks "
                            f"each (≤ {bounds.most:,}). Run section 4 again, then this cell.")
    tasks = math.ceil(items / answer)
    return first_problem([
        (answer >= bounds.fewest, f"with {answer:,} per Dask task, Dask's "
         f"{bounds.overhead_ms:.2f} ms is {100 * bounds.overhead_share(answer):.0f} % of the "
         f"{answer * bounds.per_item_ms:.1f} ms of work it carries{note}.",
         "the overhead is paid once per Dask task, whatever it carries: put more tiny tasks "
         "in each (how many make the work 10 × the overhead?)."),
        (answer <= bounds.most, f"{items:,} tiny tasks in chunks of {answer:,} make "
         f"{plural(tasks, 'Dask task')} for {plural(bounds.workers, 'worker')}: some worker "
         f"gets fewer than two, or none{note}.", "fewer, larger chunks cost less overhead, but "
         "only as many can run at once as there are chunks: keep two per worker."),
    ], f"{answer:,} per chunk: {plural(tasks, 'Dask task')} of about "
       f"{answer * bounds.per_item_ms:.0f} ms each ({seen}): the overhead is "
       f"{100 * bounds.overhead_share(answer):.0f} % of each, and each of the "
       f"{plural(bounds.workers, 'worker')} gets at least two — any chunk from "
       f"{bounds.fewest:,} to {bounds.most:,} does both.{note}")


def key_points(study: OverheadStudy, moved: ScatterResult, left: Mapping[str, list]) -> str:
    """The notebook's Key points, as Markdown bullets; those stating a result come from
    this run's measurements (and say "disturbed" when they were)."""
    dask = study.overhead_ms("dask")
    disturbed = bool(comparison_disturbance(study.tiny))
    gain = ("a **disturbed** measurement" if scatter_disturbance(moved) else
            f"{moved.gain:.1f}× faster than sending it with every task" if moved.gain >= FASTER
            else f"no clear gain at {moved.mebibytes} MiB ({moved.gain:.2f}×)")
    closed = ("nothing it started was left: no process, thread, port or scratch file"
              if not any(left.values()) else f"something was still running: {dict(left)}")
    return "\n".join([
        "- A Dask cluster is a scheduler and workers; a `LocalCluster` runs them as processes "
        "here, each with its own GIL, and the same code runs on a real cluster given its "
        "address.",
        f"- Every Dask task paid about {dask:.2f} ms of scheduling here"
        + (" (a **disturbed** measurement)" if disturbed else "")
        + f": give a task at least ~{10 * dask:.0f} ms of work — group tiny ones — and keep "
        "at least two tasks per worker.",
        "- `as_completed` yields results in the order they finish, not the order submitted.",
        f"- `scatter` placed {_a(moved.mebibytes)} MiB array on the workers once: {gain}.",
        f"- Close the cluster: after `session.close()`, {closed}.",
    ])


