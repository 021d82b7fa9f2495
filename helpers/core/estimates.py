"""How long a run will take and how much memory it needs, said before it runs.

Every widget (:class:`helpers.core.controls.RunPanel`) shows "A Run with these settings
takes about N s here" above its Run button and refuses, in words, a Run estimated above
:data:`RUN_BUDGET_SECONDS` or above the memory the machine has. An estimate is rough
(a factor of two either way) and honest about it: it says "about".

The model is the one a learner can check by hand. One task costs :func:`task_seconds`:
one call of the workload timed in this kernel at a small size (once per workload), scaled
to the chosen size by how its work grows (:func:`task_cost`). An executor runs
:func:`parallel_slots` tasks at once, so ``tasks`` tasks take
``ceil(tasks / slots)`` rounds (:func:`run_seconds`), plus the time to start its pool
(:data:`START_SECONDS`) and the runner's own cost per task (:data:`TASK_OVERHEAD_SECONDS`:
it matters for thousands of tiny tasks, as in notebook 05's chunk sizes).
"""
from __future__ import annotations

import math
import time
from functools import lru_cache

from helpers.core.executors import get_executor_kind
from helpers.core.settings import default
from helpers.core.system import gil_enabled
from helpers.core.workloads import get_workload

RUN_BUDGET_SECONDS = 120.0  # a longer Run is refused: nobody should wait minutes for a plot
# about: start a pool / a local cluster / another Python (helpers.core.measure_cli)
START_SECONDS = {"processes": 0.5, "interpreters": 0.5, "dask": 5.0, "python": 0.7}
WORKER_MIB = {"processes": 64, "dask": 96}  # measured RSS of one worker process, about
# seconds the runner spends on each task besides its work (submit, pickle, collect, progress):
# measured on the bench's 2-CPU machine with 4,096 tasks of one addition, rounded up
TASK_OVERHEAD_SECONDS = {"serial": 4e-5, "threads": 5e-5, "asyncio": 5e-5,
                         "processes": 2e-4, "interpreters": 2e-4, "dask": 1e-3}


def parallel_slots(executor: str, behaviour: str, workers: int, cpus: int,
                   gil: bool | None = None) -> int:
    """How many tasks of a workload that ``behaviour`` ("cpu-bound", "waits", "releases
    the GIL") run at once on ``executor``: one on a single-worker kind; every worker for
    tasks that wait; one for CPU-bound Python in one thread (asyncio) or in threads while
    the GIL is on (``gil``: None for this kernel's); else as many as there are CPUs."""
    kind = get_executor_kind(executor)
    if kind.fixed_workers == 1:
        return 1
    if behaviour == "waits":
        return workers
    if kind.coroutines:
        return 1
    gil = gil_enabled() if gil is None else gil
    if kind.in_this_process and behaviour == "cpu-bound" and gil:
        return 1
    return max(1, min(workers, cpus))


def run_seconds(executor: str, behaviour: str, *, task_seconds: float, tasks: int,
                workers: int, repeats: int, cpus: int, gil: bool | None = None) -> float:
    """About how long one :func:`~helpers.core.runner.run_tasks` call takes: ``repeats``
    rounds of ``tasks`` tasks, :func:`parallel_slots` at once, the runner's cost per task,
    plus starting the pool."""
    slots = parallel_slots(executor, behaviour, workers, cpus, gil)
    rounds = math.ceil(tasks / slots) * task_seconds
    return (repeats * (rounds + tasks * TASK_OVERHEAD_SECONDS.get(executor, 0.0))
            + START_SECONDS.get(executor, 0.0))


def runner_repeats(repeats: int | None = None) -> int:
    """The repeats a run makes: ``repeats``, or the runner's default (3, 1 in quick mode)."""
    return int(default(3, 1)) if repeats is None else repeats


def task_seconds(workload: str, size: float) -> float:
    """About how long one task of ``workload`` at ``size`` takes in this kernel: one timed
    call at the workload's quick size (:func:`seconds_per_cost`), scaled by
    :func:`task_cost`."""
    return seconds_per_cost(workload) * task_cost(workload, size)


def task_cost(name: str, size: float) -> float:
    """How a task's work grows with its size: trial division up to n does about
    n^1.5 / ln n steps; a sort of n numbers about n·log n; every other workload is linear."""
    if name == "primes":
        return size**1.5 / math.log(max(size, 3))
    if name == "numpy":
        return size * math.log2(max(size, 2) * 2**17)  # 2**17 float64 numbers in a MiB
    return float(size)


@lru_cache(maxsize=None)
def seconds_per_cost(name: str) -> float:
    """Seconds per unit of :func:`task_cost` for workload ``name``, timed once per kernel:
    one call at the smallest size (imports, caches), then one at the quick size."""
    workload = get_workload(name)
    workload.function(workload.min_size)
    start = time.perf_counter()
    workload.function(workload.quick_size)
    return (time.perf_counter() - start) / task_cost(name, workload.quick_size)


def about(seconds: float) -> str:
    """'about 40 s', 'about 3 min': a duration as rough as an estimate is."""
    if seconds < 10:
        return f"about {max(seconds, 0.1):.2g} s"
    if seconds < 100:
        return f"about {round(seconds / 5) * 5:.0f} s"
    return f"about {max(round(seconds / 60), 2):.0f} min"
