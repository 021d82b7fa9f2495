"""The seed's "scientific simulations", measured: particles diffusing on a line.

The seed article lists *parallelizing CPU-intensive computations, such as scientific
simulations* as a job for processes. Here is a small one: ``walkers`` particles each
take ``steps`` random steps of ±1. Diffusion predicts that their mean squared
displacement after ``steps`` steps is about ``steps``.

It is written twice, drawing exactly the same random numbers, so both versions return
exactly the same answer:

* :func:`walk_python` — loops over Python integers. It holds the GIL all the time.
* :func:`walk_numpy` — the same arithmetic on blocks of walkers at once, with numpy's
  element-wise operations only (``multiply``, ``add``, ``right_shift``). numpy releases
  the GIL inside such loops over large arrays, so other threads can run meanwhile. These
  operations never call BLAS (the linear-algebra library that may start threads of its
  own, for ``@`` or ``dot``): numpy computes them on the calling thread, so the only
  parallelism measured is the lab's workers.

The random numbers: each walker has its own 64-bit linear congruential generator (Knuth's
MMIX constants), seeded from the walker's number with splitmix64; a step is +1 when the
generator's top bit is 1, else -1. numpy's ``uint64`` arithmetic wraps around at 2**64
exactly as ``& MASK`` does for Python integers.

:func:`measure_simulation` runs both versions serially, in threads and in processes
(:func:`helpers.core.experiments.compare`, so warm-up, repeats, median, CPU time);
:func:`describe_simulation` says what was measured, and :func:`plot_simulation` shows it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from helpers.core.arguments import require_int
from helpers.core.executors import MAX_WORKERS
from helpers.core.experiments import Comparison, compare
from helpers.core.noise import beyond_ideal, disturbed_sentence, run_disturbance, run_disturbed
from helpers.core.runner import MAX_REPEATS, MAX_TASKS, ProgressCallback, RunResult
from helpers.core.settings import default
from helpers.core.system import gil_enabled
from helpers.core.words import FASTER, PARALLEL, Verdict, plural

if TYPE_CHECKING:  # matplotlib is imported only when a plot is drawn: children stay light
    from matplotlib.figure import Figure

STEPS = 200  # steps per walker: the mean squared displacement should come out near this
MAX_STEPS = 10_000
MAX_SEED = 2**31 - 1
MULTIPLIER = 6364136223846793005  # Knuth's MMIX linear congruential generator
INCREMENT = 1442695040888963407
MASK = 2**64 - 1  # Python integers do not wrap: keep the low 64 bits, as uint64 does
BLOCK = 32_768  # walkers per numpy block: three arrays of 256 KiB stay in the CPU's cache
EXECUTORS = ("serial", "threads", "processes")
PYTHON, NUMPY = "pure Python", "numpy"


# --- the simulation, twice --------------------------------------------------------------

def _check(walkers: int, steps: int, seed: int, most_walkers: int) -> None:
    require_int("walkers", walkers, 1, most_walkers)
    require_int("steps", steps, 1, MAX_STEPS)
    require_int("seed", seed, 0, MAX_SEED)


def _first_state(number: int) -> int:
    """splitmix64 of ``number``: a well-mixed starting state for one walker's generator."""
    z = (number + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def walk_python(walkers: int, steps: int = STEPS, seed: int = 0) -> int:
    """Walk ``walkers`` particles ``steps`` random ±1 steps in pure Python; return the sum
    of their squared final positions (divide by ``walkers`` for the mean).

    At most 200,000 walkers. Every operation is Python bytecode: the GIL is held all along.
    """
    _check(walkers, steps, seed, PYTHON_WALKERS[1])
    total = 0
    for walker in range(walkers):
        state, ups = _first_state((seed << 32) + walker), 0
        for _ in range(steps):
            state = (state * MULTIPLIER + INCREMENT) & MASK
            ups += state >> 63  # the top bit: 1 means a step up
        position = 2 * ups - steps
        total += position * position
    return total


def walk_numpy(walkers: int, steps: int = STEPS, seed: int = 0) -> int:
    """:func:`walk_python`'s walk with numpy, :data:`BLOCK` walkers at a time: the same
    random numbers, the same result. At most 20,000,000 walkers.

    Each step is four element-wise operations on arrays of up to 32,768 numbers; numpy
    releases the GIL while it loops over them.
    """
    _check(walkers, steps, seed, NUMPY_WALKERS[1])
    total = 0
    for first in range(0, walkers, BLOCK):
        numbers = np.arange(first, min(first + BLOCK, walkers), dtype=np.uint64)
        state = _first_states(numbers + np.uint64(seed << 32))
        ups, bit = np.zeros_like(state), np.empty_like(state)
        multiplier, increment, top = np.uint64(MULTIPLIER), np.uint64(INCREMENT), np.uint64(63)
        for _ in range(steps):
            np.multiply(state, multiplier, out=state)  # wraps at 2**64, like & MASK
            np.add(state, increment, out=state)
            np.right_shift(state, top, out=bit)
            np.add(ups, bit, out=ups)
        positions = 2 * ups.astype(np.int64) - steps
        total += int((positions * positions).sum())
    return total


def _first_states(numbers: np.ndarray) -> np.ndarray:
    """:func:`_first_state` of every number, with numpy (``uint64`` wraps like ``& MASK``)."""
    z = numbers + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


PYTHON_WALKERS = (1, 200_000)  # allowed walkers per task, pure Python
NUMPY_WALKERS = (1, 20_000_000)  # numpy: its memory stays one block whatever the number
VERSIONS: dict[str, Callable[[int], int]] = {PYTHON: walk_python, NUMPY: walk_numpy}


def default_walkers(version: str) -> int:
    """Walkers per task: about 0.4 s of work per task on a laptop (a quarter in quick mode).
    numpy does one particle step about 200 times faster, so it gets 200 times more walkers."""
    if version == PYTHON:
        return int(default(10_000, 2_500))
    if version == NUMPY:
        return int(default(2_000_000, 500_000))
    raise ValueError(f"version must be one of {list(VERSIONS)}, got {version!r}")


# --- measuring it -----------------------------------------------------------------------

def measure_simulation(python_walkers: int | None = None, numpy_walkers: int | None = None,
                       *, workers: int | None = None, tasks: int | None = None,
                       repeats: int | None = None,
                       on_progress: ProgressCallback | None = None) -> dict[str, Comparison]:
    """Run both versions serially, in a thread pool and in a process pool; return one
    :class:`~helpers.core.experiments.Comparison` per version (serial is the baseline).

    Every task walks the same particles: ``python_walkers`` / ``numpy_walkers`` of them
    (defaults: :func:`default_walkers`). ``workers``, ``tasks``, ``repeats`` as in
    :func:`helpers.core.runner.run_tasks`. All arguments are checked before anything runs.
    """
    sizes = {PYTHON: require_int("python_walkers", python_walkers
                                 if python_walkers is not None else default_walkers(PYTHON),
                                 *PYTHON_WALKERS),
             NUMPY: require_int("numpy_walkers", numpy_walkers
                                if numpy_walkers is not None else default_walkers(NUMPY),
                                *NUMPY_WALKERS)}
    options: dict[str, int] = {}
    if workers is not None:
        options["workers"] = require_int("workers", workers, 1, MAX_WORKERS)
    if tasks is not None:
        options["tasks"] = require_int("tasks", tasks, 1, MAX_TASKS)
    if repeats is not None:
        options["repeats"] = require_int("repeats", repeats, 1, MAX_REPEATS)
    comparisons = {}
    for index, (version, walkers) in enumerate(sizes.items()):
        progress = None if on_progress is None else (
            lambda done, total, index=index: on_progress(index * total + done, 2 * total))
        comparisons[version] = compare(
            VERSIONS[version], EXECUTORS, size=walkers,  # type: ignore[arg-type]
            on_progress=progress, **options)
    return comparisons


def mean_squared_displacement(run: RunResult) -> float:
    """The mean squared displacement the run's first task computed (every task walks the
    same particles)."""
    if not run.results or not run.size:
        raise ValueError("run must hold the results of at least one task")
    return run.results[0] / run.size


def nanoseconds_per_step(run: RunResult) -> float:
    """Wall time of a serial run per particle step, in nanoseconds."""
    if not run.size:
        raise ValueError("run must have a size (walkers per task)")
    return run.wall / (run.tasks * run.size * STEPS) * 1e9


# --- what the measurement says ----------------------------------------------------------

def _ideal(comparison: Comparison, executor: str) -> int:
    """What ``executor`` could gain over serial at most: one CPU per running task."""
    run = comparison.runs[executor]
    return max(min(run.workers, run.tasks, comparison.effective_cpus), 1)


def _version_line(version: str, comparison: Comparison) -> str:
    base = comparison.baseline
    parts = [f"**{version}** ({base.tasks} tasks of {base.size:,} walkers × {STEPS} steps): "
             f"serial {base.wall:.2f} s with {base.utilisation:.1f} CPUs busy"]
    for name in EXECUTORS[1:]:
        run = comparison.runs[name]
        parts.append(f"{name} ({plural(run.workers, 'worker')}) "
                     f"{comparison.speedup(name):.2f}× serial with {run.utilisation:.1f} "
                     "CPUs busy")
    return "; ".join(parts) + "."


def _disturbances(comparisons: Mapping[str, Comparison]) -> list[str]:
    """Every sign of a disturbed measurement, one sentence each (empty when none)."""
    found = []
    for version, comparison in comparisons.items():
        for name, run in comparison.runs.items():
            sentence = run_disturbance(run, comparison.effective_cpus, f"{version} {name}")
            if sentence:
                found.append(sentence)
            elif name != "serial" and beyond_ideal(comparison.speedup(name),
                                                   _ideal(comparison, name)):
                found.append(disturbed_sentence(
                    f"the {version} comparison",
                    f"{version} {name} ran {comparison.speedup(name):.2f}× serial, more "
                    f"than {plural(_ideal(comparison, name), 'CPU')} can give"))
    return found


def _python_threads(gain: float, busy: float, gil: bool) -> str:
    if gil:
        if gain >= FASTER:
            return (f"Threads sped pure Python up ({gain:.2f}×), which is unusual under the "
                    "GIL — run it again.")
        return (f"Threads did not speed pure Python up ({gain:.2f}×, {busy:.1f} CPUs busy): "
                "the GIL lets one thread at a time run Python bytecode.")
    if gain >= FASTER:
        return "The GIL is off in this interpreter, so threads ran pure Python in parallel too."
    return "The GIL is off in this interpreter, yet threads did not speed pure Python up here."


def _numpy_threads(gain: float, busy: float) -> str:
    if gain >= FASTER:
        return (f"Threads sped numpy up ({gain:.2f}×, {busy:.1f} CPUs busy): numpy releases "
                "the GIL inside its element-wise loops, so the threads computed at the same "
                "time.")
    if busy >= PARALLEL:
        return (f"Threads kept {busy:.1f} CPUs busy on numpy, so they did overlap, yet "
                f"finished only {gain:.2f}× faster than serial: run it again with more walkers.")
    return (f"Threads did not speed numpy up here ({gain:.2f}×, {busy:.1f} CPUs busy) although "
            "numpy releases the GIL inside these loops: run it again with more walkers.")


def _processes(comparisons: Mapping[str, Comparison]) -> str:
    gains = {version: c.speedup("processes") for version, c in comparisons.items()}
    if all(gain >= FASTER for gain in gains.values()):
        return ("Processes sped both versions up (" + ", ".join(
            f"{gain:.2f}× {version}" for version, gain in gains.items()) + "): each process "
            "has its own interpreter and GIL.")
    slow = [version for version, gain in gains.items() if gain < FASTER]
    return (f"Processes did not speed {' or '.join(slow)} up here: tasks this short may cost "
            "as much to hand to another process as they save — try more walkers.")


def _takeaway(comparisons: Mapping[str, Comparison], gil: bool) -> str:
    python, numpy_ = (comparisons[PYTHON].speedup("threads"),
                      comparisons[NUMPY].speedup("threads"))
    if gil and python < FASTER <= numpy_:
        return (f"**What numpy changes:** the same simulation in threads went from "
                f"{python:.2f}× (pure Python) to {numpy_:.2f}× (numpy). For work that spends "
                "its time inside numpy, threads can share the CPUs — no processes to start, "
                "no arguments to pickle.")
    return ""


def describe_simulation(comparisons: Mapping[str, Comparison],
                        gil: bool | None = None) -> Verdict:
    """Sentences from :func:`measure_simulation`'s result, which must hold both versions.

    One line per version (times, speedups, CPUs busy), the result each computed, then
    either why the executors compare as they do, or — if anything was disturbed or beyond
    the ideal — only that, and "run it again". On 1 effective CPU no speedup is promised.
    ``gil`` defaults to whether the GIL is on in this interpreter.
    """
    if set(comparisons) != set(VERSIONS):
        raise ValueError(f"comparisons must hold exactly {list(VERSIONS)}, "
                         f"got {list(comparisons)}")
    gil = gil_enabled() if gil is None else gil
    python, numpy_ = comparisons[PYTHON], comparisons[NUMPY]
    lines = [_version_line(version, comparisons[version]) for version in VERSIONS]
    lines.append(f"Both computed diffusion: a mean squared displacement of "
                 f"{mean_squared_displacement(python.baseline):.1f} (pure Python) and "
                 f"{mean_squared_displacement(numpy_.baseline):.1f} (numpy) after {STEPS} "
                 f"steps, where theory says about {STEPS}. One particle step took "
                 f"{nanoseconds_per_step(python.baseline):.0f} ns in pure Python and "
                 f"{nanoseconds_per_step(numpy_.baseline):.1f} ns with numpy (serial).")
    disturbed = _disturbances(comparisons)
    if disturbed:  # the first in full, then how many more: the list stays short
        more = len(disturbed) - 1
        return Verdict((*lines, disturbed[0]) if not more else (
            *lines, disturbed[0], f"{plural(more, 'other run')} {'was' if more == 1 else 'were'}"
            " **disturbed** too: the times and speedups above are noise, not a property of "
            "threads, processes or numpy."))
    cpus = python.effective_cpus
    if cpus == 1:
        lines.append("This machine gives you 1 effective CPU, so only one task computes at a "
                     "time: neither threads nor processes can speed either version up here, "
                     "numpy or not. What numpy releasing the GIL changes shows only on 2 or "
                     "more CPUs.")
        return Verdict(tuple(lines))
    lines.append(" ".join(part for part in (
        _python_threads(python.speedup("threads"), python.runs["threads"].utilisation, gil),
        _numpy_threads(numpy_.speedup("threads"), numpy_.runs["threads"].utilisation),
        _processes(comparisons)) if part))
    takeaway = _takeaway(comparisons, gil)
    return Verdict((*lines, takeaway) if takeaway else tuple(lines))


# --- the picture --------------------------------------------------------------------------

def plot_simulation(comparisons: Mapping[str, Comparison]) -> Figure:
    """Speedup over serial of threads and processes, for each version side by side, with
    each group's ideal (one CPU per running task); the y axis holds every bar and label."""
    import matplotlib.pyplot as plt

    from helpers.core.plots import IDEAL_STYLE, colour_for, finish_figure

    if not comparisons:
        raise ValueError("comparisons must hold at least one version")
    fig, ax = plt.subplots(figsize=(8, 4))
    highest = 1.0
    for group, (version, comparison) in enumerate(comparisons.items()):
        for offset, name in zip((-0.3, 0.0, 0.3), EXECUTORS):
            gain, run = comparison.speedup(name), comparison.runs[name]
            ax.bar(group + offset, gain, 0.28, color=colour_for(name),
                   label=name if group == 0 else None)
            mark = "\n(disturbed)" if run_disturbed(run, comparison.effective_cpus) else ""
            ax.annotate(f"{gain:.2f}×\n{run.utilisation:.1f} CPUs{mark}", (group + offset, gain),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                        textcoords="offset points",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            highest = max(highest, gain)
        ideal = max(_ideal(comparison, name) for name in EXECUTORS[1:])
        ax.hlines(ideal, group - 0.15, group + 0.45,  # over threads and processes
                  label="ideal (1 CPU per running task)" if group == 0 else None, **IDEAL_STYLE)
        highest = max(highest, ideal)
    ax.set_xticks(range(len(comparisons)), list(comparisons))
    ax.set_xlabel("the same random walk, written in")
    ax.set_ylabel("speedup (× serial time)")
    ax.set_ylim(0, highest * 1.3)  # every bar, its label and the ideal fit
    first = next(iter(comparisons.values())).baseline
    noisy = "\n(disturbed: run it again)" if _disturbances(comparisons) else ""
    ax.set_title(f"Random walk, {first.tasks} tasks × {STEPS} steps: speedup over "
                 f"serial{noisy}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return finish_figure(fig)


def simulation_key_point(comparisons: Mapping[str, Comparison]) -> str:
    """One key point from :func:`measure_simulation`: what threads and processes did for
    each version — or that the measurement was **disturbed**."""
    if set(comparisons) != set(VERSIONS):
        raise ValueError(f"comparisons must hold exactly {list(VERSIONS)}, "
                         f"got {list(comparisons)}")
    if _disturbances(comparisons):
        return "The random walk (section 7) was measured **disturbed** here: run it again."
    python, numpy_ = comparisons[PYTHON], comparisons[NUMPY]
    return (f"On the random walk (section 7, {plural(python.effective_cpus, 'effective CPU')})"
            f", threads ran pure Python {python.speedup('threads'):.2f}× and numpy "
            f"{numpy_.speedup('threads'):.2f}× as fast as serial; processes "
            f"{python.speedup('processes'):.2f}× and {numpy_.speedup('processes'):.2f}×.")
