"""Run the seed article's combined example as a script, in its own Python process.

Two scripts live in ``helpers/scripts/``:

``seed_combined``
    The article's combined example as it wrote it: a 2 s sleep beside the
    CPU-bound task, different work for threads and processes, and no
    ``if __name__ == "__main__":`` guard.
``seed_combined_fixed``
    The same idea done so that it can show the GIL: the same work run
    serially, in 2 threads and in 2 processes, no sleep, a main guard, and a
    last line ``RESULT {json}`` that :func:`describe_run` turns into sentences.

Why a separate process? The seed script's mistakes only show when it runs as
``python script.py``: a child started with *spawn* or *forkserver* imports the
main script again, and a notebook's ``__main__`` is not a script.

How :func:`run_script` chooses the start method without editing the script: it
runs a temporary copy with one line added at the top (after the docstring)::

    import multiprocessing; multiprocessing.set_start_method('spawn', force=True)

``force=True`` matters: a spawned child re-imports the file and so runs that
line again, in a process whose start method multiprocessing has already set
from the parent's — without ``force`` it would raise "context has already been
set". Tracebacks therefore name the temporary copy, one line further down.

Safety: every run has a timeout. The script starts in a new session (its own
process group) so that, on timeout or ``KeyboardInterrupt`` (the notebook's
stop button), the whole group — script, its child processes, a fork server, the
resource tracker — is killed with ``os.killpg`` and no grandchild survives.
Windows has neither fork nor ``killpg``: there the script gets a new process
group and the tree is killed with ``taskkill /T``.
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

from helpers.core.arguments import require_choice, require_float, require_int
from helpers.core.executors import resolve_start_method
from helpers.core.settings import HELPERS_DIR, default
from helpers.core.system import effective_cpu_count
from helpers.core.words import FASTER, Verdict, speedup_phrase

SCRIPTS_DIR = HELPERS_DIR / "scripts"
SCRIPTS: dict[str, str] = {
    "seed_combined": "the article's combined example, as written (no main guard)",
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
            out += ("<p><b>stderr</b></p><pre style='color:#D55E00'>"
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
    args: list[str] = []
    if name == FIXED:
        number = default_number() if number is None else number
        args.append(str(require_int("number", number, 1, MAX_NUMBER)))
    elif number is not None:
        raise ValueError(f"number must be None for {name!r}: only {FIXED!r} takes a number "
                         f"(from 1 to {MAX_NUMBER}), got {number!r}")

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    with tempfile.TemporaryDirectory(prefix="lab-script-", ignore_cleanup_errors=True) as folder:
        copy = Path(folder) / f"{name}.py"
        copy.write_text(prepared_source(name, method).text, encoding="utf-8")
        command = (sys.executable, str(copy), *args)
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, encoding="utf-8", errors="replace",
                                   **popen_options())
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(process)
            stdout, stderr = collect_output(process)
        except BaseException:  # KeyboardInterrupt included: no child may outlive the cell
            kill_group(process)
            collect_output(process)
            raise
        seconds = time.perf_counter() - start
    return ScriptRun(name, command, method, process.returncode, stdout, stderr, seconds,
                     timed_out, timeout, process.pid,
                     parse_result(stdout) if name == FIXED else None)


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
_SEED_LINES = {
    "threads": re.compile(r"Multithreading time: ([0-9.eE+-]+) seconds"),
    "processes": re.compile(r"Multiprocessing time: ([0-9.eE+-]+) seconds"),
    "sleep": re.compile(r"IO-bound task completed in ([0-9.eE+-]+) seconds"),
    "count": re.compile(r"CPU-bound task result: (\d+)"),
}


def _numbers(key: str, text: str) -> list[float]:
    return [float(value) for value in _SEED_LINES[key].findall(text)]


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


def _describe_seed(run: ScriptRun) -> Verdict:
    method = run.start_method
    threads = _numbers("threads", run.stdout)
    processes = _numbers("processes", run.stdout)
    sleeps = _numbers("sleep", run.stdout)
    counts = [int(c) for c in _numbers("count", run.stdout)]
    children = run.child_errors
    # Extra 'Multithreading time' lines that no dead child accounts for: under forkserver,
    # the fork server re-ran the script's top level while preloading it.
    server_reran = method == "forkserver" and len(threads) - 1 > children
    lines = [f"Under '{method}' the script ran for {run.seconds:.1f} s and exited with "
             f"code {run.returncode}."]
    if threads and processes and sleeps:
        sleep = sleeps[0]
        near = all(sleep - 0.05 <= t <= 1.25 * sleep + 0.2 for t in (threads[0], processes[-1]))
        text = (f"It printed 'Multithreading time: {threads[0]:.2f} s' and 'Multiprocessing "
                f"time: {processes[-1]:.2f} s'. ")
        if near:
            text += (f"Both are about the {sleep:.1f} s that io_bound_task sleeps: the sleep, "
                     "not the GIL, decides both numbers, so they cannot show what the GIL does.")
        elif server_reran and processes[-1] >= sleep + 0.8 * threads[0]:
            text += (f"The sleep took {sleep:.1f} s; the multiprocessing time also holds the "
                     "time the fork server spent re-running the threading part (below) before "
                     "it could start the children.")
        else:
            text += (f"The sleep took {sleep:.1f} s; here the counting took longer, yet the "
                     "two runs still cannot be compared (see below).")
        lines.append(text)
    if counts:
        printed = ", ".join(f"{c:,}" for c in counts)
        lines.append("The article gives the thread 10,000,000 additions and the process only "
                     "5,000,000, so its two runs do not even do the same work. "
                     + (f"The results printed ({printed}) show both." if 5_000_000 in counts
                        else f"Here the results printed were {printed}: the 5,000,000 task "
                             "never ran, and the extra lines come from other processes "
                             "re-running the script's threading part."))
    errors = run.bootstrap_errors
    if children:
        extra = max(len(threads) - 1 - server_reran - run.fork_server_died, 0)
        lines.append(
            f"{children} child process{'es' if children != 1 else ''} died with RuntimeError: "
            "\"An attempt has been made to start a new process before the current process "
            f"has finished its bootstrapping phase.\" Under '{method}' a child imports the "
            "script again; with no `if __name__ == \"__main__\":` guard that import re-ran "
            f"the threading part ({extra} extra 'Multithreading time' line"
            f"{'s' if extra != 1 else ''}) and then tried to start processes of its own.")
    if run.fork_server_died:
        lines.append(
            "The fork server itself died of the same RuntimeError: it imports the script once, "
            "to preload it for every child, so it re-ran the threading part (one extra "
            "'Multithreading time' line) and then tried to start processes of its own.")
    elif server_reran:
        lines.append(
            "One more 'Multithreading time' line than the children explain: the fork server "
            "imports the script once, to preload it for every child, and re-ran the threading "
            "part; this Python ignores the error it then hit, so it went on to start the "
            "children.")
    if errors and processes:
        lines.append(
            f"Yet the parent still printed 'Multiprocessing time: {processes[-1]:.2f} s' "
            f"and exited with code {run.returncode}: join() returns when a child dies, "
            "and the script never checks exitcode. That time measures children that "
            "crashed, not the work they were given.")
    elif errors and not run.ok:
        last = _last_error(run.stderr)
        lines.append(f"The parent failed too (exit code {run.returncode}"
                     + (f", last error: {last}" if last else "") + ") and printed no "
                     "'Multiprocessing time': no child ever ran.")
    elif method == "fork" and run.ok:
        lines.append("Under 'fork' each child starts as a copy of the parent, already past "
                     "the script's top level, so it runs only its target: that is why the "
                     "script seems to work on Linux up to Python 3.13, and breaks under "
                     "spawn (macOS, Windows) and forkserver (Linux from 3.14).")
    if not run.ok and not errors:
        lines.append(f"The script failed (exit code {run.returncode}); see its stderr.")
    return Verdict(tuple(lines))


def _describe_fixed(run: ScriptRun, cpus: int) -> Verdict:
    result = run.result
    if not run.ok or not result:
        return Verdict((f"The fixed script failed under '{run.start_method}' (exit code "
                        f"{run.returncode}) and printed no RESULT line; see its stderr.",))
    serial, threads, processes = result["serial"], result["threads"], result["processes"]
    workers, method = result["workers"], result["start_method"]
    t_gain = serial["wall"] / threads["wall"]
    p_gain = serial["wall"] / processes["wall"]
    lines = [
        f"Serial: {workers} tasks of {result['number']:,} additions took "
        f"{serial['wall']:.2f} s with {serial['cpus_busy']:.1f} CPUs busy.",
        f"{workers} threads: {speedup_phrase(t_gain)}, {threads['cpus_busy']:.1f} CPUs busy.",
        f"{workers} processes ('{method}'): {speedup_phrase(p_gain)}, "
        f"{processes['cpus_busy']:.1f} CPUs busy.",
    ]
    if cpus == 1:
        lines.append("You have 1 effective CPU: only one task can compute at a time, so no "
                     "speedup can be expected from threads or processes here; what you see "
                     "is what each of them costs.")
        if max(t_gain, p_gain) >= FASTER:
            lines.append("Where threads or processes look faster than serial above, that is "
                         "noise, not parallelism: the serial run happened to be slower this "
                         "time (timings on a shared machine vary). Run it again.")
        return Verdict(tuple(lines))
    if result.get("gil_enabled", True):
        if threads["cpus_busy"] < 1.3 and t_gain < FASTER:
            lines.append(f"The threads kept only {threads['cpus_busy']:.1f} CPUs busy: the "
                         "GIL lets one thread at a time run Python bytecode, so the two "
                         "threads took turns.")
        elif threads["cpus_busy"] < 1.3:
            lines.append(f"The threads finished sooner than serial, yet kept only "
                         f"{threads['cpus_busy']:.1f} CPUs busy: the GIL made them take "
                         f"turns. They used {threads['cpu']:.2f} s of CPU against serial's "
                         f"{serial['cpu']:.2f} s, so the same additions simply cost less CPU "
                         "time in that run: not parallelism. Run it again to see how much "
                         "of it is noise.")
        else:
            lines.append(f"The threads kept {threads['cpus_busy']:.1f} CPUs busy, which is "
                         "unusual with the GIL on: run it again.")
    else:
        lines.append("The GIL is off in this interpreter, so threads can run Python code in "
                     f"parallel: they kept {threads['cpus_busy']:.1f} CPUs busy and were "
                     f"{speedup_phrase(t_gain)}.")
    busy = processes["cpus_busy"]
    if busy >= 1.3 and p_gain >= FASTER:
        lines.append(f"Each process has its own interpreter and GIL, so both computed at "
                     f"once: {busy:.1f} CPUs busy, {p_gain:.1f}× on {cpus} effective CPUs.")
    elif busy >= 1.3:
        lines.append(f"Both processes computed at once ({busy:.1f} CPUs busy), but starting "
                     f"them with '{method}' cost about as much as it saved: try a larger number.")
    else:
        lines.append(f"The processes kept only {busy:.1f} CPUs busy: the tasks were too small "
                     "for the cost of starting processes, or another program was using the "
                     "CPUs. Try a larger number, or run it again.")
    lines.append("Unlike the article's version there is no 2 s sleep to hide the difference, "
                 "and every worker does the same number of additions.")
    return Verdict(tuple(lines))


__all__ = ["BOOTSTRAP_MARK", "SCRIPTS", "ScriptRun", "ScriptSource", "default_number",
           "describe_run", "parse_result", "prepared_source", "run_script", "script_path",
           "script_source", "start_method_line"]
