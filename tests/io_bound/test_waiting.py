"""Part 4 · waiting for events: CPU while waiting, tasks versus threads.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import threading

import pytest

from helpers.core.noise import MachineLoad
from helpers.io_bound import waiting as w


def thread_names() -> set[str]:
    return {t.name for t in threading.enumerate()}


@pytest.mark.parametrize(("call", "name"), [
    (lambda: w.cpu_while_waiting(0), "threads"),
    (lambda: w.cpu_while_waiting(2, seconds=-1), "seconds"),
    (lambda: w.cpu_while_waiting(2, how="sleep"), "how"),
    (lambda: w.tasks_vs_threads(w.MAX_WAITERS + 1), "count"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_waiting_threads_use_far_less_cpu_than_spinning():
    waiting = w.cpu_while_waiting(50, 0.3, "event")
    queued = w.cpu_while_waiting(50, 0.3, "queue")
    spinning = w.cpu_while_waiting(1, 0.3, "spin")
    assert waiting.threads == 50 and spinning.threads == 1
    assert waiting.cpu < 0.25 * spinning.cpu
    assert queued.cpu < 0.25 * spinning.cpu
    assert "**event**" in w.describe_waits([waiting, spinning])


def test_tasks_vs_threads_leaves_no_thread_and_counts():
    before = thread_names()
    costs = w.tasks_vs_threads(200)
    assert set(costs) == {"threads", "asyncio tasks"}
    assert all(cost.count == 200 for cost in costs.values())
    assert costs["threads"].traced_bytes > 0
    assert "asyncio tasks" in w.describe_tasks_vs_threads(costs)
    assert thread_names() <= before | {"MainThread"}


def test_waiting_words_idle_and_busy():
    idle, busy = MachineLoad(0.0, 1), MachineLoad(0.8, 1)
    calm = [w.WaitResult("event", 200, 0.25, 0.0001, idle),
            w.WaitResult("spin", 1, 0.25, 0.25, idle)]
    assert "disturbed" not in w.describe_waits(calm)
    squeezed = [w.WaitResult("event", 200, 0.25, 0.0001, busy),
                w.WaitResult("spin", 1, 0.25, 0.06, busy)]
    assert "**disturbed**" in w.describe_waits(squeezed)  # the spinner got a quarter CPU
    threads = w.WaitersCost("threads", 1000, 0.5, 15 * 2**20, 3 * 2**20, idle)
    tasks = w.WaitersCost("asyncio tasks", 1000, 0.05, 2 * 2**20, 2 * 2**20, idle)
    text = w.describe_tasks_vs_threads({"threads": threads, "asyncio tasks": tasks})
    assert "10× as fast" in text and "disturbed" not in text
    threads = w.WaitersCost("threads", 1000, 0.5, 15 * 2**20, 3 * 2**20, busy)
    text = w.describe_tasks_vs_threads({"threads": threads, "asyncio tasks": tasks})
    assert "**disturbed**" in text and "as fast as" not in text
