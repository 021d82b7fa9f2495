"""Run the seed article's combined example as a script, in its own Python process.

Three scripts live in ``helpers/scripts/``:

``seed_combined``
    The article's "Multiprocessing and Threading Example", **verbatim** (a test diffs
    it against the article's text): a count of 10**7 in one thread beside a 2 s
    ``time.sleep`` in another, then a count of 5×10**6 and the sleep in two processes;
    no ``if __name__ == "__main__":`` guard. Its only timing is the sleep, read with
    ``time.time()`` inside ``io_bound_task``.
``seed_timed``
    **The lab's copy**, labelled so in its header: the article's code with timers added
    around the count and around each example as a whole (lines marked ``# lab:``), so
    a run shows whether the count and the sleep overlapped.
``seed_combined_fixed``
    The lab's version that can show the GIL: the same CPU-bound work run serially,
    in 2 threads and in 2 processes, no sleep, a main guard, and a last line
    ``RESULT {json}`` that :func:`describe_run` turns into sentences.

What each start method does with the seed script (no main guard):

* **fork**: a child is a copy of the parent, already past the top level; it runs its
  target only, so the script seems to work (Linux's default up to 3.13).
* **spawn**: a child starts a fresh interpreter and imports the script to find
  ``cpu_bound_task``; that import runs the whole top level again — the threading
  example (2 s), then ``process1.start()``, which raises "An attempt has been made to
  start a new process before the current process has finished its bootstrapping
  phase". The child dies, its target never runs; the parent's ``join()`` returns and
  it exits with code 0 (the default on macOS and Windows).
* **forkserver** (Linux's default from 3.14): children are forked from a server
  process, and import the script like spawn's. From 3.14 the server also imports the
  script once, to preload it: on 3.14 the server itself dies of the same error (no
  child ever starts and the parent fails); on 3.15 it ignores the error and goes on
  to start the children, which die as under spawn. :attr:`ScriptRun.fork_server_died`
  tells which happened.

Why a separate process? The seed script's mistakes only show when it runs as
``python script.py``: a child started with *spawn* or *forkserver* imports the
main script again, and a notebook's ``__main__`` is not a script.

How :func:`run_script` chooses the start method without editing the script: it
runs a temporary copy with one line added at the top (after a docstring, if any)::

    import multiprocessing; multiprocessing.set_start_method('spawn', force=True)

``force=True`` matters: a spawned child re-imports the file and so runs that
line again, in a process whose start method multiprocessing has already set
from the parent's — without ``force`` it would raise "context has already been
set". Tracebacks therefore name the temporary copy, one line further down.

Safety: every run has a timeout (the seed takes about 4 s under fork, 5 s under
spawn). The script starts in a new session (its own process group) so that, on
timeout or ``KeyboardInterrupt`` (the notebook's stop button), the whole group —
script, its child processes, a fork server, the resource tracker — is killed with
``os.killpg`` and no grandchild survives. Windows has neither fork nor ``killpg``:
there the script gets a new process group and the tree is killed with ``taskkill /T``.

Noise: each run records how busy other programs kept the CPUs meanwhile
(:attr:`ScriptRun.load`, :mod:`helpers.core.noise`), so that a disturbed run of the
fixed script is called disturbed instead of being explained.
"""
from __future__ import annotations

import ast
import html
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX: CPU time of children that exited
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.colours import VERMILLION
from helpers.core.executors import resolve_start_method
from helpers.core.noise import (
    MachineLoad,
    beyond_cpus,
    beyond_cpus_sentence,
    beyond_ideal,
    busy_sentence,
    cpus_wanted,
    disturbed_sentence,
    load_disturbed,
    starved,
    watch_load,
)
from helpers.core.settings import HELPERS_DIR, default
from helpers.core.system import effective_cpu_count
from helpers.core.words import FASTER, PARALLEL, Verdict, plural, speedup_phrase

SCRIPTS_DIR = HELPERS_DIR / "scripts"
SCRIPTS: dict[str, str] = {
    "seed_combined": "the article's combined example, verbatim (no main guard)",
    "seed_timed": "the lab's copy of the article's example, with timers added",
    "seed_combined_fixed": "the fixed example: same work serially, in 2 threads and "
                           "in 2 processes, no sleep, a main guard",
}
FIXED = "seed_combined_fixed"
DEFAULT_TIMEOUT = 120.0
MAX_TIMEOUT = 600.0
MAX_NUMBER = 10**9
RESULT_PREFIX = "RESULT "
# The end of the RuntimeError a child raises when it tries to start a process
# while it is still importing the main script (Python 3.10-3.13 word it the same).
BOOTSTRAP_MARK = "current process has finished its bootstrapping phase"
_KILL_GRACE = 10.0  # seconds to collect output after the group was killed


