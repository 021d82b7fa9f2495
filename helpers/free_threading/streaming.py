"""Measuring in another Python, with results arriving as they are measured.

:func:`~helpers.core.other_pythons.run_cli` waits for the other Python to finish
and reads its one line of JSON: a measurement of 10 s there is 10 s of a silent cell here.
This module streams instead. The other Python runs :func:`compare_lines` (through
``python -m helpers.core.measure_cli call``): the lab's own
:func:`~helpers.core.experiments.compare`,
printing one JSON line per finished task (progress) and per finished repeat (the runs so
far) as it goes, then the usual last line. :func:`stream_cli` starts it, reads those lines
as they come — every wait bounded by a deadline — and hands each to a callback, so a
progress bar moves and a plot appears after the first measured repeat. What is measured is
exactly what ``measure_cli compare`` measures: the same runner, sizes and repeats.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import IO

from helpers.core.other_pythons import (
    ROOT,
    TIMEOUT,
    Interpreter,
    other_python_env,
    strip_ansi,
)

STREAM_KEY = "lab-stream"  # a line {"lab-stream": kind, "value": …} is a partial result
POLL = 0.25  # s: how often the reading loop wakes (so ■ and the deadline are noticed)
OnLine = Callable[[str, object], None]


def _emit(kind: str, value: object) -> None:
    print(json.dumps({STREAM_KEY: kind, "value": value}), flush=True)


def compare_lines(workload: str, size: int, tasks: int, workers: int, repeats: int,
                  executors: list[str], timeout: float = 600.0,
                  start_cost: bool = False) -> dict:
    """Run *in the other Python*: ``compare`` as ``measure_cli compare`` runs it, printing
    ``progress`` ([done, total] tasks) and ``partial`` (every run so far, as JSON) lines
    while it measures. Returns ``{"runs": …}`` (and ``"start"`` with ``start_cost``)."""
    from helpers.core.experiments import compare
    from helpers.core.measure_cli import parse_executors, pool_start_seconds

    names = parse_executors(",".join(executors))
    comparison = compare(
        workload, names, size=size, tasks=tasks, workers=workers, repeats=repeats,
        timeout=timeout, on_progress=lambda done, total: _emit("progress", [done, total]),
        on_result=lambda partial: _emit("partial", {name: asdict(run) for name, run
                                                    in partial.runs.items()}))
    out: dict = {"runs": {name: asdict(run) for name, run in comparison.runs.items()}}
    if start_cost:
        out["start"] = pool_start_seconds(names, repeats)
    return out


def compare_args(workload: str, size: int, workers: int, repeats: int,
                 executors: tuple[str, ...] = ("serial", "threads"), timeout: float = 600.0,
                 start_cost: bool = False) -> list[str]:
    """``measure_cli`` arguments that run :func:`compare_lines` (one task per worker)."""
    arguments = [workload, size, workers, workers, repeats, list(executors), timeout,
                 start_cost]
    return ["call", "helpers.free_threading.streaming:compare_lines", json.dumps(arguments)]


def _pump(stream: IO[str], lines: queue.Queue) -> None:
    """Move the child's stdout into ``lines``, line by line; ``None`` marks its end."""
    try:
        for line in stream:
            lines.put(line)
    finally:
        lines.put(None)


def _parse(line: str) -> dict | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _stop(child: subprocess.Popen) -> None:
    """Kill the child and everything it started (its own process group), then reap it."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            child.kill()
    child.wait(timeout=10)


def stream_cli(interpreter: Interpreter, args: list[str], gil: bool | None = None,
               on_line: OnLine | None = None, timeout: float = TIMEOUT) -> dict:
    """``python -m helpers.core.measure_cli ARGS`` in ``interpreter``, like
    :func:`~helpers.core.other_pythons.run_cli` (same result: its last JSON line,
    with ``stderr`` and ``load``), but each streamed line goes to ``on_line(kind, value)``
    as it arrives. Bounded: after ``timeout`` seconds, or on ■ (KeyboardInterrupt), the
    child and its own children are killed; ``TimeoutError`` / ``RuntimeError`` say why."""
    from helpers.core.noise import watch_load

    command = [interpreter.path, "-m", "helpers.core.measure_cli", *args]
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors, watch_load() as watch:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                                 cwd=ROOT, env=other_python_env(gil), start_new_session=True)
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True)
        reader.start()
        try:
            last = _read(lines, deadline, on_line, interpreter)
            child.wait(timeout=max(deadline - time.monotonic(), 1.0))
        finally:
            _stop(child)
            reader.join(timeout=5)
            child.stdout.close()
        errors.seek(0)
        stderr = strip_ansi(errors.read())
    if child.returncode != 0 or last is None:
        raise RuntimeError(f"{interpreter.label} failed ({child.returncode}):\n{stderr[-2000:]}")
    return {**last, "stderr": stderr, "load": watch.load}


def _read(lines: queue.Queue, deadline: float, on_line: OnLine | None,
          interpreter: Interpreter) -> dict | None:
    """Hand streamed lines to ``on_line`` until the child's stdout ends; its last other
    JSON line is the result."""
    last = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{interpreter.label} did not finish in time: stopped.")
        try:
            line = lines.get(timeout=min(remaining, POLL))
        except queue.Empty:
            continue
        if line is None:
            return last
        data = _parse(line)
        if data is None:
            continue
        if STREAM_KEY in data:
            if on_line is not None:
                on_line(data[STREAM_KEY], data.get("value"))
        else:
            last = data
