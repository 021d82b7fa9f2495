"""Measurements made in this process, through the lab's own runner.

Sizes follow ``LAB_QUICK`` (read when each function runs), so the command line decides
default or quick sizes by setting the environment before calling these. Every figure here
is a median over repeats; the figures that compare two sides (serial and parallel, runner and
bare ``concurrent.futures``) alternate them (A B, B A, …) so a machine that gets busier or
slower during the run slows both equally.
"""
from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, wait

from helpers.core.executors import resolve_start_method
from helpers.core.latency_server import LatencyServer, fetch
from helpers.core.other_pythons import find_free_threaded
from helpers.core.pairs import interleaved, median_ratio  # shared with notebook 07
from helpers.core.runner import run_tasks, warm_up_call
from helpers.core.settings import default
from helpers.core.system import default_workers, effective_cpu_count
from helpers.core.workloads import get_workload
from helpers.free_threading.gil_off import measure_threads
from helpers.io_bound.scraping import ideal_wall

from .figures import MEASURED, NOT_MEASURED, Figure

# Notebook 04's thread demo: 50 pages (16 quick) of 50 ms on 8 threads.
IO_LATENCY_MS = 50
IO_WORKERS = 8


def cpu_efficiency(fig_efficiency: Figure, fig_cv: Figure) -> None:
    """Notebook 03's CPU-bound demo at its default sizes: ``count`` tasks, serial vs
    processes (one per effective CPU, at least 2), each run as the notebook runs it.
    Efficiency = speedup ÷ effective CPUs, the speedup being the median over interleaved
    serial/processes pairs (:func:`interleaved`).

    The same runs give repeatability: the coefficient of variation (stdev ÷ mean) of the
    processes' wall times over the pairs.
    """
    cpus = effective_cpu_count()
    pairs = int(default(5, 3))
    serial_runs, process_runs = interleaved(
        pairs, lambda: run_tasks("count", executor="serial", repeats=1),
        lambda: run_tasks("count", executor="processes", repeats=1))
    serial = [r.wall for r in serial_runs]
    processes = [r.wall for r in process_runs]
    run = process_runs[0]
    speedup = median_ratio(serial, processes)
    fig_efficiency.value, fig_efficiency.status = speedup / cpus, MEASURED
    fig_efficiency.details = {
        "speedup": speedup, "effective_cpus": cpus, "workers": run.workers, "tasks": run.tasks,
        "size": run.size, "pairs": pairs, "serial_walls_s": serial,
        "processes_walls_s": processes,
        "cpus_busy": statistics.median(r.utilisation for r in process_runs)}
    ceiling = hardware_ceiling(run.size, min(cpus, run.workers), pairs)
    fig_efficiency.details["hardware_ceiling"] = ceiling
    allows = min(ceiling, 1.0)
    reached = (f"so the demo reached {speedup / cpus / allows:.0%} of what the CPUs can give"
               if speedup <= cpus * 1.05 else
               "— above 1 only because the serial baseline ran slower than usual (noise)")
    cost = (f"one task per CPU at once runs {1 / ceiling - 1:.0%} slower per task than alone"
            if ceiling < 1 else "one task per CPU at once ran no slower than alone")
    fig_efficiency.note = (f"speedup {speedup:.2f}× with {run.workers} processes on {cpus} "
                           f"effective CPUs, {run.tasks} tasks of count({run.size:,}), median "
                           f"of {pairs} interleaved pairs; this machine allows {allows:.2f} "
                           f"({cost}) {reached}")
    cvs = {"serial": coefficient_of_variation(serial),
           "processes": coefficient_of_variation(processes)}
    fig_cv.value, fig_cv.status = 100 * cvs["processes"], MEASURED
    fig_cv.details = {"cv_percent": {k: 100 * v for k, v in cvs.items()}, "repeats": pairs}
    fig_cv.note = (f"wall time of the processes run over {pairs} repeats; the serial "
                   f"baseline — a plain loop in this process, no pool — varied "
                   f"{100 * cvs['serial']:.1f} %: the machine's own noise")


def hardware_ceiling(size: int, cpus: int, pairs: int) -> float:
    """The parallel efficiency this machine itself allows: the time of one ``count(size)``
    task on a lone worker ÷ its time when ``cpus`` such tasks run at once (one per worker
    process), median over interleaved pairs. 1.0 means running side by side costs nothing;
    shared caches, memory bandwidth, turbo limits or a hypervisor's vCPUs make it less."""
    if cpus < 2:
        return 1.0

    def per_task(workers: int) -> Callable[[], float]:
        return lambda: statistics.median(record.duration for record in run_tasks(
            "count", executor="processes", workers=workers, tasks=cpus, size=size,
            repeats=1).records)

    alone, together = interleaved(pairs, per_task(1), per_task(cpus))
    return median_ratio(alone, together)


def coefficient_of_variation(values: list[float]) -> float:
    """Sample standard deviation ÷ mean (0 for fewer than two values)."""
    if len(values) < 2 or statistics.fmean(values) == 0:
        return 0.0
    return statistics.stdev(values) / statistics.fmean(values)