def _check_name(name: object) -> str:
    return require_choice("name", name, SCRIPTS)


def script_path(name: str) -> Path:
    """Where the script ``name`` (one of :data:`SCRIPTS`) is stored."""
    return SCRIPTS_DIR / f"{_check_name(name)}.py"


@dataclass(frozen=True)
class ScriptSource:
    """A script's source; shows as highlighted Python in a notebook."""

    name: str
    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.text.rstrip()}\n```"


def script_source(name: str) -> ScriptSource:
    """The source of the script ``name``, exactly as stored, for display."""
    return ScriptSource(name, script_path(name).read_text(encoding="utf-8"))


def start_method_line(start_method: str) -> str:
    """The line :func:`run_script` adds to the script to choose its start method."""
    method = require_choice("start_method", start_method, multiprocessing.get_all_start_methods())
    return f"import multiprocessing; multiprocessing.set_start_method({method!r}, force=True)"


def insertion_line(text: str) -> int:
    """Lines to keep before the added line: the docstring and ``from __future__`` imports.

    (A line above the docstring would turn it into a plain string, and
    ``from __future__`` imports must come first.)
    """
    after = 0
    for node in ast.parse(text).body:
        is_docstring = (after == 0 and isinstance(node, ast.Expr)
                        and isinstance(node.value, ast.Constant)
                        and isinstance(node.value.value, str))
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (is_docstring or is_future):
            break
        after = node.end_lineno or after
    return after


def prepared_source(name: str, start_method: str) -> ScriptSource:
    """The script as :func:`run_script` runs it: one line added to set the start method."""
    lines = script_source(name).text.splitlines(keepends=True)
    at = insertion_line("".join(lines))
    lines.insert(at, start_method_line(start_method) + "\n")
    return ScriptSource(name, "".join(lines))


def default_number() -> int:
    """The fixed script's default additions per task: 2×10**7, or the article's 10**7 in
    quick mode (about 0.3 s per task; smaller tasks let process start-up hide the gain)."""
    return int(default(2 * 10**7, 10**7))


@dataclass(frozen=True)
class ScriptRun:
    """What one run of a script did: its output, exit code and how long it took.

    ``returncode`` is negative when a signal ended the script (−9 after a
    timeout). ``result`` is the fixed script's ``RESULT`` line as a dict, or
    ``None`` for the seed script (or when the fixed script failed).
    """

    script: str
    command: tuple[str, ...]
    start_method: str
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool
    timeout: float
    pid: int
    result: dict | None = None
    load: MachineLoad | None = None  # other programs' CPU use meanwhile, script excluded

    @property
    def ok(self) -> bool:
        """True when the script finished in time with exit code 0."""
        return self.returncode == 0 and not self.timed_out

    @property
    def bootstrap_errors(self) -> int:
        """How many processes died of "start a new process before … bootstrapping phase"."""
        return self.stderr.count(BOOTSTRAP_MARK)

    @property
    def fork_server_died(self) -> bool:
        """Whether the fork server itself died of that error while it imported the script.

        Since Python 3.14 the fork server imports the main script once, to preload it for
        every child; a child's traceback passes through the server's ``_serve_one``, the
        server's own does not.
        """
        return any(BOOTSTRAP_MARK in block and "forkserver.py" in block
                   and "_serve_one" not in block for block in _tracebacks(self.stderr))

    @property
    def child_errors(self) -> int:
        """How many child processes (the fork server not counted) died of that error."""
        return self.bootstrap_errors - self.fork_server_died

    def _header(self) -> str:
        status = (f"stopped after the {self.timeout:g} s timeout" if self.timed_out
                  else f"exit code {self.returncode}")
        return (f"{self.script}.py under '{self.start_method}': {status}, "
                f"{self.seconds:.1f} s")

    def __str__(self) -> str:
        parts = [self._header(), "--- stdout ---", self.stdout.rstrip()]
        if self.stderr.strip():
            parts += ["--- stderr ---", self.stderr.rstrip()]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        out = (f"<p><b>{html.escape(self._header())}</b></p>"
               f"<pre>{html.escape(self.stdout.rstrip()) or '(no output)'}</pre>")
        if self.stderr.strip():
            out += (f"<p><b>stderr</b></p><pre style='color:{VERMILLION}'>"
                    f"{html.escape(self.stderr.rstrip())}</pre>")
        return out


def _tracebacks(stderr: str) -> list[str]:
    """``stderr`` cut into one piece per traceback (each starts at its header line)."""
    return stderr.split("Traceback (most recent call last):")[1:]


def _last_error(stderr: str) -> str:
    """The last exception line of ``stderr`` (``ConnectionResetError: …``), or ``''``."""
    lines = [line for line in stderr.splitlines() if line and not line[0].isspace()]
    errors = [line for line in lines if re.match(r"[A-Za-z_.]*(Error|Exception)\b", line)]
    return errors[-1].strip() if errors else ""


def parse_result(stdout: str) -> dict | None:
    """The JSON after the last ``RESULT `` line of ``stdout``, or ``None``."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                return json.loads(line[len(RESULT_PREFIX):])
            except json.JSONDecodeError:
                return None
    return None


def popen_options() -> dict:
    """Start the script as the leader of a new process group, so it can be killed whole."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def kill_group(process: subprocess.Popen) -> None:
    """Kill the script and everything it started.

    Safe against pid reuse: until the script is reaped (``wait``) its pid stays
    taken, and while any member of its group lives the group id stays taken.
    """
    if hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is already gone
    else:  # Windows: no process groups to signal; kill the tree instead
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, timeout=_KILL_GRACE, check=False)
        process.kill()


def run_script(name: str, start_method: str | None = None, *, number: int | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> ScriptRun:
    """Run script ``name`` with this Python under ``start_method``, for at most ``timeout`` s.

    ``start_method``: ``"fork"``, ``"spawn"`` or ``"forkserver"`` (those this
    platform has); ``None`` means the lab's (:func:`helpers.core.settings.start_method`).
    ``number``: additions per task for ``seed_combined_fixed`` (default
    :func:`default_number`); the seed script takes none — it hard-codes 10**7
    for the thread and 5×10**6 for the process.

    Output is unbuffered (``PYTHONUNBUFFERED=1``) so lines appear in the order
    they were printed, as in a terminal. On timeout the process group is
    killed and the run is returned with ``timed_out=True``; on
    ``KeyboardInterrupt`` it is killed and the interrupt goes on.
    """
    name = _check_name(name)
    method = resolve_start_method(start_method)
    timeout = require_float("timeout", timeout, 0.1, MAX_TIMEOUT)
    arguments = script_arguments(name, number)
    with tempfile.TemporaryDirectory(prefix="lab-script-", ignore_cleanup_errors=True) as folder:
        copy = Path(folder) / f"{name}.py"
        copy.write_text(prepared_source(name, method).text, encoding="utf-8")
        command = (sys.executable, str(copy), *arguments)
        children_before = _children_cpu()
        with watch_load() as watch:
            start = time.perf_counter()
            process = start_script(command, folder)
            stdout, stderr, timed_out = wait_bounded(process, timeout)
            seconds = time.perf_counter() - start
    stdout, stderr = plain_text(stdout), plain_text(stderr)
    result = parse_result(stdout) if name == FIXED else None
    counted = _children_cpu() - children_before  # watch_load counted this as ours
    uncounted = own_cpu_seconds(result, counted) - counted
    return ScriptRun(name, command, method, process.returncode, stdout, stderr, seconds,
                     timed_out, timeout, process.pid, result,
                     script_load(watch.load, uncounted, seconds))


def script_arguments(name: str, number: int | None) -> list[str]:
    """The command-line arguments for script ``name``: the fixed script's additions per
    task (default :func:`default_number`); the seed script takes none."""
    if name == FIXED:
        number = default_number() if number is None else number
        return [str(require_int("number", number, 1, MAX_NUMBER))]
    if number is not None:
        raise ValueError(f"number must be None for {name!r}: only {FIXED!r} takes a number "
                         f"(from 1 to {MAX_NUMBER}), got {number!r}")
    return []


# Unbuffered UTF-8, so lines arrive in the order they were printed; and no colours:
# Python 3.13+ colours tracebacks for a terminal, which would show as escape codes here.
PLAIN_OUTPUT = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "PYTHON_COLORS": "0",
                "NO_COLOR": "1"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain_text(text: str) -> str:
    """``text`` without ANSI escape codes (colours, cursor moves), should any get through."""
    return _ANSI.sub("", text)


def start_script(command: tuple[str, ...], folder: str) -> subprocess.Popen:
    """Start ``command`` in ``folder`` as the leader of a new process group, its output
    unbuffered, in UTF-8 and without colours (:data:`PLAIN_OUTPUT`)."""
    env = {**os.environ, **PLAIN_OUTPUT}
    return subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace", **popen_options())


def wait_bounded(process: subprocess.Popen, timeout: float) -> tuple[str, str, bool]:
    """Wait at most ``timeout`` s for the script; return its stdout, its stderr and
    whether it timed out. On timeout, or on any exception (``KeyboardInterrupt``
    included: no child may outlive the cell), the whole group is killed first."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return stdout, stderr, False
    except subprocess.TimeoutExpired:
        kill_group(process)
        stdout, stderr = collect_output(process)
        return stdout, stderr, True
    except BaseException:
        kill_group(process)
        collect_output(process)
        raise


def collect_output(process: subprocess.Popen) -> tuple[str, str]:
    """Output written before the kill; bounded even if something still holds the pipes."""
    try:
        return process.communicate(timeout=_KILL_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait(_KILL_GRACE)
        return "", ""


# --- words derived from a run ------------------------------------------------------

# Not anchored to line starts: unbuffered, print() writes its text and its "\n"
# separately, so two processes printing at the same instant may swap newlines.
_NUMBER = r"([0-9.eE+-]+)"
_SEED_LINES = {
    "starts": re.compile(r"Running Multithreading Example:"),
    "sleep": re.compile(rf"I/O-bound task completed in {_NUMBER} seconds"),
    "count": re.compile(r"CPU-bound result: (\d+)"),
    # printed only by the lab's timed copy (seed_timed.py)
    "counting": re.compile(rf"Counting took {_NUMBER} seconds"),
    "threads": re.compile(rf"Multithreading example took {_NUMBER} seconds"),
    "processes": re.compile(rf"Multiprocessing example took {_NUMBER} seconds"),
}


def _numbers(key: str, text: str) -> tuple[float, ...]:
    """Every number that ``text`` prints on a line of kind ``key`` (see ``_SEED_LINES``)."""
    return tuple(float(value) for value in _SEED_LINES[key].findall(text))


def describe_run(run: ScriptRun, cpus: int | None = None) -> Verdict:
    """Sentences about ``run``, derived from what it printed.

    ``cpus`` is the number of effective CPUs the run had (default:
    :func:`helpers.core.system.effective_cpu_count`, this machine's).
    """
    if not isinstance(run, ScriptRun):
        raise ValueError(f"run must be a ScriptRun from run_script(), got {type(run).__name__}")
    cpus = effective_cpu_count() if cpus is None else require_int("cpus", cpus, 1, 4096)
    if run.timed_out:
        return Verdict((f"The script did not finish within {run.timeout:g} s, so it was "
                        "stopped: its whole process group was killed. Give it a larger "
                        "timeout (or a smaller number).",))
    if run.script == FIXED:
        return _describe_fixed(run, cpus)
    return _describe_seed(run)


# --- the seed script: what its output shows, and what it cannot show -----------------

@dataclass(frozen=True)
class _SeedOutput:
    """What the seed script (or the lab's timed copy) printed, in the order it printed it.

    Every process that ran the script's top level printed its own
    'Running Multithreading Example:': a child that re-imported the script (no main
    guard) adds one.
    """

    run: ScriptRun
    starts: int  # 'Running Multithreading Example:' lines
    sleeps: tuple[float, ...]  # 'I/O-bound task completed in' lines
    counts: tuple[int, ...]  # 'CPU-bound result' lines
    countings: tuple[float, ...]  # the lab's 'Counting took' lines (seed_timed only)
    threads: tuple[float, ...]  # the lab's 'Multithreading example took' lines
    processes: tuple[float, ...]  # the lab's 'Multiprocessing example took' lines

    @property
    def server_reran(self) -> bool:
        """True when top-level runs outnumber the parent's plus the dead children's: under
        forkserver the fork server re-ran the script's top level while preloading it."""
        return (self.run.start_method == "forkserver"
                and self.starts - 1 > self.run.child_errors)


def _read_seed_output(run: ScriptRun) -> _SeedOutput:
    """The lines and numbers in ``run``'s stdout, sorted by the line that printed them."""
    out = run.stdout
    return _SeedOutput(run, len(_SEED_LINES["starts"].findall(out)), _numbers("sleep", out),
                       tuple(int(c) for c in _numbers("count", out)),
                       _numbers("counting", out), _numbers("threads", out),
                       _numbers("processes", out))


def _describe_seed(run: ScriptRun) -> Verdict:
    """One sentence per thing the seed script's output shows, in the order a reader
    needs them: its one timing, the lab's timers (timed copy only), the uneven work,
    dead children, the fork server, the parent."""
    seen = _read_seed_output(run)
    lines = [f"Under '{run.start_method}' the script ran for {run.seconds:.1f} s and exited "
             f"with code {run.returncode}.",
             _seed_only_timing(seen), _lab_timers(seen), _seed_uneven_work(seen),
             _seed_dead_children(seen), _seed_fork_server(seen), _seed_parent(seen),
             _seed_failed(run)]
    return Verdict(tuple(line for line in lines if line))


def _seed_only_timing(seen: _SeedOutput) -> str:
    """The article's one measurement: the sleep, timed from inside io_bound_task."""
    if not seen.sleeps:
        return ""
    low, high = min(seen.sleeps), max(seen.sleeps)
    printed = (f"{low:.2f} seconds" if high - low < 0.005
               else f"{low:.2f} to {high:.2f} seconds")
    times = len(seen.sleeps)
    return (f"The article's only timing is 'I/O-bound task completed in …' ({printed}, "
            f"printed {plural(times, 'time')}): `time.time()` read inside `io_bound_task`, "
            "just around `time.sleep(2)`. It measures the sleep and nothing else — not the "
            "count, not the threads or processes as a whole — so it would print about 2 s "
            "with or without threads, processes or a GIL.")


def _lab_timers(seen: _SeedOutput) -> str:
    """The lab's timed copy: did the count and the sleep overlap in the threading example?"""
    if not (seen.threads and seen.countings and seen.sleeps):
        return ""
    count, sleep, whole = seen.countings[0], seen.sleeps[0], seen.threads[0]
    overlap = min(count + sleep - whole, count, sleep)
    timers = (f"The lab's timers (not the article's): in the threading example the count "
              f"took {count:.2f} s and the sleep {sleep:.2f} s, and the whole example "
              f"{whole:.2f} s")
    if overlap < 0.25 * min(count, sleep):
        return disturbed_sentence("the threading example",
                                  timers + ", about their sum, so they hardly overlapped")
    return (timers + f": they overlapped for about {overlap:.2f} s. A sleeping thread "
            "releases the GIL, so the counting thread computed while the other one slept.")


def _seed_uneven_work(seen: _SeedOutput) -> str:
    """The article gives the thread twice the additions of the process."""
    if not seen.counts:
        return ""
    printed = ", ".join(f"{c:,}" for c in seen.counts)
    return ("The article gives the thread 10,000,000 additions and the process only "
            "5,000,000, so its two examples do not even do the same work. "
            + (f"The results printed ({printed}) show both." if 5_000_000 in seen.counts
               else f"Here the results printed were {printed}: the 5,000,000 task "
                    "never ran, and the extra lines come from other processes "
                    "re-running the script's threading example."))


def _seed_dead_children(seen: _SeedOutput) -> str:
    """Children that re-imported the script (no main guard) and died starting processes."""
    children = seen.run.child_errors
    if not children:
        return ""
    extra = max(seen.starts - 1 - seen.server_reran - seen.run.fork_server_died, 0)
    return (f"{children} child process{'es' if children != 1 else ''} died with RuntimeError: "
            "\"An attempt has been made to start a new process before the current process "
            f"has finished its bootstrapping phase.\" Under '{seen.run.start_method}' a child "
            "imports the script again; with no `if __name__ == \"__main__\":` guard that "
            f"import re-ran the threading example ({extra} extra 'Running Multithreading "
            f"Example:' line{'s' if extra != 1 else ''}) and then tried to start processes "
            "of its own.")


