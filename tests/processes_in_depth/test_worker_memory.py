"""Memory per worker: measured from the OS, threads far lighter than processes."""
import multiprocessing
import sys

import psutil
import pytest
from matplotlib.colors import to_hex

from helpers.core import memory
from helpers.core.plots import colour_for
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


@pytest.mark.parametrize("method", METHODS)
def test_memory_bound_process_memory_starts_no_pool_the_machine_cannot_hold(method,
                                                                            monkeypatch):
    """Issue 20.7: 64 spawned workers take about 1 GiB of their own: the count is checked
    against the memory here before any worker starts."""
    monkeypatch.setattr(memory, "available_memory", lambda: 256 * memory.MIB)
    monkeypatch.setattr(wm, "open_executor", lambda *a: pytest.fail("it started a pool"))
    with pytest.raises(ValueError) as raised:
        wm.process_memory(64, method)
    most = 256 // wm.WORKER_MIB[method]
    assert (f"count must be from 1 to {most} on this machine, got 64: 64 workers under "
            f"{method} would need about") in str(raised.value)


def test_words_and_plot_follow_the_numbers():
    thread = wm.WorkerMemory("threads", 10, wm.Memory(10 * 2**20, 0, 0, "USS"))
    process = wm.WorkerMemory("processes (spawn)", 2, wm.Memory(2 * 2**20, 0, 0, "USS"))
    text = wm.describe_memory([thread, process]).text
    assert "did not measure less" in text  # 1 MiB per thread vs 1 MiB per process
    fig = wm.plot_memory([thread, process])
    assert "MiB" in fig.axes[0].get_xlabel() and fig.axes[0].get_title()


def fake_results():
    mib = 2**20
    return [wm.WorkerMemory("threads", 16, wm.Memory(16 * 4 * mib // 300, 0, 0, "USS")),
            wm.WorkerMemory("processes (fork)", 2, wm.Memory(8 * mib, 0, 0, "USS")),
            wm.WorkerMemory("processes (spawn)", 2, wm.Memory(30 * mib, 0, 0, "USS"))]


def test_bars_are_as_long_as_the_numbers_on_a_linear_scale():
    # the case: on a log scale a thread looked a fifth of a process, not 1/300
    ax = wm.plot_memory(fake_results()).axes[0]
    assert ax.get_xscale() == "linear" and "linear" in ax.get_xlabel()
    widths = [bar.get_width() for bar in ax.patches]
    assert widths[1] / widths[0] == pytest.approx(300, rel=0.01)  # as the numbers are
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > max(widths)
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["14 KiB", "4.00 MiB", "15.00 MiB"]  # every value printed at its bar


def test_colours_threads_as_threads_and_start_methods_as_processes():
    ax = wm.plot_memory(fake_results()).axes[0]
    fills = [to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert fills[0] == colour_for("threads").lower()
    assert fills[1] == fills[2] == colour_for("processes").lower()
    assert ax.patches[1].get_hatch() != ax.patches[2].get_hatch()  # told apart by hatch


def test_fork_against_spawn_follows_the_numbers():
    results = fake_results()
    text = wm.describe_memory(results).text
    assert "less memory of its own than a spawned one (4.0 against 15.0 MiB)" in text
    assert "reference count" in text and "about 300× less" in text
    swapped = [results[0], wm.WorkerMemory("processes (fork)", 2, results[2].total),
               wm.WorkerMemory("processes (spawn)", 2, results[1].total)]
    assert "no less memory of its own" in wm.describe_memory(swapped).text
