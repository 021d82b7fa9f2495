"""Part 6 · processes for I/O: the cost of a thread pool and a process pool.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import pytest

from helpers.core.latency_server import LatencyServer
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