def _seed_fork_server(seen: _SeedOutput) -> str:
    """What the fork server did when it preloaded the script: died of it, or survived."""
    if seen.run.fork_server_died:
        return ("The fork server itself died of the same RuntimeError: it imports the script "
                "once, to preload it for every child, so it re-ran the threading example (one "
                "extra 'Running Multithreading Example:' line) and then tried to start "
                "processes of its own.")
    if seen.server_reran:
        return ("One more 'Running Multithreading Example:' line than the children explain: "
                "the fork server imports the script once, to preload it for every child, and "
                "re-ran the threading example; this Python ignores the error it then hit, so "
                "it went on to start the children.")
    return ""


def _seed_parent(seen: _SeedOutput) -> str:
    """What the parent made of it: a success for crashed children, a failure, or — under
    fork — a script that seems to work."""
    run = seen.run
    if run.bootstrap_errors and run.ok:
        timed = (f" Its 'Multiprocessing example took {seen.processes[-1]:.2f} seconds' (the "
                 "lab's timer) measures children that crashed, not the work they were given."
                 if seen.processes else "")
        return (f"Yet the parent exited with code {run.returncode}: join() returns when a "
                "child dies, and the script never checks exitcode. None of the 'I/O-bound "
                "task completed' lines came from the processes it started: they died before "
                "running their target." + timed)
    if run.bootstrap_errors and not run.ok:
        last = _last_error(run.stderr)
        return (f"The parent failed too (exit code {run.returncode}"
                + (f", last error: {last}" if last else "") + "): no child ever ran.")
    if run.start_method == "fork" and run.ok:
        return ("Under 'fork' each child starts as a copy of the parent, already past the "
                "script's top level, so it runs only its target: that is why the script seems "
                "to work on Linux up to Python 3.13, and breaks under spawn (macOS, Windows) "
                "and forkserver (Linux from 3.14).")
    return ""