def io_overlap(figure: Figure) -> None:
    """Notebook 04's thread demo: N pages, each answered after L ms, fetched by W threads
    from a local :class:`LatencyServer`. Efficiency = ideal ÷ measured wall time, where the
    ideal is ``ceil(N / W) · L`` (N·L/W rounded up to whole rounds of W requests)."""
    pages = int(default(50, 16))
    repeats = int(default(5, 3))
    with LatencyServer(latency_ms=IO_LATENCY_MS, pages=pages) as server:
        run = run_tasks(fetch, executor="threads", arguments=server.urls(pages),
                        workers=IO_WORKERS, repeats=repeats, timeout=120)
    ideal = ideal_wall(pages, IO_WORKERS, IO_LATENCY_MS / 1000)
    figure.value, figure.status = ideal / run.wall, MEASURED
    figure.details = {"pages": pages, "latency_ms": IO_LATENCY_MS, "threads": IO_WORKERS,
                      "repeats": repeats, "walls_s": run.walls, "ideal_s": ideal,
                      "n_l_over_w_s": pages * IO_LATENCY_MS / 1000 / IO_WORKERS}
    figure.note = (f"{pages} waits of {IO_LATENCY_MS} ms on {IO_WORKERS} threads: "
                   f"{run.wall:.3f} s measured, {ideal:.3f} s ideal")


def _bare_pool(executor: str, workers: int) -> Executor:
    if executor == "threads":
        return ThreadPoolExecutor(max_workers=workers)
    context = multiprocessing.get_context(resolve_start_method(None))
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def bare_futures_wall(executor: str, size: int, tasks: int, workers: int) -> float:
    """The same tasks with nothing but ``concurrent.futures``: open a pool, give each worker
    one warm-up call (not timed, as the runner does), then time submit-all + wait-all."""
    workload = get_workload("count")
    with _bare_pool(executor, workers) as pool:
        wait([pool.submit(warm_up_call, workload.function, workload.min_size)
              for _ in range(workers)])
        start = time.perf_counter()
        futures = [pool.submit(workload.function, size) for _ in range(tasks)]
        for future in futures:
            future.result()
        return time.perf_counter() - start


def runner_wall(executor: str, size: int, tasks: int, workers: int) -> float:
    """The runner's own wall time for the same tasks (one repeat, after its warm-up)."""
    return run_tasks("count", executor=executor, size=size, tasks=tasks, workers=workers,
                     repeats=1).wall


def runner_overhead(figure: Figure, executor: str = "processes") -> None:
    """Runner ÷ bare ``concurrent.futures`` on identical ``count`` tasks, from interleaved
    A/B pairs (order alternating). 32 tasks of a tenth of the default size: short enough
    that any per-task cost of the runner would show."""
    workers = default_workers()
    size = get_workload("count").default_size() // 10
    tasks = 32
    pairs = int(default(5, 3))
    runner, bare = interleaved(pairs, lambda: runner_wall(executor, size, tasks, workers),
                               lambda: bare_futures_wall(executor, size, tasks, workers))
    ratio = statistics.median(runner) / statistics.median(bare)
    figure.value, figure.status = ratio, MEASURED
    figure.details = {"executor": executor, "workers": workers, "tasks": tasks, "size": size,
                      "pairs": pairs, "runner_walls_s": runner, "bare_walls_s": bare,
                      "pair_ratios": [a / b for a, b in zip(runner, bare)]}
    figure.note = (f"{pairs} interleaved pairs, {tasks} tasks of count({size:,}) on {workers} "
                   f"{executor}: median {statistics.median(runner):.3f} s vs "
                   f"{statistics.median(bare):.3f} s")


def free_threaded_speedup(figure: Figure) -> None:
    """Notebook 07's measurement: serial vs 2 threads of ``count`` in a free-threaded Python
    with ``PYTHON_GIL=0`` (via ``python -m helpers.core.measure_cli``). Each call measures one
    serial/threads pair side by side; the speedup is the median over the pairs."""
    interpreter = find_free_threaded()
    if interpreter is None:
        figure.skip(NOT_MEASURED, "not measured (no free-threaded Python)")
        return
    pairs = int(default(5, 2))
    comparisons = [measure_threads(interpreter, gil=False, workers=2, repeats=1)
                   for _ in range(pairs)]
    serial = [c.baseline.wall for c in comparisons]
    threads = [c.runs["threads"].wall for c in comparisons]
    speedup = median_ratio(serial, threads)
    figure.value, figure.status = speedup, MEASURED
    run = comparisons[0].runs["threads"]
    figure.details = {"interpreter": interpreter.label, "path": interpreter.path,
                      "size": run.size, "pairs": pairs, "serial_walls_s": serial,
                      "threads_walls_s": threads,
                      "pair_speedups": [a / b for a, b in zip(serial, threads)],
                      "cpus_busy": statistics.median(c.runs["threads"].utilisation
                                                     for c in comparisons)}
    figure.note = (f"{interpreter.label}, PYTHON_GIL=0, 2 tasks of count({run.size:,}), "
                   f"median of {pairs} serial/threads pairs")
