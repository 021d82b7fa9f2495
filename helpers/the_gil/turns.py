"""The switch interval sets the turns: trace two counting threads at several settings.

Under the GIL a thread that wants to run waits up to the switch interval, then asks the
running thread to drop the GIL. :func:`sweep_switch_interval` traces the same two threads
(:mod:`helpers.core.thread_trace`) with the interval at 1, 5 and 20 ms, restoring it
after; :func:`describe_switch_sweep` sets each measured turn beside its setting.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from helpers.core.arguments import require_float
from helpers.core.lane_plots import plot_traces
from helpers.core.noise import DISTURBED
from helpers.core.runner import ProgressCallback
from helpers.core.thread_trace import SWITCH_INTERVALS_MS, Trace, trace_run, turn_stats
from helpers.core.trace_words import describe_trace, trace_disturbance

CLOSE_FACTOR = 3.0  # a turn within this factor of the switch interval "follows" it


def sweep_switch_interval(intervals_ms: Sequence[float] = SWITCH_INTERVALS_MS,
                          workers: int = 2, seconds: float | None = None,
                          on_progress: ProgressCallback | None = None) -> dict[float, Trace]:
    """A trace of ``workers`` counting threads per switch interval (ms)."""
    if not intervals_ms:
        raise ValueError("intervals_ms must name at least one switch interval, got none")
    for interval in intervals_ms:
        require_float("intervals_ms", interval, 0.1, 100.0)
    traces: dict[float, Trace] = {}
    for done, interval in enumerate(intervals_ms, start=1):
        traces[interval] = trace_run("count", workers, seconds, "threads", interval)
        if on_progress is not None:
            on_progress(done, len(intervals_ms))
    return traces


def plot_switch_sweep(traces: Mapping[float, Trace]) -> Figure:
    """The traces one above the other on one time axis, long enough for a few of the
    longest setting's turns."""
    longest = max(trace.switch_interval for trace in traces.values())
    first = next(iter(traces.values()))
    window = (0.0, min(max(100.0, 6 * longest * 1000), first.seconds * 1000))
    return plot_traces({f"switch interval {ms:g} ms": trace for ms, trace in traces.items()},
                       window, interval=False)


def follows_interval(trace: Trace) -> bool | None:
    """True when the measured turn is within :data:`CLOSE_FACTOR` of the switch interval;
    ``None`` when it cannot be judged (too few turns, a disturbed trace, no turn-taking)."""
    stats = turn_stats(trace)
    if stats is None or trace_disturbance(trace) or trace.share_running(2) > 0.1:
        return None
    ratio = stats.median / trace.switch_interval
    return 1 / CLOSE_FACTOR <= ratio <= CLOSE_FACTOR


def describe_switch_sweep(traces: Mapping[float, Trace]) -> str:
    """A table (setting, measured turn median and 95th percentile), then one sentence on
    whether the turns followed the setting — or the disturbed traces' sentences."""
    rows = ["| switch interval | a turn lasted (median) | 95 % of turns at most | "
            "2+ threads at once |", "|---|---|---|---|"]
    for ms, trace in traces.items():
        stats = turn_stats(trace)
        median, p95 = (f"{stats.median * 1000:.1f} ms", f"{stats.p95 * 1000:.1f} ms") \
            if stats else ("too few turns", "–")
        rows.append(f"| {ms:g} ms | {median} | {p95} | {trace.share_running(2):.0%} |")
    return "\n".join(rows) + "\n\n" + _verdict(traces)


def _verdict(traces: Mapping[float, Trace]) -> str:
    disturbed = [ms for ms, trace in traces.items() if trace_disturbance(trace)]
    if disturbed:  # one sentence for all: the first one's numbers, the others alike
        return f"At {_and_ms(disturbed)}: {trace_disturbance(traces[disturbed[0]])}"
    first = next(iter(traces.values()))
    if first.effective_cpus == 1:
        return ("With 1 effective CPU the threads would take turns even without the GIL, "
                "and the operating system decides when each gets the CPU: only a machine "
                "with 2 or more CPUs shows the switch interval setting the turns.")
    judged = {ms: follows_interval(trace) for ms, trace in traces.items()}
    untaken = [ms for ms, ok in judged.items() if ok is None]
    if untaken:
        return f"At {untaken[0]:g} ms: {describe_trace(traces[untaken[0]])}"
    far = [ms for ms, ok in judged.items() if not ok]
    if not far:
        return ("Each turn lasted about one switch interval: the waiting thread asked for the "
                "GIL when its wait ran out, and the running thread dropped it.")
    return (f"At {_and_ms(far)} a turn was more than {CLOSE_FACTOR:g} times shorter or longer "
            "than the switch interval. Two counting threads on a 2-CPU machine that runs "
            f"nothing else take turns of about one switch interval: this run was "
            f"**{DISTURBED}** — run it again, with other work closed.")


def _and_ms(values: list[float]) -> str:
    names = [f"{ms:g} ms" for ms in values]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def trace_key_point(traces: Mapping[str, Trace]) -> str:
    """One Key point from section 5's traces: how each set of workers ran, in a phrase."""
    disturbed = [name for name, trace in traces.items() if trace_disturbance(trace)]
    if disturbed:
        return (f"The millisecond trace of {' and '.join(disturbed)} was **{DISTURBED}**: "
                "run its cell again on a quieter machine to see how they ran.")
    return "Traced millisecond by millisecond, " + " and ".join(
        f"the {name} {_how_they_ran(trace)}" for name, trace in traces.items()) + "."


def _how_they_ran(trace: Trace) -> str:
    overlap, stats = trace.share_running(2), turn_stats(trace)
    if overlap > 0.1 or stats is None:
        return f"ran side by side {overlap:.0%} of the time"
    turns = f"took turns of {stats.median * 1000:.1f} ms"
    if trace.kind == "threads":
        turns += f" (switch interval {trace.switch_interval * 1000:g} ms)"
    return turns + (" — with 1 effective CPU, as anything would" if trace.effective_cpus == 1
                    else "")