def _seed_failed(run: ScriptRun) -> str:
    """A failure that no bootstrapping error explains."""
    if run.ok or run.bootstrap_errors:
        return ""
    return f"The script failed (exit code {run.returncode}); see its stderr."


# --- the fixed script: the same work serially, in threads and in processes ------------

def fixed_disturbance(run: ScriptRun, cpus: int) -> str:
    """Why the fixed script's numbers are noise, as one sentence with "disturbed"; ``''``
    when they are not. Signs (:mod:`helpers.core.noise`): other programs left fewer CPUs
    than the 2 processes could use; the serial run or the threads (one CPU's worth of
    work) got less than a CPU; a speedup above what the CPUs allow."""
    result = run.result or {}
    if not result:
        return ""
    wanted = cpus_wanted(result["workers"], result["workers"], cpus)
    if load_disturbed(run.load, wanted):
        return busy_sentence(run.load, wanted, "the fixed script")
    for way in ("serial", "threads"):
        if starved(result[way]["cpus_busy"]):
            return disturbed_sentence(
                "the fixed script's run", f"the {way} run kept only "
                f"{result[way]['cpus_busy']:.1f} CPUs busy on work that computes all the time")
    for way in ("threads", "processes"):  # the lab's rules (helpers.core.words), so that
        gain, busy = _gain(result, way), result[way]["cpus_busy"]  # both agree in notebook 03
        if beyond_cpus(gain, busy, result["serial"]["cpus_busy"]):
            return beyond_cpus_sentence("the fixed script's run", way, gain, busy, "serial",
                                        result["serial"]["cpus_busy"])
        if beyond_ideal(gain, wanted):
            return disturbed_sentence(
                "the fixed script's run", f"{way} were {gain:.2f}× serial, more than the "
                f"{wanted}× that {plural(wanted, 'CPU')} at a time can give them")
    return ""


