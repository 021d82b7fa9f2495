"""Memory per worker: measured from the OS, threads far lighter than processes."""
import multiprocessing
import sys

import psutil
import pytest

from helpers.processes_in_depth import worker_memory as wm

METHODS = multiprocessing.get_all_start_methods()


def test_memory_of_this_process():
    memory = wm.memory_of(psutil.Process())
    assert memory.rss > 0 and memory.unique > 0
    if sys.platform.startswith("linux"):
        assert memory.measure == "USS" and 0 < memory.uss <= memory.pss <= memory.rss


def test_total_memory_skips_ended_processes():
    assert wm.total_memory([]).unique == 0
    assert wm.total_memory([2**22 + 12345]).rss == 0  # no such pid


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_process_costs_more_than_a_thread(method, no_leftover_processes):
    threads = wm.thread_memory(16)
    processes = wm.process_memory(2, method)
    assert processes.kind == f"processes ({method})" and processes.count == 2
    assert processes.total.unique > 0
    assert processes.per_worker > 4 * threads.per_worker
    assert "less memory" in wm.describe_memory([threads, processes]).text


@pytest.mark.parametrize("call, name", [
    (lambda: wm.thread_memory(0), "count"),
    (lambda: wm.process_memory(wm.MAX_COUNT + 1), "count"),
    (lambda: wm.process_memory(1, "teleport"), "start_method"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_words_and_plot_follow_the_numbers():
    thread = wm.WorkerMemory("threads", 10, wm.Memory(10 * 2**20, 0, 0, "USS"))
    process = wm.WorkerMemory("processes (spawn)", 2, wm.Memory(2 * 2**20, 0, 0, "USS"))
    text = wm.describe_memory([thread, process]).text
    assert "did not cost less" in text  # 1 MiB per thread vs 1 MiB per process
    fig = wm.plot_memory([thread, process])
    assert "MiB" in fig.axes[0].get_xlabel() and fig.axes[0].get_title()
