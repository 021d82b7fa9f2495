"""Part 2 · pool size: the throughput sweep, its words, plot and widget.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import pytest

from helpers.io_bound import pool_size as ps


@pytest.mark.parametrize(("call", "name"), [
    (lambda: ps.measure_throughput([], 50, 4), "workers"),
    (lambda: ps.measure_throughput([1], 0, 4), "latency_ms"),
    (lambda: ps.measure_throughput([1], 50, 4, mode="forking"), "mode"),
    (lambda: ps.PoolSizeLab(latency_ms=5), "latency_ms"),
    (lambda: ps.PoolSizeLab(max_threads=5), "max_threads"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_throughput_sweep_rates_and_ideal():
    result = ps.measure_throughput([1, 4], latency_ms=20, requests=8)
    assert sorted(result.runs) == [1, 4]
    assert all(run.tasks == 8 for run in result.runs.values())
    assert result.ideal(4) == pytest.approx(4 * result.ideal(1))
    assert result.ideal(16) == result.ideal(8)  # no more requests to overlap
    assert result.rate(4) > result.rate(1)  # waits overlap: a ratio, not a time
    assert "requests/s" in ps.describe_throughput(result)
    fig = ps.plot_throughput(result)
    assert fig.axes[0].get_xlabel() == "threads in the pool"


def test_describe_throughput_names_the_single_server_as_the_limit():
    result = ps.measure_throughput([1, 4], latency_ms=20, requests=8, mode="single")
    assert "one request at a time" in ps.describe_throughput(result)


def test_pool_size_lab_runs_and_draws():
    lab = ps.PoolSizeLab(latency_ms=20, requests=4, max_threads=4)
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