def gil_of(result: dict) -> bool:
    """Whether the script's interpreter ran with the GIL (its RESULT says)."""
    return bool(result.get("gil_enabled", True))


def _describe_fixed(run: ScriptRun, cpus: int) -> Verdict:
    """The three timings, then what they mean on this many CPUs with this GIL — or, when
    the run was disturbed, only that."""
    result = run.result
    if not run.ok or not result:
        return Verdict((f"The fixed script failed under '{run.start_method}' (exit code "
                        f"{run.returncode}) and printed no RESULT line; see its stderr.",))
    disturbance = fixed_disturbance(run, cpus)
    if disturbance:
        return Verdict((*_fixed_timings(result), disturbance))
    if cpus == 1:
        return Verdict((*_fixed_timings(result), _FIXED_ON_ONE_CPU))
    return Verdict((*_fixed_timings(result), _fixed_threads(result),
                    _fixed_processes(result, cpus),
                    "Unlike the article's example, every worker does the same number of "
                    "additions and a serial run gives the baseline; the sleep is left out: "
                    "it needs no CPU, so beside the count it would only hide the difference."))


_FIXED_ON_ONE_CPU = ("You have 1 effective CPU: only one task can compute at a time, so no "
                     "speedup can be expected from threads or processes here; what you see "
                     "is what each of them costs.")


