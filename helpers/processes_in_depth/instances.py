"""Many instances of a program: the oldest way to use several CPUs.

No pool, no pickling: start N copies of a script with :mod:`subprocess`, each
its own Python process with its own GIL, and wait for them all — what a shell
loop with ``&`` or a job scheduler does. :func:`run_instances` times N copies of
``helpers/scripts/count_instance.py`` started one after another and all at
once. Every copy is bounded by a timeout and killed (with anything it started)
on timeout or on an interrupt (■). Each run records what other programs did meanwhile
(:func:`helpers.core.noise.watch_load`), so a disturbed comparison is called disturbed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from helpers.core.arguments import require_float, require_int
from helpers.core.noise import (
    MachineLoad,
    beyond_ideal,
    busy_sentence,
    cpus_wanted,
    disturbed_sentence,
    watch_load,
)
from helpers.core.settings import default
from helpers.core.words import Verdict, plural, speedup_phrase
from helpers.the_gil.script_runs import SCRIPTS_DIR, collect_output, kill_group, popen_options

SCRIPT = SCRIPTS_DIR / "count_instance.py"
MAX_INSTANCES = 32
MAX_NUMBER = 10**8


@dataclass
class InstancesRun:
    """``count`` copies of the script, run ``together`` or one after another."""

    count: int
    number: int
    together: bool
    seconds: float  # wall time, first start to last exit
    reports: list[dict] = field(default_factory=list)  # each copy's JSON line
    load: MachineLoad | None = None  # what other programs did meanwhile

    @property
    def cpu(self) -> float:
        """CPU seconds all copies used, as each reported it."""
        return sum(report["cpu"] for report in self.reports)


def _start(number: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), str(number)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ},
                            **popen_options())


def _finish(process: subprocess.Popen, deadline: float) -> dict:
    """Wait for one copy (until ``deadline``) and parse its report."""
    stdout, stderr = process.communicate(timeout=max(deadline - time.perf_counter(), 0.01))
    if process.returncode != 0:
        raise RuntimeError(f"an instance exited with {process.returncode}: {stderr[-500:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def run_instances(count: int = 4, number: int | None = None, *, together: bool = True,
                  timeout: float = 120.0) -> InstancesRun:
    """Run ``count`` copies of the script, all at once or one after another.

    ``number``: additions per copy (default 5,000,000; 1,000,000 in quick mode).
    """
    count = require_int("count", count, 1, MAX_INSTANCES)
    number = require_int("number", int(default(5_000_000, 1_000_000)) if number is None
                         else number, 1, MAX_NUMBER)
    timeout = require_float("timeout", timeout, 0.1, 600)
    started: list[subprocess.Popen] = []
    reports = []
    with watch_load() as watch:  # copies that ended and were waited for count as ours
        start = time.perf_counter()
        deadline = start + timeout
        try:
            if together:
                started = [_start(number) for _ in range(count)]
                reports = [_finish(process, deadline) for process in started]
            else:
                for _ in range(count):
                    started.append(_start(number))
                    reports.append(_finish(started[-1], deadline))
        except BaseException:  # a timeout, a failed copy, or ■: no copy may outlive the cell
            for process in started:
                if process.poll() is None:
                    kill_group(process)
                    collect_output(process)
            raise
        seconds = time.perf_counter() - start
    return InstancesRun(count, number, together, seconds, reports,
                        watch.load)


def compare_instances(count: int = 4, number: int | None = None) -> dict[str, InstancesRun]:
    """The same copies one after another, then all at once."""
    return {"one after another": run_instances(count, number, together=False),
            "all at once": run_instances(count, number, together=True)}


def _copies(count: int) -> str:
    return f"{count} {'copy' if count == 1 else 'copies'}"


def instances_disturbances(runs: dict[str, InstancesRun], effective_cpus: int) -> list[str]:
    """One sentence (containing "disturbed") per sign that other work disturbed the
    comparison: other programs took CPUs a run could use, or a gain above the ideal."""
    found = []
    for name, run in runs.items():
        wanted = cpus_wanted(run.count if run.together else 1, run.count, effective_cpus)
        if sentence := busy_sentence(run.load, wanted, f"the copies ({name})"):
            found.append(sentence)
    serial, together = runs["one after another"], runs["all at once"]
    gain = serial.seconds / together.seconds
    ideal = ideal_gain(runs, effective_cpus)
    if beyond_ideal(gain, ideal):
        found.append(disturbed_sentence(
            "the comparison", f"all at once finished {gain:.1f}× sooner, more than "
            f"{plural(effective_cpus, 'effective CPU')} can give (at most {_times(ideal)})"))
    return found


def serial_busy(runs: dict[str, InstancesRun]) -> float:
    """CPUs the copies kept busy one after another (at most 1): below 1 when starting an
    interpreter also waited, time that copies started together can overlap."""
    serial = runs["one after another"]
    if serial.seconds <= 0 or serial.cpu <= 0:
        return 1.0
    return min(1.0, serial.cpu / serial.seconds)


def ideal_gain(runs: dict[str, InstancesRun], effective_cpus: int) -> float:
    """The most "all at once" can gain: one copy per CPU computing, and the waits of
    the one-after-another run overlapped (its CPUs busy, :func:`serial_busy`)."""
    return min(effective_cpus, runs["all at once"].count) / serial_busy(runs)


def _times(value: float) -> str:
    """'2×', '2.4×'."""
    return f"{value:.1f}".rstrip("0").rstrip(".") + "×"


def describe_instances(runs: dict[str, InstancesRun], effective_cpus: int) -> Verdict:
    """How much running the copies at once saved, against the CPUs there are; a
    disturbed comparison is called disturbed and not explained."""
    serial, together = runs["one after another"], runs["all at once"]
    gain = serial.seconds / together.seconds
    lines = [f"{_copies(serial.count)} one after another: {serial.seconds:.2f} s; "
             f"all at once: {together.seconds:.2f} s — "
             f"{speedup_phrase(gain, 'one after another')}, "
             f"{together.cpu / together.seconds:.1f} CPUs busy."]
    disturbances = instances_disturbances(runs, effective_cpus)
    if disturbances:
        return Verdict(tuple(lines + disturbances))
    if effective_cpus == 1:
        lines.append("With 1 effective CPU the copies can only take turns, so starting them "
                     "together cannot make them finish much sooner.")
    else:
        lines.append(f"Each copy is its own process with its own GIL, so up to "
                     f"{_copies(min(effective_cpus, serial.count))} can compute at "
                     f"once on {plural(effective_cpus, 'effective CPU')}; the gain is capped "
                     "there, and each start costs an interpreter's start-up time.")
    if gain > min(effective_cpus, serial.count) * 1.05:
        lines.append(f"It went beyond {min(effective_cpus, serial.count)}× because one after "
                     f"another the copies kept only {serial_busy(runs):.2f} CPUs busy: part of "
                     "each start-up waited rather than computed, and together those waits "
                     "overlapped.")
    return Verdict(tuple(lines))
