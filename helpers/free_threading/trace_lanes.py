"""Notebook 07's lanes: one free-threaded binary, GIL off and ``PYTHON_GIL=1``, drawn.

:mod:`helpers.core.thread_trace` lets threads note their own progress, so their lanes show
*when each thread ran Python code*. Here the same code is traced twice in the same
free-threaded binary: once with the GIL off — two counting threads run side by side, when
there are two CPUs for them — and once with ``PYTHON_GIL=1``, which turns the GIL back on:
they take turns again, a turn lasting about the switch interval.

:func:`trace_on` traces in any Python (:mod:`helpers.core.other_pythons` finds
them) through ``python -m helpers.core.measure_cli call helpers.core.thread_trace:
trace_as_dict``, bounded by a timeout; when that Python is this kernel and its GIL is
already as wanted, it traces right here. :func:`trace_gil_lanes` makes the pair (or, with
no free-threaded Python, traces this kernel's own threads), :func:`describe_gil_lanes`
says what they show — each trace in :func:`~helpers.core.trace_words.describe_trace`'s
words, then one sentence comparing them — and :func:`draw_gil_lanes` stacks them.

The free-threaded kernel (``python3-ft``) may lack matplotlib and ipywidgets: then the
drawing and the progress bar are replaced by one sentence each, and the words still come.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from helpers.core.arguments import require_float
from helpers.core.estimates import START_SECONDS as ESTIMATED_STARTS
from helpers.core.other_pythons import Interpreter, probe
from helpers.core.system import gil_enabled, is_free_threaded_build
from helpers.core.thread_trace import (
    Trace,
    check_trace_arguments,
    default_seconds,
    trace_run,
    turn_stats,
)
from helpers.core.trace_words import SIDE_BY_SIDE, TOOK_TURNS, describe_trace, trace_disturbance
from helpers.core.words import plural
from helpers.free_threading.streaming import stream_cli

TIMEOUT = 60.0  # s: one trace, the other Python's start included (about 1 s here)
MAX_TIMEOUT = 600.0
START_SECONDS = ESTIMATED_STARTS["python"]  # s: about, to start another Python
GIL_OFF_LABEL, GIL_ON_LABEL = "GIL off", "PYTHON_GIL=1"
TRACE_TARGET = "helpers.core.thread_trace:trace_as_dict"


def _same_file(one: str, other: str) -> bool:
    try:
        return bool(one) and bool(other) and os.path.samefile(one, other)
    except OSError:
        return False


def is_this_kernel(interpreter: Interpreter) -> bool:
    """Whether ``interpreter`` is the binary this kernel runs (a venv's link counts)."""
    return any(_same_file(path, sys.executable)
               for path in (interpreter.path, interpreter.executable))


def _check_gil(interpreter: Interpreter | None, gil: object) -> None:
    if gil is not None and not isinstance(gil, bool):
        raise ValueError(f"gil must be True, False or None, got {gil!r}")
    if interpreter is not None and not isinstance(interpreter, Interpreter):
        raise ValueError(f"interpreter must be an Interpreter or None (this kernel), got "
                         f"{interpreter!r}")
    if interpreter is None and gil is not None:
        raise ValueError("gil must be None when interpreter is None (this kernel): a running "
                         "Python cannot switch its GIL; pass the interpreter to start it with "
                         "PYTHON_GIL set")
    if interpreter is not None and gil is False and not interpreter.free_threaded:
        raise ValueError(f"gil=False needs a free-threaded build; {interpreter.label} always "
                         "has the GIL (PYTHON_GIL=0 would stop it starting)")


def trace_on(interpreter: Interpreter | None, gil: bool | None, workload: str = "count",
             workers: int = 2, seconds: float | None = None,
             switch_interval_ms: float | None = None, timeout: float = TIMEOUT) -> Trace:
    """Trace ``workers`` threads of ``workload`` in ``interpreter`` — ``None``: this kernel,
    as it is — with ``PYTHON_GIL=1`` (``gil=True``), ``PYTHON_GIL=0`` (``False``) or its
    default (``None``).

    Another Python runs :func:`~helpers.core.thread_trace.trace_as_dict` through
    ``measure_cli``; after ``timeout`` seconds it is killed (``TimeoutError``). The
    arguments are checked (``ValueError``) before anything starts.
    """
    seconds = default_seconds() if seconds is None else seconds
    check_trace_arguments(workload, workers, seconds, "threads", switch_interval_ms)
    timeout = require_float("timeout", timeout, 0.01, MAX_TIMEOUT)
    _check_gil(interpreter, gil)
    here = interpreter is None or (is_this_kernel(interpreter) and gil is not True
                                   and not gil_enabled())
    if here:
        return trace_run(workload, workers, seconds, "threads", switch_interval_ms,
                         timeout=timeout)
    arguments = json.dumps([workload, workers, seconds, "threads", switch_interval_ms])
    data = stream_cli(interpreter, ["call", TRACE_TARGET, arguments], gil, timeout=timeout)
    return Trace.from_dict(data["returned"])


def gil_tracers(free_threaded: Interpreter | None) -> dict[str, Callable[..., Trace]]:
    """For :class:`~helpers.the_gil.trace_lab.ThreadTraceLab`'s "Python" control: trace
    threads in ``free_threaded`` (or this kernel, if it is free-threaded) with the GIL off
    and with ``PYTHON_GIL=1``; with neither, in this kernel as it is. Each takes the lab's
    keywords (threads only: ``kind`` must be ``"threads"``)."""
    free = free_threaded or this_kernel_if_free_threaded()
    settings = {GIL_OFF_LABEL: False, GIL_ON_LABEL: True} if free else {kernel_label(): None}
    return {label: partial(_trace_threads, free, gil) for label, gil in settings.items()}


def _trace_threads(interpreter: Interpreter | None, gil: bool | None, *, workload: str,
                   workers: int, seconds: float, kind: str,
                   switch_interval_ms: float | None) -> Trace:
    if kind != "threads":
        raise ValueError(f"kind must be 'threads' here, got {kind!r}")
    return trace_on(interpreter, gil, workload, workers, seconds, switch_interval_ms)


# --- the pair, for notebook 07 -----------------------------------------------------------

@dataclass(frozen=True)
class GilLanes:
    """The traces to draw, by label, and the free-threaded Python that made them (``None``:
    none was found, and the one trace is this kernel's own)."""

    traces: dict[str, Trace]
    free_threaded: str | None


def kernel_label() -> str:
    return f"this kernel (GIL {'on' if gil_enabled() else 'off'})"


def this_kernel_if_free_threaded() -> Interpreter | None:
    """This kernel as an :class:`Interpreter`, if it is a free-threaded build."""
    return probe(sys.executable) if is_free_threaded_build() else None


def expected_seconds(free_threaded: bool, seconds: float | None = None) -> float:
    """About how long :func:`trace_gil_lanes` takes: two traces, each in a fresh Python."""
    seconds = default_seconds() if seconds is None else seconds
    return 2 * (START_SECONDS + seconds) if free_threaded else START_SECONDS / 2 + seconds


@contextmanager
def tracing_progress(expected: float, shown: bool) -> Iterator[None]:
    """An elapsed-time bar (:func:`helpers.core.progress.elapsed_bar`), or one printed line
    where ipywidgets is missing (the ``python3-ft`` kernel)."""
    if not shown:
        yield
        return
    try:
        from helpers.core.progress import elapsed_bar
    except ImportError:
        print(f"Tracing (about {expected:.0f} s)…")
        yield
        return
    with elapsed_bar("tracing", expected):
        yield


def trace_gil_lanes(free_threaded: Interpreter | None, workload: str = "count",
                    workers: int = 2, seconds: float | None = None,
                    switch_interval_ms: float | None = None, timeout: float = TIMEOUT,
                    progress: bool = False) -> GilLanes:
    """The same threads in ``free_threaded`` (or this kernel, if it is free-threaded): GIL
    off, then ``PYTHON_GIL=1`` — the same binary. With neither, this kernel's own threads
    alone. ``progress`` shows a bar while it runs."""
    seconds = default_seconds() if seconds is None else seconds
    check_trace_arguments(workload, workers, seconds, "threads", switch_interval_ms)
    require_float("timeout", timeout, 0.01, MAX_TIMEOUT)
    free = free_threaded or this_kernel_if_free_threaded()
    settings = {GIL_OFF_LABEL: False, GIL_ON_LABEL: True} if free else {kernel_label(): None}
    traces = {}
    with tracing_progress(expected_seconds(free is not None, seconds), progress):
        for label, gil in settings.items():
            traces[label] = trace_on(free, gil, workload, workers, seconds,
                                     switch_interval_ms, timeout)
    return GilLanes(traces, free.label if free else None)


# --- in words ----------------------------------------------------------------------------

def _side_by_side(trace: Trace) -> str:
    share, count = trace.share_running(2), len(trace.lanes)
    if count == 2:
        return f"the 2 threads ran side by side {share:.0%} of the time"
    return f"two or more of the {count} threads ran at once {share:.0%} of the time"


def _turn_taking(trace: Trace) -> str:
    stats = turn_stats(trace)
    if stats is None:
        return "they took turns (too few whole turns to time them)"
    return f"they took turns of {stats.median * 1000:.1f} ms (median)"


def _with_gil(trace: Trace) -> str:
    if trace.share_running(2) <= TOOK_TURNS:
        return _turn_taking(trace)
    return f"two or more ran at once {trace.share_running(2):.0%} of the time"


def gil_difference(off: Trace, on: Trace) -> str:
    """One sentence: what turning the GIL back on changed — from two undisturbed traces on
    2+ CPUs only; otherwise why this pair cannot say."""
    spoiled = [label for label, trace in ((GIL_OFF_LABEL, off), (GIL_ON_LABEL, on))
               if trace_disturbance(trace)]
    if spoiled:
        which = " and ".join(f"“{label}”" for label in spoiled)
        were = "traces were" if len(spoiled) > 1 else "trace was"
        return (f"Same binary, same code — but the {which} {were} **disturbed** (above), so "
                "this pair cannot say what the GIL changes: run the cell again on a quieter "
                "machine.")
    if min(off.effective_cpus, on.effective_cpus) < 2:
        return (f"With 1 effective CPU the threads took turns with the GIL off too (two ran "
                f"at once {off.share_running(2):.0%} of the time): the operating system "
                "shares the one CPU out, GIL or not, so this machine cannot show what the GIL "
                "changes — that needs 2 or more CPUs.")
    off_apart = off.share_running(2) >= SIDE_BY_SIDE
    text = ("Same binary, same code: with the GIL off "
            + (_side_by_side(off) if off_apart else
               f"two or more threads ran at once only {off.share_running(2):.0%} of the time")
            + f"; with PYTHON_GIL=1 {_with_gil(on)}.")
    on_turns = on.share_running(2) <= TOOK_TURNS
    if off_apart and on_turns:
        return text + " Only the GIL differs, so it is what made them take turns."
    if off_apart and on.workload == "hash" and on.share_running(2) >= SIDE_BY_SIDE:
        return text + (" This work releases the GIL while it hashes, so turning the GIL off "
                       "changes little here.")
    return text + " This pair does not show the GIL's effect clearly: run the cell again."


def describe_gil_lanes(lanes: GilLanes) -> str:
    """Markdown: each trace in :func:`describe_trace`'s words, then what the pair shows —
    or, without a free-threaded Python, that only this kernel was traced."""
    if lanes.free_threaded is None:
        (trace,) = lanes.traces.values()
        were = "was" if len(trace.lanes) == 1 else "were"
        return (f"No free-threaded Python was found, so only this kernel's own "
                f"{plural(len(trace.lanes), 'thread')} {were} "
                f"traced (Python {trace.python}, GIL {'on' if trace.gil_enabled else 'off'}). "
                f"{describe_trace(trace)}")
    off, on = lanes.traces[GIL_OFF_LABEL], lanes.traces[GIL_ON_LABEL]
    return "\n".join([
        f"- **{GIL_OFF_LABEL}** ({lanes.free_threaded}): {describe_trace(off)}",
        f"- **{GIL_ON_LABEL}** (the same binary): {describe_trace(on)}",
        f"- {gil_difference(off, on)}"])


def draw_gil_lanes(lanes: GilLanes) -> object:
    """The traces stacked (:func:`helpers.core.lane_plots.plot_traces`; a disturbed one is
    marked so in its title) — or, where this kernel has no matplotlib, a sentence saying so
    (the words still follow)."""
    try:
        from helpers.core.lane_plots import plot_traces
    except ImportError:
        from IPython.display import Markdown

        return Markdown("matplotlib is not installed in this kernel, so the lanes are not "
                        "drawn; the words below say what they show.")
    return plot_traces(lanes.traces)  # a disturbed trace's title says so
