"""Part 6 · processes for I/O: the cost of a thread pool and a process pool.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import pytest

from helpers.core.latency_server import LatencyServer
from helpers.core.noise import MachineLoad
from helpers.io_bound import pool_cost as pc


@pytest.mark.parametrize(("call", "name"), [
    (lambda: pc.pool_cost("fibres", 2, ["x"]), "kind"),
    (lambda: pc.pool_cost("threads", 2, []), "urls"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_pool_cost_threads_and_processes():
    with LatencyServer(latency_ms=5, pages=4) as server:
        urls = server.urls(4)
        threads = pc.pool_cost("threads", 2, urls)
        processes = pc.pool_cost("processes", 2, urls)
    assert threads.kind == "threads" and processes.workers == 2
    assert processes.memory_bytes > 0
    assert "worker processes" in pc.describe_pool_costs(threads, processes)


def test_pool_cost_words_idle_and_busy():
    idle, busy = MachineLoad(0.0, 2), MachineLoad(1.9, 2)
    threads = pc.PoolCost("threads", 8, 0.07, 100_000, idle)
    text = pc.describe_pool_costs(threads, pc.PoolCost("processes", 8, 0.6, 40 * 2**20, idle))
    assert "slower than threads" in text and "disturbed" not in text
    text = pc.describe_pool_costs(threads, pc.PoolCost("processes", 8, 3.1, 40 * 2**20, busy))
    assert "**disturbed**" in text