def _gain(result: dict, way: str) -> float:
    """Serial wall time ÷ the wall time of ``way`` ("threads" or "processes")."""
    return result["serial"]["wall"] / result[way]["wall"]


def _fixed_timings(result: dict) -> list[str]:
    """One line per way of running the tasks: time or speedup, and CPUs busy."""
    serial, threads, processes = result["serial"], result["threads"], result["processes"]
    workers = result["workers"]
    return [
        f"Serial: {workers} tasks of {result['number']:,} additions took "
        f"{serial['wall']:.2f} s with {serial['cpus_busy']:.1f} CPUs busy.",
        f"{workers} threads: {speedup_phrase(_gain(result, 'threads'))}, "
        f"{threads['cpus_busy']:.1f} CPUs busy.",
        f"{workers} processes ('{result['start_method']}'): "
        f"{speedup_phrase(_gain(result, 'processes'))}, "
        f"{processes['cpus_busy']:.1f} CPUs busy.",
    ]


def _fixed_threads(result: dict) -> str:
    """What the threads show: turn-taking under the GIL, or parallelism without it."""
    threads = result["threads"]
    if not gil_of(result):
        return ("The GIL is off in this interpreter, so threads can run Python code in "
                f"parallel: they kept {threads['cpus_busy']:.1f} CPUs busy and were "
                f"{speedup_phrase(_gain(result, 'threads'))}.")
    if threads["cpus_busy"] < PARALLEL:
        return (f"The threads kept only {threads['cpus_busy']:.1f} CPUs busy: the GIL lets "
                "one thread at a time run Python bytecode, so the two threads took turns.")
    return disturbed_sentence("the threads' run", f"the threads kept "
                              f"{threads['cpus_busy']:.1f} CPUs busy with the GIL on")


