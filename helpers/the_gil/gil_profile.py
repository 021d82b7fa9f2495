"""The GIL itself, millisecond by millisecond: Python 3.15's sampling profiler.

:mod:`helpers.core.thread_trace` shows when each thread made progress; it cannot see the
GIL. Python 3.15's sampling profiler (``python3.15 -m profiling.sampling``) can: a few
thousand times a second it reads, from outside, every thread's state in the target's
memory — holds the GIL, has asked for it, is on a CPU — and ``--gecko`` writes the
changes as markers (``HasGIL``, ``WaitingforGIL``, ``OnCPU``, ``OffCPU``, …; times in ms).

:func:`profile_gil` runs the lab's own thread trace under that profiler in a 3.15+ Python
(:func:`find_profiler_python`; a process cannot sample itself, so even a 3.15 kernel
starts a child) and keeps, for each traced worker (picked by its native thread id), when
it **held** the GIL, **waited** for it, and — neither — was **on CPU** (the profiler's
``OnCPU``: running or ready to run, e.g. just after it lost the GIL and before it asked
again) or **off CPU** (asleep).

Lining the two up: the trace starts its workers at a ``time.perf_counter()`` moment. The
profiler stamps each sample with ``perf_counter`` too, but writes its times in ms since its
first sample, a moment it does not record; ``meta.startTime`` (``time.monotonic()``, the
same clock in 3.13+, checked by :data:`PROBE`) is when its collector was made, just
before it attached and took that first sample (0.3 ms before, here). And a state change is
seen at the next sample, up to one ``meta.interval`` (about 0.2 ms) late. So the window —
from the instant the workers started, for the trace's ``seconds`` — is placed on the
profile's time axis from ``meta.startTime``, to within about a millisecond: nothing the
shares or hand-offs of a few hundred ms depend on, and no stretch is measured finer than
one sample anyway. ``agreement`` checks the placing: the share of the time each worker
made progress (its own notes) that falls inside the stretches in which the profiler saw it
hold the GIL (0.8-0.9 here; lower when other programs take the CPUs).

Reading another process's memory needs permission (Linux: the same user and
``ptrace_scope`` 0/1, or ``CAP_SYS_PTRACE``; macOS: ``sudo``). Without it, or without a
3.15+ Python, the result is :meth:`GilProfile.unavailable` with the reason in one sentence.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from helpers.core.arguments import require_float
from helpers.core.noise import MachineLoad, watch_load
from helpers.core.other_pythons import Wanted, ask, candidates, other_python_env, strip_ansi
from helpers.core.settings import SOURCE_ROOT
from helpers.core.thread_trace import Trace, check_trace_arguments, default_seconds

PROFILER_ENV = "LAB_PROFILER_PYTHON"  # a 3.15+ Python to profile in: asked first
MINIMUM = (3, 15)
SAMPLE_RATE = "5khz"  # the fastest rate at which the sampler still sleeps between samples
# (at 10 kHz it spins, and here its failed reads doubled, to ~19 %)
PROBE = ("import sys, sysconfig, time, json; c = time.get_clock_info; ready = True\n"
         "try: import profiling.sampling\nexcept ImportError: ready = False\n"
         "print(json.dumps({'version': sys.version.split()[0], 'ready': ready, "
         "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), 'same_clock': "
         "c('monotonic').implementation == c('perf_counter').implementation}))")
Span = tuple[float, float]  # (start, end) in ms since the window started
STATES = ("HasGIL", "WaitingforGIL", "OnCPU", "OffCPU")  # the marker types read


@dataclass(frozen=True)
class ThreadStates:
    """One worker thread's states in the window, as (start, end) ms since it started."""

    tid: int
    held: list[Span]  # holds the GIL
    waited: list[Span]  # has asked for the GIL and waits
    on_cpu: list[Span]  # on a CPU or ready for one, without the GIL, not asking for it
    off_cpu: list[Span]  # off CPU (asleep, blocked) and not waiting for the GIL


@dataclass(frozen=True)
class GilProfile:
    """The workers' GIL states, or why there are none (``reason``)."""

    threads: list[ThreadStates]
    window_ms: float  # length of the window (the trace's seconds, in ms)
    interval_ms: float  # the profiler's mean sampling interval (meta.interval)
    trace: Trace | None  # the lab's own trace of the same run
    python: str = ""  # e.g. 'Python 3.15.2'
    reason: str = ""  # why nothing was measured ('' when measured)
    agreement: float = 0.0  # share of the workers' progress inside their GIL stretches

    @classmethod
    def unavailable(cls, reason: str, python: str = "") -> "GilProfile":
        return cls([], 0.0, 0.0, None, python, reason)

    @property
    def available(self) -> bool:
        return not self.reason

    @property
    def load(self) -> MachineLoad | None:
        return self.trace.load if self.trace else None


# --- which Python ----------------------------------------------------------------------

