"""Tests for helpers.io_bound: notebook 04's measurements, words, plots and self-check.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed, wait

import pytest

from helpers import io_bound as io
from helpers.core.latency_server import LatencyServer, fetch, fetch_async
from helpers.core.runner import run_tasks


def thread_names() -> set[str]:
    return {t.name for t in threading.enumerate()}


# --- bad inputs name the parameter ----------------------------------------------------------

@pytest.mark.parametrize(("call", "name"), [
    (lambda: io.ideal_wall(0, 1, 0.1), "requests"),
    (lambda: io.ideal_wall(4, 0, 0.1), "workers"),
    (lambda: io.cpu_while_waiting(0), "threads"),
    (lambda: io.cpu_while_waiting(2, seconds=-1), "seconds"),
    (lambda: io.cpu_while_waiting(2, how="sleep"), "how"),
    (lambda: io.tasks_vs_threads(io.MAX_WAITERS + 1), "count"),
    (lambda: io.convoy(-1), "cpu_threads"),
    (lambda: io.convoy(1, switch_interval=5), "switch_interval"),
    (lambda: io.convoy(0, round_trips=0), "round_trips"),
    (lambda: io.measure_throughput([], 50, 4), "workers"),
    (lambda: io.measure_throughput([1], 0, 4), "latency_ms"),
    (lambda: io.measure_throughput([1], 50, 4, mode="forking"), "mode"),
    (lambda: io.measure_server_modes([0]), "clients"),
    (lambda: io.pool_cost("fibres", 2, ["x"]), "kind"),
    (lambda: io.pool_cost("threads", 2, []), "urls"),
    (lambda: io.PoolSizeLab(latency_ms=5), "latency_ms"),
    (lambda: io.PoolSizeLab(max_threads=5), "max_threads"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_load_test_rejects_bad_clients():
    with LatencyServer(latency_ms=0) as server:
        with pytest.raises(ValueError, match="clients"):
            io.load_test(server, 0)
        with pytest.raises(ValueError, match="requests_per_client"):
            io.load_test(server, 1, 0)


# --- results ----------------------------------------------------------------------------------

def test_ideal_wall_counts_rounds():
    assert io.ideal_wall(16, 8, 0.05) == pytest.approx(0.1)
    assert io.ideal_wall(17, 8, 0.05) == pytest.approx(0.15)
    assert io.ideal_wall(3, 8, 0.05) == pytest.approx(0.05)


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert io.percentile(values, 50) == 50
    assert io.percentile(values, 95) == 95
    assert io.percentile([7.0], 95) == 7.0


def test_load_test_counts_every_request_and_single_mode_queues():
    with LatencyServer(latency_ms=20, mode="single") as single:
        queued = io.load_test(single, clients=4, requests_per_client=2)
        assert single.peak_in_flight == 1
    with LatencyServer(latency_ms=20, mode="threading") as threaded:
        overlapped = io.load_test(threaded, clients=4, requests_per_client=2)
        assert threaded.peak_in_flight > 1
    assert queued.requests == overlapped.requests == 8
    assert queued.p50 <= queued.p95
    # queued requests wait for the others: the median is a multiple of the latency
    assert queued.p95 > 2 * overlapped.p50


def test_measure_server_modes_and_words():
    results = io.measure_server_modes([1, 3], modes=("single", "threading"), latency_ms=10,
                                      requests_per_client=1)
    assert list(results) == ["single", "threading"]
    assert [r.clients for r in results["single"]] == [1, 3]
    text = io.describe_load(results)
    assert "**single**" in text and "p95" in text
    assert io.plot_load(results).axes[0].get_ylabel() == "throughput (requests/s)"


def test_throughput_sweep_rates_and_ideal():
    result = io.measure_throughput([1, 4], latency_ms=20, requests=8)
    assert sorted(result.runs) == [1, 4]
    assert all(run.tasks == 8 for run in result.runs.values())
    assert result.ideal(4) == pytest.approx(4 * result.ideal(1))
    assert result.ideal(16) == result.ideal(8)  # no more requests to overlap
    assert result.rate(4) > result.rate(1)  # waits overlap: a ratio, not a time
    assert "requests/s" in io.describe_throughput(result)
    fig = io.plot_throughput(result)
    assert fig.axes[0].get_xlabel() == "threads in the pool"


def test_describe_throughput_names_the_single_server_as_the_limit():
    result = io.measure_throughput([1, 4], latency_ms=20, requests=8, mode="single")
    assert "one request at a time" in io.describe_throughput(result)


def test_pool_size_lab_runs_and_draws():
    lab = io.PoolSizeLab(latency_ms=20, requests=4, max_threads=4)
    lab.throttle.interval = 0  # draw every partial result
    result = lab.run()
    assert result is not None and sorted(result.runs) == [1, 2, 4]
    assert not lab.run_button.disabled
    assert lab.run_button.description == "Run"
    assert lab.figure is not None
    assert lab.figure.axes[0].get_ylabel() == "throughput (requests/s)"
    shown = [tick.get_text() for tick in lab.figure.axes[0].get_xticklabels()]
    assert shown == ["1", "2", "4"]  # the last plot shows every pool size measured
    assert lab.throttle.drawn == 3  # once per pool size, as the sweep went
    assert "requests/s" in lab.words.value


def test_waiting_threads_use_far_less_cpu_than_spinning():
    waiting = io.cpu_while_waiting(50, 0.3, "event")
    queued = io.cpu_while_waiting(50, 0.3, "queue")
    spinning = io.cpu_while_waiting(1, 0.3, "spin")
    assert waiting.threads == 50 and spinning.threads == 1
    assert waiting.cpu < 0.25 * spinning.cpu
    assert queued.cpu < 0.25 * spinning.cpu
    assert "**event**" in io.describe_waits([waiting, spinning])


def test_tasks_vs_threads_leaves_no_thread_and_counts():
    before = thread_names()
    costs = io.tasks_vs_threads(200)
    assert set(costs) == {"threads", "asyncio tasks"}
    assert all(cost.count == 200 for cost in costs.values())
    assert costs["threads"].traced_bytes > 0
    assert "asyncio tasks" in io.describe_tasks_vs_threads(costs)
    assert thread_names() <= before | {"MainThread"}


def test_convoy_restores_the_switch_interval_and_counts_trips():
    original = sys.getswitchinterval()
    result = io.convoy(1, switch_interval=0.002, round_trips=5)
    assert sys.getswitchinterval() == original
    assert len(result.round_trips) == 5 and result.switch_interval == 0.002
    assert all(t > 0 for t in result.round_trips)


def test_convoy_restores_the_interval_on_error(monkeypatch):
    original = sys.getswitchinterval()

    def broken(*args):
        raise OSError("no socket today")

    monkeypatch.setattr(io.socket, "socketpair", broken)
    with pytest.raises(OSError):
        io.convoy(1, switch_interval=0.002, round_trips=2)
    assert sys.getswitchinterval() == original


def test_convoy_words_and_plot():
    results = [io.ConvoyResult(0, 0.005, [0.001]), io.ConvoyResult(1, 0.005, [0.006]),
               io.ConvoyResult(0, 0.001, [0.001]), io.ConvoyResult(1, 0.001, [0.002])]
    text = io.describe_convoy(results)
    assert "6.0× slower" in text and "3.0× faster" in text
    calm = [io.ConvoyResult(0, 0.005, [0.001]), io.ConvoyResult(1, 0.005, [0.001])]
    assert "No convoy" in io.describe_convoy(calm)
    assert io.plot_convoy(results).axes[0].get_yscale() == "log"


def test_scrape_words_come_from_the_runs():
    with LatencyServer(latency_ms=10, pages=4) as server:
        urls = server.urls(4)
        runs = {"serial": run_tasks(fetch, executor="serial", arguments=urls, repeats=1),
                "asyncio": run_tasks(fetch_async, executor="asyncio", arguments=urls,
                                     workers=4, repeats=1)}
    assert runs["asyncio"].results == [server.payload_bytes] * 4
    text = io.describe_scrape(runs, 0.01)
    assert "**serial**" in text and "**asyncio** (4 workers)" in text
    with pytest.raises(ValueError, match="runs"):
        io.describe_scrape({}, 0.01)


def test_asyncio_run_error_inside_a_running_loop():
    async def inside():
        return io.asyncio_run_error(fetch_async, "http://127.0.0.1:9/page/0")

    text = asyncio.run(inside())
    assert text.startswith("RuntimeError:") and "running event loop" in text


def test_pool_cost_threads_and_processes():
    with LatencyServer(latency_ms=5, pages=4) as server:
        urls = server.urls(4)
        threads = io.pool_cost("threads", 2, urls)
        processes = io.pool_cost("processes", 2, urls)
    assert threads.kind == "threads" and processes.workers == 2
    assert processes.memory_bytes > 0
    assert "worker processes" in io.describe_pool_costs(threads, processes)


# --- the self-check ---------------------------------------------------------------------------

async def good_fetch_all(urls, limit):
    semaphore = asyncio.Semaphore(limit)

    async def one(url):
        async with semaphore:
            return await fetch_async(url)

    return await asyncio.gather(*(one(url) for url in urls))


async def unbounded_fetch_all(urls, limit):
    return await asyncio.gather(*(fetch_async(url) for url in urls))


async def serial_fetch_all(urls, limit):
    return [await fetch_async(url) for url in urls]


async def wrong_order_fetch_all(urls, limit):
    return list(reversed(await good_fetch_all(urls[1:], limit)))


async def raising_fetch_all(urls, limit):
    raise KeyError("oops")


def plain_function(urls, limit):
    return []


def test_check_fetch_all_accepts_a_right_answer():
    assert io.check_fetch_all(good_fetch_all)


@pytest.mark.parametrize(("answer", "words"), [
    (unbounded_fetch_all, "requests at once"),
    (serial_fetch_all, "one at a time"),
    (wrong_order_fetch_all, "do not match"),
    (raising_fetch_all, "KeyError"),
    (plain_function, "async def"),
    (None, "async def"),
])
def test_check_fetch_all_rejects_wrong_answers_without_raising(answer, words):
    result = io.check_fetch_all(answer)
    assert not result
    assert words in result.message and "Hint:" in result.message


# --- exercise 2: a deadline for slow pages ------------------------------------------------

FAST_CHECK = {"seconds": 0.2, "slow_s": 1.0}  # the wrong answers wait at most 1 s


def good_fetch_within(urls, seconds):  # the notebook's solution
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        futures = [pool.submit(fetch, url, timeout=seconds) for url in urls]
    return [None if f.exception(timeout=0) else f.result(timeout=0) for f in futures]


def wait_only_fetch_within(urls, seconds):  # wait() has a timeout, the with block has none
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        futures = [pool.submit(fetch, url) for url in urls]
        done, _ = wait(futures, timeout=seconds)
    return [f.result(timeout=0) if f in done else None for f in futures]


def serial_fetch_within(urls, seconds):
    sizes = []
    for url in urls:
        try:
            sizes.append(fetch(url, timeout=seconds))
        except TimeoutError:
            sizes.append(None)
    return sizes


def unhandled_fetch_within(urls, seconds):
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(fetch, urls, [seconds] * len(urls), timeout=5))


def completion_order_fetch_within(urls, seconds):
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        futures = [pool.submit(fetch, url, timeout=seconds) for url in urls]
        return [None if f.exception() else f.result() for f in as_completed(futures, timeout=5)]


def abandoning_fetch_within(urls, seconds):  # returns on time, leaves its threads running
    pool = ThreadPoolExecutor(max_workers=len(urls))
    futures = [pool.submit(fetch, url) for url in urls]
    done, _ = wait(futures, timeout=seconds)
    pool.shutdown(wait=False)
    return [f.result(timeout=0) if f in done else None for f in futures]


def test_check_fetch_within_accepts_the_solution():
    result = io.check_fetch_within(good_fetch_within)
    assert result and "no thread left" in result.message
    assert io.check_fetch_within(good_fetch_within, **FAST_CHECK)


@pytest.mark.parametrize(("answer", "words"), [
    (wait_only_fetch_within, "took"),
    (serial_fetch_within, "took"),
    (unhandled_fetch_within, "TimeoutError"),
    (completion_order_fetch_within, "expected"),
    (abandoning_fetch_within, "still ran"),
    (lambda urls, seconds: None, "not a list"),
    ("fetch", "function"),
])
def test_check_fetch_within_rejects_wrong_answers_without_raising(answer, words):
    result = io.check_fetch_within(answer, **FAST_CHECK)
    assert not result
    assert words in result.message and "Hint:" in result.message
    assert not [t for t in threading.enumerate() if t.name.startswith("LatencyServer")]


def test_check_fetch_within_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="slow_s"):
        io.check_fetch_within(good_fetch_within, seconds=0.5, slow_s=0.6)
