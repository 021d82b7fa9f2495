"""Helpers for the "Threads, Processes & the GIL" lab.

Everything a thread, process, interpreter or Dask worker runs lives in this
package, never in a notebook: under the *spawn* and *forkserver* start methods
a child process imports the function by its module name, and a notebook's
``__main__``  cannot be imported.

The layout: notebook ``notebooks/NN_<stem>.ipynb`` has its lesson here as ``<stem>`` (a
module, or a package when the lesson has several parts) and its tests as
``tests/test_<stem>.py`` or ``tests/<stem>/``. A lesson imports the core and earlier lessons
only; the core imports no lesson (``tests/test_layout.py`` checks both).

``core/``                the measuring library: settings, runner, executors, words, plots, widgets
``start_here``           00 · your machine, a first measurement, do widgets work
``threads/``             01 · start, join, share memory, use a pool
``processes``            02 · processes: start methods, separate memory, pools
``the_gil/``             03 · why CPU-bound threads do not speed up
``io_bound/``            04 · threads and asyncio for waiting
``processes_in_depth/``  05 · when processes pay off
``shared_state/``        06 · races, locks, queues, deadlock
``free_threading/``      07 · free-threaded builds and subinterpreters
``beyond_one_machine``   08 · Dask: the same code on a cluster
``capstone/``            09 · a pipeline with the right tool per stage
``scripts/``             scripts the lessons run as files (the seed article's example)

Each package's own docstring lists its modules.
"""
from helpers.core import kernel_exit as _kernel_exit
from helpers.core.experiments import Comparison, compare, sweep_workers
from helpers.core.runner import RunResult, TaskRecord, run_tasks
from helpers.core.settings import plain_child_output, quick_mode, start_method
from helpers.core.system import effective_cpu_count, environment_report
from helpers.core.workloads import WORKLOADS

__all__ = ["WORKLOADS", "Comparison", "RunResult", "TaskRecord", "compare",
           "effective_cpu_count", "environment_report", "quick_mode", "run_tasks",
           "start_method", "sweep_workers"]

_kernel_exit.install()  # does nothing outside a Jupyter kernel
plain_child_output()  # no ANSI colour codes from child Pythons in a notebook's outputs