@dataclass(frozen=True)
class ProfilerPython:
    """A Python found on this machine, and whether it can profile the GIL (``problem``)."""

    path: str
    version: str
    free_threaded: bool = False
    problem: str = ""  # why it cannot ('' when it can)

    @property
    def label(self) -> str:
        return f"Python {self.version}{'t' if self.free_threaded else ''}"


def probe_profiler(path: str | os.PathLike) -> ProfilerPython | None:
    """Start the Python at ``path`` to ask what it is and whether it has the profiler
    (``None`` if it is missing or does not answer)."""
    facts = ask(path, PROBE)
    if facts is None:
        return None
    found = ProfilerPython(str(path), facts["version"], facts["free_threaded"])
    if tuple(int(n) for n in found.version.split(".")[:2]) < MINIMUM:
        problem = f"{found.label} has no sampling profiler (it came with 3.15)"
    elif found.free_threaded:
        problem = (f"{found.label} is free-threaded: it has no GIL to draw (its threads run "
                   "side by side, notebook 07)")
    elif not facts["ready"]:
        problem = f"{found.label} cannot import profiling.sampling"
    elif not facts["same_clock"]:
        problem = (f"in {found.label} the profiler's clock is not perf_counter's, so its "
                   "profile cannot be lined up with the workers' start")
    else:
        problem = ""
    return replace(found, problem=problem)


def profiler_candidates(environ: Mapping[str, str] | None = None, home: Path | None = None
                        ) -> list[str]:
    """Paths to ask, in order: ``$LAB_PROFILER_PYTHON``; this kernel if it is 3.15+; then
    every place :func:`helpers.core.other_pythons.candidates` looks for a 3.15+ (``PATH``,
    the lab's cache, pyenv, uv; newest first within each). Each path once."""
    env = os.environ if environ is None else environ
    wanted = Wanted(PROFILER_ENV, at_least=MINIMUM)
    found = candidates(wanted, env, home)
    kernel = [sys.executable] if sys.version_info >= MINIMUM else []
    return list(dict.fromkeys(found[:1] + kernel + found[1:] if env.get(PROFILER_ENV)
                              else kernel + found))


def find_profiler_python() -> ProfilerPython | None:
    """The first of :func:`profiler_candidates` that can run 3.15's sampling profiler: a GIL
    build (the GIL is what is drawn), ``None`` when there is none. (A process cannot sample
    itself: even a 3.15 kernel is started again, as a child.)"""
    for path in profiler_candidates():
        found = probe_profiler(path)
        if found is not None and not found.problem:
            return found
    return None


# --- running the profiler --------------------------------------------------------------

def profile_command(python: ProfilerPython, out: Path, workload: str, workers: int,
                    seconds: float, switch_interval_ms: float | None) -> list[str]:
    """The profiler, sampling every thread, around the lab's trace (as ``measure_cli``)."""
    arguments = json.dumps([workload, workers, seconds, "threads", switch_interval_ms])
    return [python.path, "-m", "profiling.sampling", "run", "--mode", "wall", "-a",
            "-r", SAMPLE_RATE, "--gecko", "-o", str(out), "-m", "helpers.core.measure_cli",
            "call", "helpers.core.thread_trace:trace_as_dict", arguments]


