"""Part 1 · scraping: serial, threads, asyncio and processes fetching the same pages.

``ideal_wall`` is the shortest possible time for rounds of simultaneous requests;
``describe_scrape`` puts each run against it; ``asyncio_run_error`` shows why
``asyncio.run`` fails inside a notebook (the kernel's event loop is already running);
``client_excerpt`` shows the lines of the asyncio client that do the HTTP.
"""
from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Callable, Mapping

from helpers.core import noise
from helpers.core.arguments import require_float, require_int
from helpers.core.runner import RunResult
from helpers.core.words import plural, speedup_phrase


def ideal_wall(requests: int, workers: int, latency_s: float) -> float:
    """The shortest possible time: rounds of ``workers`` requests, each round one latency."""
    require_int("requests", requests, 1, 100_000)
    require_int("workers", workers, 1, 100_000)
    require_float("latency_s", latency_s, 0, 100)
    return math.ceil(requests / workers) * latency_s


def scrape_disturbance(run: RunResult, latency_s: float, name: str) -> str:
    """The **disturbed** sentence when other programs left this run fewer CPUs than its
    own CPU work needed at the ideal pace (waiting itself needs none), else ``''``."""
    ideal = ideal_wall(run.tasks, run.workers, latency_s)
    needed = run.cpu / ideal if ideal > 0 else 0.0
    return noise.busy_sentence(run.load, round(needed, 1), name)


def scrape_disturbances(runs: Mapping[str, RunResult], latency_s: float) -> list[str]:
    """The **disturbed** sentences of a scrape, first run first: a run other programs
    squeezed, or a gain over the first run beyond what its workers allow."""
    base_name, base = next(iter(runs.items()))
    found = [scrape_disturbance(base, latency_s, base_name)]
    for name, run in list(runs.items())[1:]:
        found.append(scrape_disturbance(run, latency_s, name))
        gain = base.wall / run.wall
        most = (ideal_wall(base.tasks, base.workers, latency_s)
                / ideal_wall(run.tasks, run.workers, latency_s))
        if noise.beyond_ideal(gain, most):
            found.append(noise.disturbed_sentence(
                f"the {base_name} run", f"{name} came out {gain:.1f}× faster than "
                f"{base_name}, more than the {most:.0f}× that {run.workers} at a time allow"))
    return [sentence for sentence in found if sentence]


def describe_scrape(runs: Mapping[str, RunResult], latency_s: float) -> str:
    """Markdown lines: each executor's time, speedup over the first run, CPU time, ideal;
    a gain beyond what the workers allow, or a run other programs squeezed, is called
    **disturbed** and explained no further."""
    if not runs:
        raise ValueError("runs must hold at least one RunResult")
    base_name, base = next(iter(runs.items()))
    lines = [f"- **{base_name}**: {base.wall:.2f} s for {base.tasks} pages "
             f"({base.wall / base.tasks * 1000:.0f} ms a page; the server waits "
             f"{latency_s * 1000:.0f} ms), CPU time {base.cpu:.2f} s."]
    for name, run in list(runs.items())[1:]:
        ideal = ideal_wall(run.tasks, run.workers, latency_s)
        gain = base.wall / run.wall
        lines.append(f"- **{name}** ({plural(run.workers, 'worker')}): {run.wall:.2f} s, "
                     f"{speedup_phrase(gain, base_name)}; CPU time "
                     f"{run.cpu:.2f} s; the ideal with {run.workers} at a time is {ideal:.2f} s.")
    disturbed = scrape_disturbances(runs, latency_s)
    if disturbed:
        return "\n".join(lines + [f"- {disturbed[0]}"])
    busy = max(run.utilisation for run in runs.values())
    lines.append(f"- Waiting needs no CPU: at most {busy:.2f} CPUs were busy on average in "
                 "this process, the time went to waiting, and waits overlap whatever the "
                 "number of CPUs.")
    return "\n".join(lines)


def asyncio_run_error(coroutine_function: Callable, argument: object) -> str | None:
    """Try ``asyncio.run(coroutine_function(argument))``; return the error text, or None.

    Inside Jupyter the kernel's own event loop is already running this cell, and
    ``asyncio.run`` refuses to start a second loop in the same thread.
    """
    coroutine = coroutine_function(argument)
    try:
        asyncio.run(coroutine)
    except RuntimeError as error:
        return f"RuntimeError: {error}"
    finally:
        coroutine.close()  # never started: close it, so no "never awaited" warning
    return None


# What each kept line of the asyncio client does: a marker found in the line → a comment.
CLIENT_STEPS = {"async def read_body": "",
                "open_connection": "connect",
                "writer.write(": "send the request",
                "Connection: close": "",
                "readuntil": "read the status line and headers",
                "readexactly": "read the body",
                "writer.close()": "hang up"}


def source_excerpt(function: Callable, steps: Mapping[str, str], where: str) -> str:
    """The lines of ``function``'s source that contain one of ``steps``' markers, each
    with its comment; ``…`` where lines were left out; last, where the whole source is.
    A marker found in no line is a ``ValueError`` (the source changed: update ``steps``)."""
    lines = inspect.getsource(function).splitlines()
    missing = [marker for marker in steps if not any(marker in line for line in lines)]
    if missing:
        raise ValueError(f"steps: {missing} not found in {function.__name__}'s source")
    shown, last, kept = [], -1, 0
    for number, line in enumerate(lines):
        marker = next((m for m in steps if m in line), None)
        if marker is None:
            continue
        if number > last + 1:
            shown.append(" " * (len(line) - len(line.lstrip())) + "…")
        shown.append(f"{line}  # {steps[marker]}" if steps[marker] else line)
        last, kept = number, kept + 1
    shown.append(f"# {kept} of its {plural(len(lines), 'line')}; all of it: {where}")
    return "\n".join(shown)


def client_excerpt() -> str:
    """The lines of the hand-written asyncio client that speak HTTP (see
    :func:`source_excerpt`)."""
    from helpers.core.latency_server import read_body
    return source_excerpt(read_body, CLIENT_STEPS,
                          "helpers/core/latency_server.py, read_body")
