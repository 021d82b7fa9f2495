"""Part 1 · scraping: the ideal time, the words, and asyncio.run in a loop.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import asyncio

import pytest

from helpers.core.latency_server import LatencyServer, fetch, fetch_async
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, run_tasks
from helpers.io_bound import scraping as sc


@pytest.mark.parametrize(("call", "name"), [
    (lambda: sc.ideal_wall(0, 1, 0.1), "requests"),
    (lambda: sc.ideal_wall(4, 0, 0.1), "workers"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_ideal_wall_counts_rounds():
    assert sc.ideal_wall(16, 8, 0.05) == pytest.approx(0.1)
    assert sc.ideal_wall(17, 8, 0.05) == pytest.approx(0.15)
    assert sc.ideal_wall(3, 8, 0.05) == pytest.approx(0.05)


def test_scrape_words_come_from_the_runs():
    with LatencyServer(latency_ms=10, pages=4) as server:
        urls = server.urls(4)
        runs = {"serial": run_tasks(fetch, executor="serial", arguments=urls, repeats=1),
                "asyncio": run_tasks(fetch_async, executor="asyncio", arguments=urls,
                                     workers=4, repeats=1)}
    assert runs["asyncio"].results == [server.payload_bytes] * 4
    text = sc.describe_scrape(runs, 0.01)
    assert "**serial**" in text and "**asyncio** (4 workers)" in text
    with pytest.raises(ValueError, match="runs"):
        sc.describe_scrape({}, 0.01)


def test_asyncio_run_error_inside_a_running_loop():
    async def inside():
        return sc.asyncio_run_error(fetch_async, "http://127.0.0.1:9/page/0")

    text = asyncio.run(inside())
    assert text.startswith("RuntimeError:") and "running event loop" in text


# --- the words, from fakes ---------------------------------------------------------------



def _run(executor, workers, wall, cpu=0.01, load=None):
    return RunResult("fetch", executor, workers, 16, None, None, [wall], [cpu], load=load)


def test_scrape_words_idle_and_beyond_ideal_and_busy():
    idle = MachineLoad(0.0, 2)
    runs = {"serial": _run("serial", 1, 0.85, load=idle),
            "threads": _run("threads", 8, 0.11, load=idle)}
    text = sc.describe_scrape(runs, 0.05)
    assert "disturbed" not in text and "waits overlap" in text
    # 16 rounds against 2: at most 8×; 12× is noise, called disturbed.
    runs["threads"] = _run("threads", 8, 0.07, load=idle)
    text = sc.describe_scrape(runs, 0.05)
    assert "**disturbed**" in text and "waits overlap" not in text
    busy = MachineLoad(0.95, 1)
    runs = {"serial": _run("serial", 1, 0.85, cpu=0.6, load=busy),
            "threads": _run("threads", 8, 0.11, load=busy)}
    assert "**disturbed**" in sc.describe_scrape(runs, 0.05)


# --- the client listing: only the lines that speak HTTP -----------------------------------

def _sample(a, b):
    total = a + b
    total *= 2
    print(total)
    return total


def test_source_excerpt_keeps_the_marked_lines_and_marks_the_gaps():
    text = sc.source_excerpt(_sample, {"def _sample": "", "return": "the answer"},
                                   "tests/io_bound/test_scraping.py")
    lines = text.splitlines()
    assert lines[0] == "def _sample(a, b):"
    assert lines[1].strip() == "…" and lines[2].strip() == "return total  # the answer"
    assert lines[-1] == "# 2 of its 5 lines; all of it: tests/io_bound/test_scraping.py"


def test_source_excerpt_names_a_marker_the_source_lost():
    with pytest.raises(ValueError, match="steps"):
        sc.source_excerpt(_sample, {"await": "gone"}, "here")


def test_client_excerpt_is_short_and_shows_each_step_of_the_client():
    text = sc.client_excerpt()
    for step in ("open_connection", "writer.write", "readuntil", "readexactly", "close"):
        assert step in text
    assert len(text.splitlines()) <= 13 and "latency_server.py" in text
