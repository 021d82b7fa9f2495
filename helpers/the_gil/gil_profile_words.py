"""What a GIL profile (:mod:`helpers.the_gil.gil_profile`) shows: numbers, words, a picture.

Per worker thread: the share of the window it **held** the GIL, **waited** for it, was **on
CPU** without it (running C code, or ready to run and not yet asking), and was **off CPU**
without waiting; how long the GIL stayed with one thread before it changed hands
(:func:`hand_offs`); and the sampling interval beside them, because no stretch is measured
finer than one sample. The words follow the lab's rules (:mod:`helpers.core.noise`): a
disturbed run is called **disturbed**; on one effective CPU the operating system takes
turns too, so the waiting is reported, not blamed on the GIL.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core.colours import BLUE, ORANGE, SKY_BLUE, YELLOW
from helpers.core.lane_plots import LaneStyle, draw_lanes, legend_for
from helpers.core.noise import busy_sentence, disturbed_sentence
from helpers.core.plots import finish_figure
from helpers.core.thread_trace import Spread, spread, union_length
from helpers.core.trace_words import IDLE_LIMIT, cpus_for_timing, trace_disturbance
from helpers.the_gil.gil_profile import GilProfile, Span, ThreadStates

HELD = LaneStyle("holds the GIL", ORANGE)
WAITS = LaneStyle("waits for the GIL", SKY_BLUE, "////")
ON_CPU = LaneStyle("on CPU, no GIL, not waiting", BLUE)
OFF_CPU = LaneStyle("off CPU, not waiting", YELLOW)
STYLES = (HELD, WAITS, ON_CPU, OFF_CPU)
SAMPLER_CPUS = 0.5  # CPUs the sampler itself keeps busy at 5 kHz (measured here: 0.5-0.7)
NOUNS = {"count": "counting", "hash": "hashing"}
AGREEMENT_LIMIT = 0.6  # below this the profile and the threads' own notes disagree
# (idle machine: 0.8-0.9; the profiler, descheduled between a sample's stamp and its read,
# misplaces states in time)


def _total(spans: list[Span]) -> float:
    return sum(b - a for a, b in spans)


@dataclass(frozen=True)
class Shares:
    """One worker's states, each a share of the window (the rest: not yet sampled)."""

    held: float
    waited: float
    on_cpu: float
    off_cpu: float


def shares(profile: GilProfile) -> list[Shares]:
    """Per worker, the share of the window it spent in each state."""
    window = profile.window_ms
    return [Shares(_total(t.held) / window, _total(t.waited) / window,
                   _total(t.on_cpu) / window, _total(t.off_cpu) / window)
            for t in profile.threads]


def hand_offs(profile: GilProfile) -> Spread | None:
    """How long one thread kept the GIL before it changed hands (ms): median and 95th
    percentile of the stretches that began and ended inside the window (those cut by its
    start or end are left out); ``None`` with fewer than 3."""
    lengths = [b - a for t in profile.threads for a, b in t.held
               if a > 0 and b < profile.window_ms]
    return spread(lengths) if len(lengths) >= 3 else None


def nobody_held(profile: GilProfile) -> float:
    """Share of the window in which no worker held the GIL (their stretches merged)."""
    return 1 - union_length([span for t in profile.threads for span in t.held]) \
        / profile.window_ms


def gil_disturbance(profile: GilProfile) -> str:
    """The sentence saying the profiled run was disturbed, or ``''``."""
    trace = profile.trace
    what = "the profiled run"
    load = profile.load
    wanted = cpus_for_timing(trace) + SAMPLER_CPUS
    if load is not None and busy_sentence(load, min(wanted, load.allowed), what):
        return busy_sentence(load, min(wanted, load.allowed), what)
    counting = trace.gil_enabled and trace.workload == "count"
    idle = nobody_held(profile)
    if counting and idle > IDLE_LIMIT:
        return disturbed_sentence(what, f"for {idle:.0%} of the {profile.window_ms:.0f} ms "
                                  "no thread held the GIL")
    if counting and profile.agreement < AGREEMENT_LIMIT:
        return disturbed_sentence(what, f"the profiler saw the threads hold the GIL for only "
                                  f"{profile.agreement:.0%} of the time they made progress "
                                  "(a counting thread makes progress only while it holds it)")
    if trace.effective_cpus < 2:  # the sampler shares the one CPU: nobody-ran is expected
        return ""
    return trace_disturbance(trace)


def _percents(values: list[float]) -> str:
    """'48 %, 51 %'."""
    return ", ".join(f"{value:.0%}".replace("%", " %") for value in values)


