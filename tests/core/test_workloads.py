import pickle

import pytest

from helpers.core import workloads
from helpers.core.workloads import WORKLOADS, get_workload


def test_results_are_correct():
    assert workloads.count_up(12_345) == 12_345
    assert workloads.count_primes(100) == 25
    assert workloads.sleep_ms(5) >= 0.004
    assert workloads.hash_bytes(2) == workloads.hash_small_chunks(2)  # same bytes, same hash
    assert workloads.compress_bytes(1) > 0
    assert 0.0 < workloads.numpy_sort(1) < 1.0


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
@pytest.mark.parametrize("bad", [-1, 1.5, True, "10", 10**10])
def test_bad_sizes_name_the_parameter(workload, bad):
    with pytest.raises(ValueError, match=workload.size_name):
        workload.function(bad)


@pytest.mark.parametrize("workload", list(WORKLOADS.values()), ids=list(WORKLOADS))
def test_registry_entries_are_consistent(workload):
    assert workload.min_size <= workload.quick_size <= workload.normal_size <= workload.max_size
    assert workload.behaviour in {"cpu-bound", "waits", "releases the GIL"}
    assert pickle.loads(pickle.dumps(workload.function)) is workload.function
    with pytest.raises(ValueError, match=workload.size_name):
        workload.check_size(workload.max_size + 1)


def test_quick_mode_shrinks_defaults(monkeypatch):
    monkeypatch.setenv("LAB_QUICK", "0")
    normal = {name: w.default_size() for name, w in WORKLOADS.items()}
    monkeypatch.setenv("LAB_QUICK", "1")
    assert all(w.default_size() < normal[name] for name, w in WORKLOADS.items())


def test_lookup_by_name_or_function():
    assert get_workload("count") is get_workload(workloads.count_up)
    with pytest.raises(ValueError, match="workload must be one of"):
        get_workload("nope")
