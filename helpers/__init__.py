"""Helpers for the "Threads, Processes & the GIL" lab.

Everything a thread, process, interpreter or Dask worker runs lives in this
package, never in a notebook: under the *spawn* and *forkserver* start methods
a child process imports the function by its module name, and a notebook's
``__main__`` cannot be imported.

Modules, one idea each:

``config``      quick mode (``LAB_QUICK``) and the forced start method (``LAB_START_METHOD``)
``system``      the environment report and the effective CPU count
``workloads``   CPU-bound, waiting, and GIL-releasing task functions
``executors``   the registry of executor kinds (serial, threads, processes, …)
``runner``      run N tasks on one executor: warm-up, repeats, median, CPU time
``experiments`` compare executors; sweep the number of workers
``interpret``   sentences derived from the measurements
``pairs``       two things compared on a drifting machine: interleaved pairs, median ratio
``plots``       times, speedup and timeline plots
``lab``         the interactive lab widget
``exercises``   self-checks for the exercises
``seed``        the seed article's example functions
``sharing``     who sees whose memory: threads share, processes copy
``progress``    progress bars for anything longer than a second
``kernel_exit`` a kernel that used spawn/forkserver shuts down without a 2–3 s wait
``threads_intro``   notebook 01's demos and self-checks
``processes_intro`` notebook 02's demos and self-checks
``gil_exercises``   notebook 03's self-checks
``script_runs`` the seed article's combined script, run safely in a subprocess
``io_bound``    notebook 04's measurements, plots, pool-size widget and self-check
``latency_server`` a local HTTP server with controllable latency (127.0.0.1 only)
``controls``    bounded sliders and the Run/progress/plot frame of the smaller widgets
``granularity`` notebook 05: how much work a task needs before processes pay off
``data_movement`` notebook 05: pickling vs shared memory vs fork for a large array
``amdahl``      notebook 05: scaling, Amdahl's law and the fitted serial fraction
``worker_memory`` notebook 05: memory per thread and per worker process (USS/PSS)
``instances``   notebook 05: many copies of a script, via subprocess
``failures``    notebook 05: a worker raising, dying, or being stopped
``processes_exercises`` notebook 05's self-checks
``races``       notebook 06: lost updates counted, the lock that fixes them
``pipelines``   notebook 06: producer/consumer queues with sentinels and back-pressure
``deadlock``    notebook 06: two locks in opposite orders, detected by timeouts
``process_sharing`` notebook 06: a counter shared between processes, five ways
``coordination`` notebook 06: Event, Semaphore, threading.local; what is atomic
``bank``        notebook 06's exercise: transfers that must not create money
``free_threading`` notebook 07: find a free-threaded Python and measure in it
``subinterpreters`` notebook 07: interpreters measured in a Python 3.14+; what extensions need
``measure_cli`` ``python -m helpers.measure_cli``: measure in another interpreter, print JSON
``capstone_stages`` notebook 09: the pipeline's stages (fetch, parse, compute, aggregate)
``capstone``    notebook 09: the pipeline with a tool per stage; words, plot, lab widget, checks
``decision_guide`` notebook 09: which tool when, each rule pointing at the notebook that measured it
"""
from . import kernel_exit as _kernel_exit
from .config import quick_mode, start_method
from .experiments import Comparison, compare, sweep_workers
from .runner import RunResult, TaskRecord, run_tasks
from .system import effective_cpu_count, environment_report
from .workloads import WORKLOADS

__all__ = ["WORKLOADS", "Comparison", "RunResult", "TaskRecord", "compare",
           "effective_cpu_count", "environment_report", "quick_mode", "run_tasks",
           "start_method", "sweep_workers"]

_kernel_exit.install()  # does nothing outside a Jupyter kernel
