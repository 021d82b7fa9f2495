"""What a thread-state trace (:mod:`helpers.core.thread_trace`) shows, in words.

Every sentence is computed from the trace: whether the workers took turns or ran side by
side, how long a turn lasted beside the switch interval, and whether the machine let the
trace run undisturbed (:mod:`helpers.core.noise`). A disturbed trace is called disturbed
and explained by nothing else.
"""
from __future__ import annotations

from helpers.core.noise import busy_sentence, disturbed_sentence, load_disturbed
from helpers.core.thread_trace import Trace, turn_stats

TOOK_TURNS = 0.1  # at most this share of the time with two workers running: they took turns
SIDE_BY_SIDE = 0.6  # at least this share of the time with two running: side by side
IDLE_LIMIT = 0.15  # a trace in which no worker ran for longer than this share: disturbed
ABOUT_ONE = (0.7, 1.4)  # a turn this many switch intervals long is "about one"
STARVED_SHARE = 0.8  # workers expected to run side by side ran on average less than this


def can_run_together(trace: Trace) -> int:
    """How many workers could run at once: one for counting threads under the GIL, else
    one per worker up to the effective CPUs."""
    if trace.kind == "threads" and trace.gil_enabled and trace.workload == "count":
        return 1
    return max(min(len(trace.lanes), trace.effective_cpus), 1)


def mean_running(trace: Trace) -> float:
    """How many workers ran, on average over the trace."""
    return sum(length * count for length, count in trace.running_counts()) / trace.seconds


def cpus_for_timing(trace: Trace) -> int:
    """CPUs the trace needs to time its workers undisturbed: one per worker (up to the
    effective CPUs). Threads that take turns need them too: a waiting thread must get a CPU
    the moment its wait runs out, or the turn it ends is the operating system's, not
    Python's."""
    return max(min(len(trace.lanes), trace.effective_cpus), 1)


def trace_disturbance(trace: Trace) -> str:
    """The sentence saying a trace was disturbed, or ``''``."""
    wanted = can_run_together(trace)
    possessive = "'s" if len(trace.lanes) == 1 else "'"
    what = f"the {_counted(trace)}{possessive} trace"
    if load_disturbed(trace.load, cpus_for_timing(trace)):
        return busy_sentence(trace.load, cpus_for_timing(trace), what)
    idle = 1 - trace.share_running(1)
    if idle > IDLE_LIMIT:
        nobody = (f"none of the {_nouns(trace)} ran" if len(trace.lanes) > 1
                  else f"the {_noun(trace)} did not run")
        return disturbed_sentence(what, f"for {idle:.0%} of the {_ms(trace.seconds)} {nobody}")
    if wanted > 1 and mean_running(trace) < wanted * STARVED_SHARE:
        return disturbed_sentence(what, f"{_nouns(trace)} that could run {wanted} at a time "
                                  f"ran {mean_running(trace):.1f} at a time on average")
    return ""


def describe_trace(trace: Trace) -> str:
    """Markdown: took turns or ran side by side, the turns beside the switch interval,
    and why — or that the trace was disturbed."""
    noun, count = _noun(trace), len(trace.lanes)
    disturbance = trace_disturbance(trace)
    if count == 1:
        text = (f"1 {noun} ran for {trace.share_running(1):.0%} of the "
                f"{_ms(trace.seconds)}: with one there is no one to take turns with.")
        return f"{text} {disturbance}".strip()
    overlap = trace.share_running(2)
    shape = _shape(trace, overlap)
    shares = [f"{_noun(trace)} {i} for {lane.ran / trace.seconds:.0%}"
              for i, lane in enumerate(trace.lanes, start=1)]
    text = (f"The {_counted(trace)} {shape}: two or more ran at once for {overlap:.0%} "
            f"of the {_ms(trace.seconds)}; {shares[0].replace(' for', ' ran for', 1)} of "
            f"it, {_listed(shares[1:])}.")
    if disturbance:
        return f"{text} {disturbance}"
    if shape == "took turns":
        text += " " + _turns(trace)
    return f"{text} {_why(trace, shape)}".strip()


def _shape(trace: Trace, overlap: float) -> str:
    if overlap <= TOOK_TURNS:
        return "took turns"
    if overlap >= SIDE_BY_SIDE:
        return "ran side by side"
    return "partly ran side by side"


def _turns(trace: Trace) -> str:
    stats = turn_stats(trace)
    if stats is None:
        return "Too few turns were complete to time them: trace for longer."
    median, interval = stats.median * 1000, trace.switch_interval * 1000
    text = (f"A turn lasted {median:.1f} ms (median of {stats.count}; 95 % were at most "
            f"{stats.p95 * 1000:.1f} ms)")
    if not _gil_turns(trace):  # the switch interval does not set these turns
        return text + "."
    text += f", with the switch interval at {interval:g} ms"
    if ABOUT_ONE[0] <= median / interval <= ABOUT_ONE[1]:
        return text + ": about one switch interval per turn."
    return text + f": {median / interval:.1f} times the switch interval."


def _gil_turns(trace: Trace) -> bool:
    """Counting threads under the GIL with CPUs to spare: only the GIL makes them alternate."""
    return can_run_together(trace) == 1 and trace.effective_cpus >= 2


def _why(trace: Trace, shape: str) -> str:
    cpus = trace.effective_cpus
    if shape == "took turns" and cpus == 1 and not trace.gil_enabled:
        return ("With 1 effective CPU they take turns without a GIL too: the operating "
                "system shares the one CPU out.")
    if shape == "took turns" and cpus == 1:
        return ("With 1 effective CPU they would take turns even without the GIL: the "
                "operating system shares the one CPU out. Only a machine with 2 or more "
                "CPUs shows the GIL at work.")
    if shape == "took turns" and _gil_turns(trace):
        return ("That is the GIL: one thread runs Python code at a time, and a waiting thread "
                "asks for it after the switch interval.")
    if shape == "ran side by side" and trace.kind == "processes":
        return "Each process has its own interpreter and its own GIL."
    if shape == "ran side by side" and not trace.gil_enabled:
        return "This Python runs without the GIL: its threads run Python code side by side."
    if shape == "ran side by side" and trace.workload == "hash":
        return ("hashlib releases the GIL while it hashes, so the threads hashed at the "
                "same time and took the GIL only between blocks.")
    return ""


def _noun(trace: Trace) -> str:
    return "thread" if trace.kind == "threads" else "process"


def _nouns(trace: Trace) -> str:
    return "threads" if trace.kind == "threads" else "processes"


def _counted(trace: Trace) -> str:
    """'2 threads', '1 process'."""
    return f"{len(trace.lanes)} {_noun(trace) if len(trace.lanes) == 1 else _nouns(trace)}"


def _listed(items: list[str]) -> str:
    """'50%', '50% and 49%', '50%, 49% and 25%'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