def profile_gil(workload: str = "count", workers: int = 2, seconds: float | None = None,
                switch_interval_ms: float | None = None, python: ProfilerPython | None = None,
                timeout: float = 60.0) -> GilProfile:
    """Trace ``workers`` threads on ``workload`` (:func:`~helpers.core.thread_trace.trace_run`)
    under 3.15's profiler in ``python`` (default :func:`find_profiler_python`), and read
    each worker's GIL states. Bounded by ``timeout``: then (or on ■) the profiler and its
    target are killed. Never raises for a missing Python, a refused permission or a failed
    child: the :class:`GilProfile` says why (``reason``)."""
    seconds = default_seconds() if seconds is None else seconds
    check_trace_arguments(workload, workers, seconds, "threads", switch_interval_ms)
    require_float("timeout", timeout, 0.1, 600.0)
    python = python or find_profiler_python()
    if python is None:
        return GilProfile.unavailable("no Python 3.15 or newer was found (its sampling "
                                      "profiler is the one that sees the GIL)")
    if python.problem:
        return GilProfile.unavailable(python.problem, python.label)
    folder = Path(tempfile.mkdtemp(prefix="lab-gil-"))
    try:
        command = profile_command(python, folder / "out.json", workload, workers, seconds,
                                  switch_interval_ms)
        with watch_load() as watch:
            code, stdout, stderr = _run_bounded(command, folder, timeout)
        if code is None:
            return GilProfile.unavailable(f"the profiled run did not finish within "
                                          f"{timeout:g} s and was stopped", python.label)
        if code != 0:
            return GilProfile.unavailable(failure_reason(code, stderr), python.label)
        try:
            gecko = json.loads((folder / "out.json").read_text(encoding="utf-8"))
            trace = Trace.from_dict(_last_json(stdout)["returned"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            return GilProfile.unavailable(f"the profiled run left no readable result "
                                          f"({type(error).__name__})", python.label)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # Judge other programs from here: the profiler is our child, so its CPU is ours (seen
    # from the traced process it would look like another program's).
    trace = trace if watch.load is None else replace(trace, load=watch.load)
    return read_profile(gecko, trace, python.label)


def _run_bounded(command: list[str], folder: Path, timeout: float
                 ) -> tuple[int | None, str, str]:
    """Run ``command`` in its own process group; (exit code or ``None`` after a timeout,
    stdout, stderr). On a timeout or ■ the whole group is killed and reaped."""
    with open(folder / "stdout", "w+", encoding="utf-8") as out, \
            open(folder / "stderr", "w+", encoding="utf-8") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=SOURCE_ROOT,
                                 env=other_python_env(), start_new_session=True)
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _stop_group(child)
        out.seek(0), err.seek(0)
        return code, out.read(), strip_ansi(err.read())


def _stop_group(child: subprocess.Popen) -> None:
    """Kill the child's process group (the profiler and the process it samples), reap it."""
    if hasattr(os, "killpg"):  # POSIX; also when the child has exited: its target may not
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
    if child.poll() is None:
        child.kill()
    child.wait(timeout=10)


PERMISSION_SIGNS = ("unable to access process memory", "administrator rights",
                    "unable to access the target process")


def failure_reason(code: int, stderr: str) -> str:
    """One sentence: why the profiled run failed (a refused permission, said plainly)."""
    if any(sign in stderr.lower() for sign in PERMISSION_SIGNS):
        return ("the profiler was not permitted to read another process's memory (Linux: "
                "it needs CAP_SYS_PTRACE or kernel.yama.ptrace_scope 0 or 1; macOS: sudo)")
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "no error message"
    return f"the profiled run failed (exit code {code}: {last[:200]})"


def _last_json(stdout: str) -> dict:
    """The last line of ``stdout`` that is a JSON object (the profiler prints its own
    summary after the traced program's JSON)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("the profiled run printed no JSON result")


# --- reading the gecko file ------------------------------------------------------------

def read_profile(gecko: dict, trace: Trace, python: str = "") -> GilProfile:
    """The :class:`GilProfile` of ``trace``'s workers in ``gecko`` (a profile of that run)."""
    by_tid = {thread["tid"]: thread for thread in gecko["threads"]}
    missing = [lane.tid for lane in trace.lanes if lane.tid not in by_tid]
    if missing:
        return GilProfile.unavailable(f"the profile has no thread {missing[0]} (a worker)",
                                      python)
    start = trace.start * 1000 - gecko["meta"]["startTime"]  # the window, in profile time
    window = (start, start + trace.seconds * 1000)
    threads = [thread_states(by_tid[lane.tid], window) for lane in trace.lanes]
    progress = [trace.shifted(lane) for lane in trace.lanes]
    total = sum(b - a for lane in progress for a, b in lane)
    covered = sum(overlap(t.held, ran) for t, ran in zip(threads, progress))
    return GilProfile(threads, trace.seconds * 1000, gecko["meta"]["interval"], trace,
                      python, agreement=covered / total if total > 0 else 0.0)


def overlap(spans: list[Span], others: list[Span]) -> float:
    """How long ``spans`` and ``others`` overlap; both sorted, neither overlapping itself."""
    total, j = 0.0, 0
    for a, b in spans:
        while j < len(others) and others[j][1] <= a:
            j += 1
        k = j
        while k < len(others) and others[k][0] < b:
            total += min(b, others[k][1]) - max(a, others[k][0])
            k += 1
    return total


def markers(thread: dict, kind: str) -> list[Span]:
    """A gecko thread's ``(start, end)`` ms of every marker whose ``data.type`` is ``kind``."""
    table = thread["markers"]
    return sorted((a, b) for a, b, data in zip(table["startTime"], table["endTime"],
                                               table["data"])
                  if data and data.get("type") == kind and b is not None)


def clip(spans: list[Span], window: Span) -> list[Span]:
    """``spans`` cut to ``window`` and shifted so that it starts at 0."""
    return [(max(a, window[0]) - window[0], min(b, window[1]) - window[0])
            for a, b in spans if b > window[0] and a < window[1]]


def subtract(spans: list[Span], holes: list[Span]) -> list[Span]:
    """What of ``spans`` lies outside every one of ``holes`` (both sorted)."""
    kept = []
    for a, b in spans:
        for hole_a, hole_b in holes:
            if hole_b <= a or hole_a >= b:
                continue
            if hole_a > a:
                kept.append((a, hole_a))
            a = max(a, hole_b)
        if b > a:
            kept.append((a, b))
    return kept


def thread_states(thread: dict, window: Span) -> ThreadStates:
    """One gecko thread's spans inside ``window``: held the GIL, waited for it, and —
    neither holding nor waiting — on CPU (the profiler's ``OnCPU``: running or ready to
    run) or off it."""
    held, waited, on, off = (clip(markers(thread, kind), window) for kind in STATES)
    return ThreadStates(thread["tid"], held, waited, subtract(subtract(on, held), waited),
                        subtract(off, waited))
