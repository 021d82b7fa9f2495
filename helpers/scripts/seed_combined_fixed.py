"""The lab's version of the seed article's combined example, made to show the GIL.

Not the article's code (that is seed_combined.py, verbatim). What changed, and why:

1. The same CPU-bound work everywhere: every worker adds 1, NUMBER times (the
   article gave the thread 10**7 and the process 5*10**6, so its two examples
   could not be compared).
2. No sleep mixed in: the article runs a 2 s ``time.sleep`` beside the count, so
   any clock around both would read about 2 s, the sleep's, hiding what the GIL
   does. (Notebook 03 measures a count beside a sleep separately.)
3. A baseline: the same two tasks run one after the other (serial), then in
   2 threads, then in 2 processes.
4. ``if __name__ == "__main__":`` guards the code that starts processes. Under
   the spawn and forkserver start methods every child imports this file again;
   the guard makes that import define the functions and nothing more.
5. Better clocks: ``time.perf_counter`` for wall time, ``time.process_time``
   for CPU time. CPU seconds / wall seconds = how many CPUs were busy: about 1
   for CPU-bound threads under the GIL, up to 2 for two processes.

Usage: ``python seed_combined_fixed.py [NUMBER]``. The last line printed is
``RESULT {json}`` so that a program (notebook 03) can read the measurement.
"""
import argparse
import json
import multiprocessing
import os
import platform
import queue
import sys
import threading
import time

DEFAULT_NUMBER = 10**7  # the article's thread count
WORKERS = 2  # the article's two threads and two processes


def cpu_bound_task(number):
    """The article's CPU-bound task: add 1, ``number`` times (pure Python)."""
    result = 0
    for i in range(number):
        result += 1
    return result


def worker(number, results):
    """Run the task and put (result, CPU seconds it used) on ``results``.

    The CPU time is measured here, inside the worker: ``time.thread_time`` is
    this thread's CPU time, whether the thread is one of several in a process
    or the only thread of a child process. Measuring in the parent would miss
    processes started by a fork server, which are not the parent's children.
    """
    cpu_start = time.thread_time()
    result = cpu_bound_task(number)
    results.put((result, time.thread_time() - cpu_start))


def run_serial(number):
    """Both tasks, one after the other, in this thread: the baseline."""
    return [cpu_bound_task(number) for _ in range(WORKERS)], None


def run_threads(number):
    """Both tasks in 2 threads of this process, which share one GIL."""
    results = queue.Queue()
    threads = [threading.Thread(target=worker, args=(number, results))
               for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pairs = [results.get() for _ in threads]
    return [r for r, _ in pairs], sum(cpu for _, cpu in pairs)


def run_processes(number):
    """Both tasks in 2 processes, each with its own interpreter and GIL."""
    results = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=worker, args=(number, results))
                 for _ in range(WORKERS)]
    for process in processes:
        process.start()
    # Read the results before join(): a child that has put data on a queue
    # waits until it has been sent before it exits. get() returns as soon as a
    # result arrives; the timeout only lets us notice a child that died before
    # sending its result, instead of waiting for it forever.
    pairs = []
    while len(pairs) < len(processes):
        try:
            pairs.append(results.get(timeout=0.1))
        except queue.Empty:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            if dead:
                for process in processes:
                    process.terminate()
                raise RuntimeError(f"{dead[0].name} died with exit code {dead[0].exitcode}")
    for process in processes:
        process.join()
    return [r for r, _ in pairs], sum(cpu for _, cpu in pairs)


def measure(run, number):
    """Run ``run(number)`` once; return its wall and CPU time and CPUs busy.

    The parent's CPU time (``time.process_time``) counts all its threads. For
    processes we add the CPU time each child measured for its task.
    """
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    results, workers_cpu = run(number)
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    if run is run_processes:
        cpu += workers_cpu
    if results != [number] * WORKERS:
        raise RuntimeError(f"wrong results {results}, expected {number} each")
    return {"wall": wall, "cpu": cpu, "cpus_busy": cpu / wall}


def gil_enabled():
    """True unless this is a free-threaded build running with the GIL off."""
    check = getattr(sys, "_is_gil_enabled", None)
    return check() if check else True


def main():
    parser = argparse.ArgumentParser(
        description="The seed article's combined example, fixed to show the GIL.")
    parser.add_argument("number", type=int, nargs="?", default=DEFAULT_NUMBER,
                        help=f"additions per task (default {DEFAULT_NUMBER})")
    number = parser.parse_args().number
    if not 1 <= number <= 10**9:
        parser.error(f"number must be from 1 to {10**9}, got {number}")

    print(f"Python {platform.python_version()}, start method "
          f"{multiprocessing.get_start_method()!r}, GIL {'on' if gil_enabled() else 'off'}; "
          f"{WORKERS} tasks of {number:,} additions each")
    cpu_bound_task(number // 10)  # warm-up, not timed: the first run pays start-up costs
    runs = {}
    for name, run in [("serial", run_serial), ("threads", run_threads),
                      ("processes", run_processes)]:
        runs[name] = measure(run, number)
        speedup = runs["serial"]["wall"] / runs[name]["wall"]
        print(f"{name:>9}: {runs[name]['wall']:.3f} s wall, {runs[name]['cpu']:.3f} s CPU, "
              f"{runs[name]['cpus_busy']:.2f} CPUs busy, {speedup:.2f}x serial speed",
              flush=True)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    result = {"python": platform.python_version(),
              "implementation": platform.python_implementation(),
              "start_method": multiprocessing.get_start_method(),
              "gil_enabled": gil_enabled(), "cpus": cpus,
              "number": number, "workers": WORKERS, **runs}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
