"""Handing an array to a worker: every way sums the same numbers; shared memory is cleaned up."""
import multiprocessing
from multiprocessing import shared_memory

import numpy as np
import pytest
from matplotlib.colors import to_hex

from helpers.core.noise import MachineLoad
from helpers.core.plots import START_METHOD_HATCHES, colour_for
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


BUSY = MachineLoad(others=1.8, allowed=2)  # other programs left 0.2 of two CPUs


def fake(ways_ms, load=None, cpu_share=1.0, spread=0.0):
    result = dm.DataMovement(64, "spawn", 64 * 2**20)
    for way, ms in ways_ms.items():
        walls = [ms / 1000 * (1 + d) for d in (0.0, -spread / 2, spread / 2)]
        result.runs[way] = dm.RunResult("x", way, 1, 1, None, "spawn", walls,
                                        [cpu_share * w for w in walls], [], [1.0], load)
    return result


def test_words_follow_the_measurement():
    text = dm.describe_data_movement(fake({"in this process": 7, "pickled": 360,
                                           "shared memory": 18}), 2).text
    assert "Shared memory was 20.0× faster than pickling" in text and "353.0 ms more" in text
    assert "disturbed" not in text
    close = dm.describe_data_movement(fake({"in this process": 7, "pickled": 10,
                                            "shared memory": 12}), 2).text
    assert "1.2× slower than pickling" in close and "Try a larger array" in close
    slight = dm.describe_data_movement(fake({"in this process": 7, "pickled": 12,
                                             "shared memory": 10}), 1).text
    assert "only slightly faster than pickling (1.20×)" in slight


def test_a_one_task_run_that_waits_for_the_pipe_is_not_disturbed():
    result = fake({"in this process": 7, "pickled": 360, "shared memory": 18}, cpu_share=0.4)
    assert result.disturbances(2) == []


@pytest.mark.parametrize("result", [
    fake({"in this process": 7, "pickled": 360, "shared memory": 18}, load=BUSY),
    fake({"in this process": 7, "pickled": 360, "shared memory": 18}, spread=0.5),
])
def test_a_disturbed_comparison_is_called_disturbed_and_not_explained(result):
    text = dm.describe_data_movement(result, 2).text
    assert "**disturbed**" in text and "a name crossed" not in text
    assert "faster than pickling" not in text
    assert "disturbed" in text.splitlines()[-1]  # the summary's line says it too
    assert "disturbed" in dm.plot_data_movement(result).axes[0].get_title()


def test_plot_colours_mean_serial_and_processes_only():
    result = fake({"in this process": 7, "pickled": 360, "shared memory": 18,
                   "inherited (fork)": 4})
    result.start_method = "spawn"
    ax = dm.plot_data_movement(result).axes[0]
    fills = {to_hex(bar.get_facecolor()) for bar in ax.patches}
    assert fills == {colour_for("serial").lower(), colour_for("processes").lower()}
    hatches = {bar.get_hatch() or "" for bar in ax.patches}
    assert hatches == {"", START_METHOD_HATCHES["spawn"]}  # fork's, then spawn's
    assert "ms" in ax.get_xlabel() and ax.get_title()
    assert ax.get_xlim()[1] > 360


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
    assert check_shared_total(..., ...).state == "unanswered"  # the exercise as committed
    assert check_shared_total(SHARED_EXPECTED, ...).state == "unanswered"
    assert check_shared_total(None, name).state == "failed"
    assert not check_shared_total(SHARED_EXPECTED, "")
    assert not check_shared_total("499999500000", name)
