"""Self-checks for notebook 03's exercises (the GIL)."""
from __future__ import annotations

from helpers.core.experiments import Comparison
from helpers.core.selfcheck import CheckResult, first_problem, not_yet, passed

# Which tool fits each job, and why (shown as the hint when a choice is wrong).
JOBS: dict[str, tuple[str, str]] = {
    "download 50 pages from a web server": (
        "threads", "downloading is waiting: the GIL is released while a thread waits, so "
                   "threads overlap the waits at almost no cost."),
    "count words in 2 GB of text with a pure-Python loop": (
        "processes", "a pure-Python loop holds the GIL, so threads take turns; only "
                     "separate processes run it on several CPUs at once."),
    "SHA-256 of 20 large byte strings already in memory": (
        "threads", "hashlib releases the GIL for data above 2047 bytes, so threads hash in "
                   "parallel without copying the data to other processes."),
    "simulate 1,000 dice games with a pure-Python loop each": (
        "processes", "pure-Python CPU work: the GIL lets one thread at a time run it."),
}
TOOLS = ("threads", "processes")


def check_tool_choices(choices: object) -> CheckResult:
    """Check a dict mapping every job in :data:`JOBS` to "threads" or "processes"."""
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


def check_zlib_comparison(comparison: object) -> CheckResult:
    """Check a :class:`Comparison` of serial and threads on the ``zlib`` workload."""
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
    ], "")
    if not result:
        return result
    threads = runs["threads"]
    return passed(f"measured: threads were {comparison.speedup('threads'):.2f}× serial with "
                  f"{threads.utilisation:.1f} CPUs busy on {comparison.effective_cpus} "
                  "effective CPUs. zlib releases the GIL while it compresses, so threads can "
                  "use more than one CPU when the machine has them.")
