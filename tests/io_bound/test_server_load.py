"""Part 3 · a server under simultaneous requests: load tests and percentiles.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import pytest

from helpers.core.latency_server import LatencyServer
from helpers.io_bound import server_load as sl


@pytest.mark.parametrize(("call", "name"), [
    (lambda: sl.measure_server_modes([0]), "clients"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_load_test_rejects_bad_clients():
    with LatencyServer(latency_ms=0) as server:
        with pytest.raises(ValueError, match="clients"):
            sl.load_test(server, 0)
        with pytest.raises(ValueError, match="requests_per_client"):
            sl.load_test(server, 1, 0)


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert sl.percentile(values, 50) == 50
    assert sl.percentile(values, 95) == 95
    assert sl.percentile([7.0], 95) == 7.0


def test_load_test_counts_every_request_and_single_mode_queues():
    with LatencyServer(latency_ms=20, mode="single") as single:
        queued = sl.load_test(single, clients=4, requests_per_client=2)
        assert single.peak_in_flight == 1
    with LatencyServer(latency_ms=20, mode="threading") as threaded:
        overlapped = sl.load_test(threaded, clients=4, requests_per_client=2)
        assert threaded.peak_in_flight > 1
    assert queued.requests == overlapped.requests == 8
    assert queued.p50 <= queued.p95
    # queued requests wait for the others: the median is a multiple of the latency
    assert queued.p95 > 2 * overlapped.p50


def test_measure_server_modes_and_words():
    results = sl.measure_server_modes([1, 3], modes=("single", "threading"), latency_ms=10,
                                      requests_per_client=1)
    assert list(results) == ["single", "threading"]
    assert [r.clients for r in results["single"]] == [1, 3]
    text = sl.describe_load(results)
    assert "**single**" in text and "p95" in text
    assert sl.plot_load(results).axes[0].get_ylabel() == "throughput (requests/s)"