def _shares_sentence(profile: GilProfile) -> str:
    trace, table = profile.trace, shares(profile)
    held, waited = [row.held for row in table], [row.waited for row in table]
    count, noun = len(table), NOUNS.get(trace.workload, trace.workload)
    window = f"{profile.window_ms:.0f} ms"
    if count == 2 and all(0.4 <= v <= 0.6 for v in held + waited):
        text = (f"Each of the 2 {noun} threads waited for the GIL about half of the {window} "
                f"({_percents(waited)}) and held it the other half ({_percents(held)})")
    else:
        text = (f"The {count} {noun} threads held the GIL ({_percents(held)}) and waited "
                f"for it ({_percents(waited)}) for these shares of the {window}")
    return (f"{text}; without it and not waiting, they were on CPU "
            f"{_percents([row.on_cpu for row in table])} and off CPU "
            f"{_percents([row.off_cpu for row in table])} of the time.")


def _hand_off_sentence(profile: GilProfile) -> str:
    stats, switch = hand_offs(profile), profile.trace.switch_interval * 1000
    sampled = f"sampled every {profile.interval_ms:.2f} ms, no finer"
    if stats is None:
        return f"Too few hand-offs were complete to time them ({sampled})."
    return (f"The GIL changed hands every {stats.median:.1f} ms (median of {stats.count}; "
            f"95 % within {stats.p95:.1f} ms; {sampled}) with the switch interval at "
            f"{switch:g} ms.")


def _why(profile: GilProfile) -> str:
    trace, table = profile.trace, shares(profile)
    waited = statistics.mean(row.waited for row in table)
    off = statistics.mean(row.off_cpu + row.on_cpu for row in table)
    if trace.effective_cpus < 2:
        return ("With 1 effective CPU the profiler needs that CPU too (the threads ran "
                f"{trace.share_running(1):.0%} of the time), and the operating system takes "
                "turns as well: the lanes show how long each thread waited for the GIL and how "
                "long for the CPU. Only a machine with 2 or more CPUs shows the GIL alone.")
    if waited <= off or waited < 0.2:
        return ""
    stats, switch = hand_offs(profile), trace.switch_interval * 1000
    turn = (" and it changed hands about once per switch interval"
            if stats and 0.5 <= stats.median / switch <= 3 else "")
    return (f"With {trace.effective_cpus} effective CPUs the waiting was for the GIL, not "
            f"for a CPU: one thread holds it at a time{turn}.")


def describe_gil_profile(profile: GilProfile) -> str:
    """Markdown: each thread's GIL shares, the hand-off beside the switch interval and the
    sampling interval, and what that means — or why nothing was measured."""
    if not profile.available:
        return (f"**The GIL itself was not measured:** {profile.reason}. The timeline above "
                "(the lab's own trace) is what this Python can show.")
    text = _shares_sentence(profile)
    disturbance = gil_disturbance(profile)
    if disturbance:
        return f"{text} {disturbance}"
    return " ".join(part for part in (text, _hand_off_sentence(profile), _why(profile))
                    if part)


def default_window(profile: GilProfile) -> tuple[float, float]:
    """The first ~100 ms (longer for a long switch interval), at most the whole window."""
    switch = profile.trace.switch_interval * 1000 if profile.trace else 5.0
    return (0.0, min(max(100.0, 8 * switch), profile.window_ms))


def _lanes(threads: list[ThreadStates]) -> list[tuple[str, dict[LaneStyle, list[Span]]]]:
    return [(f"thread {i + 1}", dict(zip(STYLES, (t.held, t.waited, t.on_cpu, t.off_cpu))))
            for i, t in enumerate(threads)]


def plot_gil_profile(profile: GilProfile, window_ms: tuple[float, float] | None = None
                     ) -> Figure | None:
    """Each worker's lane: held the GIL, waited for it, on or off CPU without it; ``None``
    when the profile is unavailable (:func:`describe_gil_profile` says why)."""
    if not profile.available:
        return None
    window = default_window(profile) if window_ms is None else _check_window(profile,
                                                                             window_ms)
    trace = profile.trace
    title = (f"{profile.python}, {len(profile.threads)} {NOUNS.get(trace.workload, '')} "
             f"threads: who held the GIL · switch interval {trace.switch_interval * 1000:g} "
             f"ms · sampled every {profile.interval_ms:.2f} ms")
    fig, ax = plt.subplots(figsize=(8.5, len(profile.threads) * 0.35 + 1.4))
    draw_lanes(ax, _lanes(profile.threads), window, title)
    legend_for(ax, list(STYLES))
    ax.set_xlabel("time since the workers started (ms)")
    return finish_figure(fig)


def _check_window(profile: GilProfile, window_ms: object) -> tuple[float, float]:
    ok = (isinstance(window_ms, tuple) and len(window_ms) == 2
          and all(isinstance(v, (int, float)) for v in window_ms)
          and 0 <= window_ms[0] < window_ms[1] <= profile.window_ms)
    if not ok:
        raise ValueError(f"window_ms must be (start, end) with 0 <= start < end <= "
                         f"{profile.window_ms:g}, got {window_ms!r}")
    return float(window_ms[0]), float(window_ms[1])
