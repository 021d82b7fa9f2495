"""Notebook 07's lab widget: the same threads in this kernel and in a free-threaded Python,
GIL off and GIL on — with the learner's guess beside what was measured.

:class:`GilLab` measures one setting after another, cheapest first: this kernel (no other
interpreter to start), then the free-threaded build with ``PYTHON_GIL=0``, then with
``PYTHON_GIL=1``. Every setting's results stream in repeat by repeat
(:mod:`helpers.free_threading.streaming`), so the plot (:func:`plot_gil_modes`) appears
after the first measured repeat — the serial time — and fills in as the rest arrives.

Predict, then measure: ``guess`` is how many times faster than serial the threads will be
with the GIL off. It is drawn across the plot and compared in words
(:func:`helpers.core.guess.guess_sentence`) with the GIL-off measurement — or, where no
free-threaded Python exists, one sentence says there is nothing to compare it with.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core.arguments import require_choice
from helpers.core.controls import RunPanel, bounded_slider
from helpers.core.estimates import START_SECONDS, run_seconds, runner_repeats, task_seconds
from helpers.core.experiments import Comparison, stepped_progress
from helpers.core.guess import check_guess, draw_guess, guess_sentence
from helpers.core.other_pythons import Interpreter, require_interpreter
from helpers.core.plots import IDEAL_STYLE, LABEL_SIZE, colour_for, finish_figure
from helpers.core.runner import ProgressCallback
from helpers.core.system import effective_cpu_count, gil_enabled
from helpers.core.words import Verdict, plural
from helpers.core.workloads import get_workload
from helpers.free_threading.gil_off import (
    GIL_OFF,
    GIL_ON,
    WORK_SCALE,
    describe_gil_modes,
    ideal_threads_gain,
    lab_title,
    measure_threads,
    mode_disturbance,
    this_python,
    work_size,
)

GUESS_RANGE = (0.1, 10.0)  # a speedup of 2 threads over serial
GUESS_QUESTION = "the threads' speedup with the GIL off"


def gil_off_label(labels: Sequence[str]) -> str | None:
    """The setting whose threads ran with the GIL off: the free-threaded build with
    ``PYTHON_GIL=0`` — or this kernel, if its own GIL is off — else ``None``."""
    off = [label for label in labels if label.endswith(GIL_OFF)]
    if off:
        return off[0]
    kernel = this_python()
    return kernel if kernel in labels and not gil_enabled() else None


def guess_words(results: dict[str, Comparison], guess: float | None) -> str:
    """The guess against the GIL-off speedup (``disturbed`` when that run was), one
    sentence when nothing ran with the GIL off, and ``''`` without a guess."""
    if guess is None:
        return ""
    label = gil_off_label(list(results))
    if label is None:
        return ("No Python with the GIL off was measured here, so your guess has nothing to "
                "compare with.")
    comparison = results[label]
    return guess_sentence(guess, comparison.speedup("threads"), quantity=GUESS_QUESTION,
                          digits=2, disturbed=bool(mode_disturbance(label, comparison)))


def _slot(ax, i: int, label: str, comparison: Comparison | None) -> float:
    """Draw one setting at ``x = i``: its speedup bar and ideal, or what is measured of it
    so far; returns the height it needs."""
    if comparison is None:
        ax.annotate("waiting", (i, 0.05), ha="center", va="bottom", fontsize=LABEL_SIZE)
        return 0.0
    if "threads" not in comparison.runs:
        base = comparison.baseline
        ax.annotate(f"serial: {base.wall:.2f} s\n({plural(len(base.walls), 'repeat')})\n"
                    "threads: measuring…", (i, 0.05), ha="center", va="bottom", fontsize=LABEL_SIZE)
        return 0.0
    run, gain = comparison.runs["threads"], comparison.speedup("threads")
    ideal = ideal_threads_gain(comparison)
    ax.bar(i, gain, 0.6, color=colour_for("threads"))
    first = "ideal" not in ax.get_legend_handles_labels()[1]
    ax.hlines(ideal, i - 0.4, i + 0.4, label="ideal" if first else None, **IDEAL_STYLE)
    mark = "\n(disturbed)" if mode_disturbance(label, comparison) else ""
    ax.annotate(f"{gain:.2f}×\n{run.utilisation:.1f} CPUs{mark}", (i, max(gain, ideal)),
                ha="center", va="bottom", fontsize=LABEL_SIZE)
    return max(gain, ideal)


def plot_gil_modes(results: dict[str, Comparison], planned: Sequence[str] = (), *,
                   workload: str | None = None, threads: int | None = None,
                   guess: float | None = None) -> Figure:
    """One bar per setting: the threads' speedup over serial, with the ideal. A setting in
    ``planned`` not measured yet keeps its place; one half measured shows its serial time.
    ``guess`` is drawn when a setting ran with the GIL off."""
    labels = list(dict.fromkeys([*planned, *results]))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    top = max([1.0] + [_slot(ax, i, label, results.get(label)) for i, label in enumerate(labels)])
    if gil_off_label(labels) is not None:
        draw_guess(ax, guess, label="your guess (GIL off)")
        top = max(top, guess or 0)
    ax.set_ylim(0, top * 1.45)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_xticks(range(len(labels)), [label.replace(", ", ",\n") for label in labels])
    ax.set_xlabel("interpreter")
    ax.set_ylabel("speedup of threads (× serial)")
    ax.set_title("\n".join(textwrap.wrap(lab_title(labels, workload, threads), 64)))
    handles = ax.get_legend_handles_labels()[0]
    if handles:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=LABEL_SIZE)
    return finish_figure(fig)


def quiet_moment(partial: Comparison, repeats: int) -> bool:
    """May a partial result from *another* Python be drawn now without disturbing it?

    Drawing takes 0.1–0.3 s of this kernel's CPU while that Python goes on measuring. During
    its serial run one CPU is left free for it; during its threads — which may use every
    CPU — it would take one from them. So only serial repeats before the last are drawn
    (in this kernel the runner itself waits for the drawing, between repeats) — and none
    with 1 effective CPU, where there is no free CPU at all."""
    return ("threads" not in partial.runs and len(partial.baseline.walls) < repeats
            and partial.effective_cpus >= 2)


class GilLab(RunPanel):
    """The lab widget for notebook 07: pick a workload, its size and the number of threads;
    Run measures serial vs threads in this kernel and — when one was found — in the
    free-threaded interpreter with the GIL off and on. The plot follows each repeat.

    ``guess``: how many times faster than serial you expect the threads with the GIL off
    (``None``: no guess; the plot and words are the same as without one)."""

    WORKLOADS = ("count", "primes", "hash-1k", "hash", "zlib", "sleep")

    def __init__(self, interpreter: Interpreter | None, workload: str = "count",
                 threads: int = 2, guess: float | None = None) -> None:
        import ipywidgets as widgets

        self.interpreter = require_interpreter("interpreter", interpreter, "this kernel")
        self.guess = check_guess("guess", guess, *GUESS_RANGE)
        most = max(2, min(8, 2 * effective_cpu_count()))
        self.workload = widgets.Dropdown(
            options=[(f"{name} ({get_workload(name).behaviour})", name)
                     for name in self.WORKLOADS],
            value=require_choice("workload", workload, self.WORKLOADS), description="workload",
            layout=widgets.Layout(width="360px"))
        self.threads = bounded_slider("threads", threads, 2, most)
        self.scale = bounded_slider(f"work per task (× {WORK_SCALE} × default)", 1, 1, 4)
        self.results: dict[str, Comparison] = {}
        super().__init__([self.workload, self.threads, self.scale])

    def settings(self) -> list[tuple[str, bool | None]]:
        """(label, gil) to measure, cheapest first: this kernel starts no interpreter."""
        steps: list[tuple[str, bool | None]] = [(this_python(), None)]
        if self.interpreter is not None:
            steps += [(f"{self.interpreter.label}, {GIL_OFF}", False),
                      (f"{self.interpreter.label}, {GIL_ON}", True)]
        return steps

    advice = "lower the work per task or the threads"

    def size(self) -> int:
        """A task's size with the controls as they are."""
        return min(get_workload(self.workload.value).max_size,
                   work_size(self.workload.value) * self.scale.value)

    def estimate(self) -> float:
        """About how many seconds a Run takes here: in each setting, serial then threads
        (timed from this kernel's speed), plus starting another Python for the settings
        that run in one."""
        return sum(self._setting_seconds(gil) for _, gil in self.settings())

    def _setting_seconds(self, gil: bool | None) -> float:
        """One setting: this kernel (``gil`` None) or the other Python with the GIL on/off."""
        spec, threads = get_workload(self.workload.value), self.threads.value
        each = task_seconds(spec.name, self.size())
        start = 0.0 if gil is None else START_SECONDS["python"]
        return start + sum(run_seconds(name, spec.behaviour, task_seconds=each, tasks=threads,
                                       workers=threads, repeats=runner_repeats(),
                                       cpus=effective_cpu_count(), gil=gil)
                           for name in ("serial", "threads"))

    def run(self) -> dict[str, Comparison] | None:
        return self.guarded(self._measure)

    def _measure(self, on_progress: ProgressCallback) -> dict[str, Comparison]:
        spec = get_workload(self.workload.value)
        size = self.size()
        threads, steps = self.threads.value, self.settings()
        planned = [label for label, _ in steps]
        plot = self.live(lambda shown: plot_gil_modes(shown, planned, workload=spec.name,
                                                      threads=threads, guess=self.guess))
        results: dict[str, Comparison] = {}
        repeats = runner_repeats()
        for index, (label, gil) in enumerate(steps):
            interpreter = None if gil is None else self.interpreter
            self.say(f"Running… now: <b>{label}</b>")

            def partial_plot(partial: Comparison, label: str = label,
                             streamed: bool = interpreter is not None) -> None:
                if not streamed or quiet_moment(partial, repeats):
                    plot({**results, label: partial})

            results[label] = measure_threads(
                interpreter, gil, spec.name, size, threads, repeats, on_result=partial_plot,
                on_progress=stepped_progress(on_progress, index, len(steps)))
            plot(dict(results))
        self.results = results
        self.words.value = self.describe(results)
        return results

    def describe(self, results: dict[str, Comparison]) -> str:
        """The words under the plot: each setting, the conclusion, then the guess."""
        return gil_verdict(results, self.guess)._repr_html_()


def gil_verdict(results: dict[str, Comparison], guess: float | None = None) -> Verdict:
    """:func:`~helpers.free_threading.gil_off.describe_gil_modes`, then the guess's line."""
    verdict, said = describe_gil_modes(results), guess_words(results, guess)
    return Verdict((*verdict.lines, said)) if said else verdict