def _fixed_processes(result: dict, cpus: int) -> str:
    """What the processes show: their own GILs computing at once, or a start-up cost
    that ate the gain (other programs were ruled out by :func:`fixed_disturbance`)."""
    busy, gain = result["processes"]["cpus_busy"], _gain(result, "processes")
    if busy >= PARALLEL and gain >= FASTER:
        return (f"Each process has its own interpreter and GIL, so both computed at "
                f"once: {busy:.1f} CPUs busy, {gain:.1f}× on {cpus} effective CPUs.")
    if busy >= PARALLEL:
        return (f"Both processes computed at once ({busy:.1f} CPUs busy), but starting them "
                f"with '{result['start_method']}' cost about as much as it saved: try a "
                "larger number.")
    return (f"The processes kept only {busy:.1f} CPUs busy: the tasks were too small "
            "for the cost of starting processes. Try a larger number.")


def own_cpu_seconds(result: dict | None, children_cpu: float) -> float:
    """CPU seconds the script and its processes used: what the OS counted for them
    (``children_cpu``), or what the fixed script measured itself when that is more (a
    fork server's children are not counted as ours)."""
    measured = sum(result[k]["cpu"] for k in ("serial", "threads", "processes")) if result \
        else 0.0
    return max(children_cpu, measured)


def _children_cpu() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def script_load(load: MachineLoad | None, uncounted_cpu: float, seconds: float
                ) -> MachineLoad | None:
    """``load`` without the CPU time of the script's processes that the OS did not count
    as ours (a fork server's children end unwaited-for by us), which
    :func:`~helpers.core.noise.watch_load` would otherwise take for other programs."""
    if load is None or seconds <= 0 or uncounted_cpu <= 0:
        return load
    return MachineLoad(max(load.others - uncounted_cpu / seconds, 0.0), load.allowed)


__all__ = ["BOOTSTRAP_MARK", "SCRIPTS", "ScriptRun", "ScriptSource", "default_number",
           "describe_run", "fixed_disturbance", "parse_result", "prepared_source",
           "run_script", "script_load", "script_path", "script_source", "start_method_line"]
