"""Self-checks for notebook 03's exercises (the GIL).

An exercise left as committed (its answers still ``...``) is "not answered yet" — never
✓ nor ✗ (:func:`helpers.core.selfcheck.not_answered`)."""
from __future__ import annotations

from helpers.core.executors import MAX_WORKERS
from helpers.core.experiments import Comparison
from helpers.core.noise import beyond_ideal, disturbed_sentence, starved
from helpers.core.selfcheck import (
    CheckResult,
    blank,
    first_problem,
    inconclusive,
    not_answered,
    not_yet,
    passed,
)
from helpers.core.words import PARALLEL, comparison_disturbance, plural, speedup_phrase

# A prediction within this many CPUs of the measurement counts as "as you expected".
PREDICTION_TOLERANCE = 0.3

# Which tool fits each job, and why (shown as the hint when a choice is wrong).
JOBS: dict[str, tuple[str, str]] = {
    "download 50 pages from a web server": (
        "threads", "downloading is waiting: the GIL is released while a thread waits, so "
                   "threads overlap the waits at almost no cost."),
    "count words in 2 GB of text with a pure-Python loop": (
        "processes", "a pure-Python loop holds the GIL, so threads take turns; only "
                     "separate processes run it on several CPUs at once."),
    "SHA-256 of 20 large byte strings already in memory": (
        "threads", "hashlib releases the GIL while it hashes 2048 bytes or more at once, "
                   "so threads hash in parallel without copying the data to other "
                   "processes."),
    "simulate 1,000 dice games with a pure-Python loop each": (
        "processes", "pure-Python CPU work: the GIL lets one thread at a time run it."),
}
TOOLS = ("threads", "processes")


def check_tool_choices(choices: object) -> CheckResult:
    """Check a dict mapping every job in :data:`JOBS` to "threads" or "processes"."""
    if blank(choices):
        return not_answered('replace every ... in choices with "threads" or "processes", '
                            "then run this cell again.")
    if not isinstance(choices, dict):
        return not_yet(f"expected a dict of job → tool, got {type(choices).__name__}.",
                       "start from the dict given in the exercise and fill in each value.")
    for job, (tool, why) in JOBS.items():
        choice = choices.get(job)
        if choice not in TOOLS:
            return not_yet(f"the job {job!r} has {choice!r}.",
                           f"write one of {list(TOOLS)} for every job.")
        if choice != tool:
            return not_yet(f"{job!r} is better served by {tool}, not {choice}.", why)
    return passed("every job has the right tool. The measurements above are why.")


def check_zlib_comparison(comparison: object, predicted_cpus: object = None) -> CheckResult:
    """Check a :class:`Comparison` of serial and threads on the ``zlib`` workload, and set
    the measured CPUs busy against the learner's ``predicted_cpus``.

    Wrong arguments fail with a hint. A right comparison passes, in words from its own
    numbers and the prediction — unless the measurement was disturbed (or the threads
    did not compute together on 2+ CPUs): then the check is
    :func:`~helpers.core.selfcheck.inconclusive`. Either answer still ``...``: not
    answered yet.
    """
    empty = [name for name, value in (("predicted_cpus", predicted_cpus),
                                      ("zlib_comparison", comparison)) if blank(value)]
    if empty:
        return not_answered(f"set {' and '.join(empty)} (predict first, then measure), "
                            "then run this cell again.")
    if not isinstance(comparison, Comparison):
        return not_yet(f"expected the Comparison that compare() returns, got "
                       f"{type(comparison).__name__}.", "assign `zlib_comparison = compare(...)`.")
    runs = comparison.runs
    result = first_problem([
        (comparison.baseline.workload == "zlib",
         f"the workload is {comparison.baseline.workload!r}.", 'pass "zlib" as the workload.'),
        (list(runs)[:1] == ["serial"], "the first executor is not serial.",
         'pass executors=("serial", "threads") so serial is the baseline.'),
        ("threads" in runs, "threads were not measured.", 'include "threads" in executors.'),
        ("threads" not in runs or runs["threads"].workers >= 2,
         "threads ran with a single worker, which cannot overlap anything.",
         "pass workers=2 (or more)."),
        (_is_prediction(predicted_cpus),
         f"predicted_cpus is {predicted_cpus!r}.",
         "write down, before you run it, how many CPUs you expect the threads to keep "
         "busy: a number such as 1 or 2."),
    ], "")
    if not result:
        return result
    return _judge_zlib(comparison, float(predicted_cpus))  # type: ignore[arg-type]


def _odd_result(comparison: Comparison, possible: int) -> str:
    """The disturbed sentence for numbers no machine gives undisturbed: compressing threads
    with less than a CPU between them, or a speedup above what the CPUs allow."""
    busy, gain = comparison.runs["threads"].utilisation, comparison.speedup("threads")
    if starved(busy):
        return disturbed_sentence("the threads run", f"compressing threads kept only "
                                  f"{busy:.1f} CPUs busy between them")
    if beyond_ideal(gain, possible):
        return disturbed_sentence("the comparison", f"threads were {gain:.2f}× serial, more "
                                  f"than {plural(possible, 'CPU')} can give")
    return ""


def _is_prediction(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 <= value <= MAX_WORKERS)


def _judge_zlib(comparison: Comparison, predicted: float) -> CheckResult:
    """The words for a well-formed zlib comparison: measurement, prediction, reading."""
    threads = comparison.runs["threads"]
    cpus = comparison.effective_cpus
    busy = threads.utilisation
    measured = (f"measured: threads were {speedup_phrase(comparison.speedup('threads'))} "
                f"and kept {busy:.1f} CPUs busy on {plural(cpus, 'effective CPU')}; you "
                f"predicted {predicted:g}")
    possible = min(threads.workers, threads.tasks, cpus)
    noise = comparison_disturbance(comparison) or _odd_result(comparison, possible)
    if noise:
        return inconclusive(f"{measured}. {noise} Your prediction can only be checked "
                            "against an undisturbed run.")
    verdict = ("— as you expected" if abs(busy - predicted) <= PREDICTION_TOLERANCE
               else f"— not what you expected: at most {possible} could be busy here")
    if cpus == 1:
        return passed(f"{measured} {verdict}. With 1 effective CPU at most 1 CPU can be "
                      "busy, whatever the GIL does: zlib releasing the GIL can only show on "
                      "2 or more CPUs.")
    if busy >= PARALLEL:
        return passed(f"{measured} {verdict}. More than one CPU busy in one process: the "
                      "threads compressed at the same time, which they can only do because "
                      "zlib releases the GIL while it compresses.")
    return inconclusive(f"{measured}. zlib releases the GIL while it compresses, yet the "
                        f"threads kept only {busy:.1f} CPUs busy on {cpus} effective CPUs "
                        "in this run: run it again to see whether it repeats.")
