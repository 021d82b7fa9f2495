"""Handing an array to a worker: every way sums the same numbers; shared memory is cleaned up."""
import multiprocessing
from multiprocessing import shared_memory

import numpy as np
import pytest

from helpers.processes_in_depth import data_movement as dm
from helpers.processes_in_depth.exercises import SHARED_EXPECTED, check_shared_total

METHODS = multiprocessing.get_all_start_methods()


def gone(name):
    try:
        block = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return True
    block.close()
    return False


def test_shared_array_is_readable_then_unlinked():
    array = dm.make_array(1)
    with dm.shared_array(array) as ref:
        assert dm.shared_checksum(ref) == pytest.approx(float(array.sum()))
        assert ref.shape == array.shape and ref.dtype == array.dtype.str
    assert gone(ref.name)


def test_shared_array_is_unlinked_when_the_block_raises():
    with pytest.raises(KeyError):
        with dm.shared_array(dm.make_array(1)) as ref:
            raise KeyError("boom")
    assert gone(ref.name)


def test_inherited_needs_a_forked_child():
    with pytest.raises(RuntimeError, match="fork"):
        dm.inherited_checksum()
    with dm.inherited(np.ones(4)):
        assert dm.inherited_checksum() == 4.0
    with pytest.raises(RuntimeError):
        dm.inherited_checksum()


@pytest.mark.parametrize("method", METHODS)
def test_every_way_sums_the_same_numbers(method, no_leftover_processes, recwarn):
    result = dm.measure_data_movement(2, repeats=1, start_method=method)
    ways = {"in this process", "pickled", "shared memory"} | (
        {"inherited (fork)"} if "fork" in METHODS else set())
    assert set(result.runs) == ways
    sums = {way: run.results[0] for way, run in result.runs.items()}
    assert len({round(v, 6) for v in sums.values()}) == 1
    assert result.pickled_bytes >= 2 * 2**20
    assert result.runs["pickled"].start_method == method
    assert not [w for w in recwarn if "leaked" in str(w.message)]


@pytest.mark.parametrize("call, name", [
    (lambda: dm.make_array(0), "mebibytes"),
    (lambda: dm.measure_data_movement(dm.MAX_MEBIBYTES + 1), "mebibytes"),
    (lambda: dm.measure_data_movement(1, start_method="teleport"), "start_method"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def fake(ways_ms):
    result = dm.DataMovement(64, "spawn", 64 * 2**20)
    for way, ms in ways_ms.items():
        result.runs[way] = dm.RunResult("x", way, 1, 1, None, "spawn", [ms / 1000], [0.0],
                                        [], [1.0])
    return result


def test_words_follow_the_measurement():
    text = dm.describe_data_movement(fake({"in this process": 7, "pickled": 360,
                                           "shared memory": 18})).text
    assert "Shared memory beat pickling 20.0×" in text and "353.0 ms more" in text
    close = dm.describe_data_movement(fake({"in this process": 7, "pickled": 10,
                                            "shared memory": 12})).text
    assert "not slower than shared memory" in close
    fig = dm.plot_data_movement(fake({"in this process": 7, "pickled": 360}))
    assert "ms" in fig.axes[0].get_xlabel() and fig.axes[0].get_title()


def test_shared_memory_self_check(no_leftover_processes):
    block = shared_memory.SharedMemory(create=True, size=8)
    name = block.name
    block.close()
    result = check_shared_total(SHARED_EXPECTED, name)  # right sum, block left behind
    assert not result and "still existed" in str(result)
    assert gone(name)  # the check cleaned it up
    assert check_shared_total(SHARED_EXPECTED, name)
    assert not check_shared_total(SHARED_EXPECTED - 1, name)
    assert not check_shared_total(..., name)
    assert not check_shared_total(SHARED_EXPECTED, "")
    assert not check_shared_total("499999500000", name)
