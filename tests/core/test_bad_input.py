"""Issue 20, point 6: bad input that is not named.

Every call below is a mistake a learner can make. Each must raise ``ValueError`` or
``TypeError`` *before anything runs*, naming the parameter and what it may be — never a
letter-by-letter reading of a string, a silent clamp, a traitlets error, or an
``AttributeError`` from deep inside. The table is the closing note's bad-input table:
each row is the call exactly as written, the exception, and words its message must hold.
"""
from __future__ import annotations

import math
import multiprocessing
import sys

import pytest

from helpers.capstone.exercises import check_tool_guide
from helpers.capstone.lab import CapstoneLab
from helpers.capstone.plan import check_stages
from helpers.capstone.target import target_time
from helpers.core.executors import EXECUTORS
from helpers.core.experiments import compare, sweep_workers
from helpers.core.lab import Lab
from helpers.core.other_pythons import Interpreter
from helpers.core.runner import run_tasks
from helpers.free_threading.gil_lab import GilLab
from helpers.free_threading.gil_off import measure_threads, race_in
from helpers.processes_in_depth.amdahl import AmdahlLab
from helpers.processes_in_depth.data_movement import measure_data_movement
from helpers.processes_in_depth.granularity import ChunkLab


async def nap(milliseconds: int) -> int:
    """A coroutine function: it runs on the asyncio executor only."""
    return milliseconds


NAMES = {"run_tasks": run_tasks, "compare": compare, "sweep_workers": sweep_workers,
         "Lab": Lab, "CapstoneLab": CapstoneLab, "check_stages": check_stages,
         "check_tool_guide": check_tool_guide, "target_time": target_time,
         "measure_data_movement": measure_data_movement, "ChunkLab": ChunkLab,
         "AmdahlLab": AmdahlLab, "measure_threads": measure_threads, "race_in": race_in,
         "GilLab": GilLab, "here": Interpreter(sys.executable, "3.11.0", False),
         "nap": nap, "nan": math.nan}
NEEDS_DASK = pytest.mark.skipif("dask" not in EXECUTORS, reason="distributed not installed")
METHODS = str(multiprocessing.get_all_start_methods())  # the allowed start methods


def row(call: str, error: type[Exception], *words: str, marks=()) -> object:
    """One row of the table, its test named after the call."""
    return pytest.param(call, error, words, id=call, marks=marks)


BAD_INPUTS = [  # row(call, exception, words the message must contain)
    row("run_tasks(123)", TypeError, "workload", "'count'", "function of one argument"),
    row("run_tasks('count', arguments=5)", TypeError,
        "arguments", "list", "one argument per task"),
    row("run_tasks(nap, executor='asyncio', arguments='abc')", TypeError,
        "arguments", "list", "'abc'"),
    row("run_tasks(nap, executor='threads', arguments=[1])", ValueError,
        "executor 'threads'", "workload 'nap'", "coroutine", "['asyncio']"),
    row("run_tasks('count', executor='asyncio')", ValueError,
        "executor 'asyncio'", "workload 'count'", "coroutine", "'threads'"),
    row("run_tasks('count', executor='threads', start_method='bogus')", ValueError,
        "start_method", METHODS, "'bogus'"),
    row("run_tasks('count', executor='dask', workers=32)", ValueError,
        "workers", "from 1 to 16", "32", marks=NEEDS_DASK),
    row("run_tasks('count', size=nan)", ValueError, "size (iterations)", "10000 to 12000000"),
    row("sweep_workers(workers=5)", TypeError, "workers", "list of worker counts", "5"),
    row("sweep_workers(workers=[1, 0])", ValueError, "workers", "from 1 to 64", "0"),
    row("compare('count', 'threads')", TypeError,
        "executors", "list of executor kinds", "['threads']", "'serial'"),
    row("compare('count', ['serial', 'fibres'])", ValueError,
        "executors", "'fibres'", "'processes'"),
    row("compare('count', ['serial', 'asyncio'])", ValueError,
        "executor 'asyncio'", "workload 'count'"),
    row("Lab(executors='threads')", TypeError, "executors", "list of executor kinds", "'serial'"),
    row("Lab(executors=['asyncio'])", ValueError, "executor 'asyncio'", "coroutine", "'threads'"),
    row("Lab(start_method='bogus')", ValueError, "start_method", METHODS),
    row("Lab(tasks=10**6)", ValueError, "tasks", "from 1 to 16", "1000000"),
    row("Lab(workers=2.7)", ValueError, "workers", "integer from 1 to", "2.7"),
    row("Lab(tasks=nan)", ValueError, "tasks", "integer from 1 to 16", "nan"),
    row("Lab(repeats=0)", ValueError, "repeats", "from 1 to 5"),
    row("Lab(size=nan)", ValueError, "size (iterations)", "10000 to 12000000"),
    row("CapstoneLab(comparison='x')", ValueError, "comparison", "PipelineComparison", "'x'"),
    row("CapstoneLab(start_method='bogus')", ValueError, "start_method", METHODS),
    row("CapstoneLab(repeats=0)", ValueError, "repeats", "from 1 to 20"),
    row("CapstoneLab(worker=4)", TypeError, "options", "'pages'", "'repeats'", "'worker'"),
    row("CapstoneLab(stages={'fetch': ('threads', 40)})", ValueError,
        "workers of stages['fetch']", "from 1 to 32"),
    row("check_stages({'compute': ('dask', 17)})", ValueError,
        "workers of stages['compute']", "from 1 to 16", marks=NEEDS_DASK),
    row("check_tool_guide({}, 'x')", ValueError, "comparison", "PipelineComparison", "None"),
    row("target_time(None)", ValueError, "comparison", "PipelineComparison"),
    row("measure_data_movement(repeats=0)", ValueError, "repeats", "from 1 to 20"),
    row("ChunkLab(start_method='bogus')", ValueError, "start_method", METHODS),
    row("AmdahlLab(start_method='bogus')", ValueError, "start_method", METHODS),
    row("ChunkLab(items=0)", ValueError, "items", "from 16 to 4096", "0"),
    row("measure_threads('python', None)", TypeError, "interpreter", "Interpreter", "None",
        "'python'"),
    row("race_in(here, None, threads=-1)", ValueError, "threads", "from 1 to 16", "-1"),
    row("race_in('python', None)", TypeError, "interpreter", "Interpreter", "'python'"),
    row("GilLab('python')", TypeError, "interpreter", "Interpreter", "'python'"),
]


@pytest.mark.parametrize(("call", "error", "words"), BAD_INPUTS)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error) as raised:
        eval(call, dict(NAMES))  # the call exactly as the table (and the closing note) shows it
    message = str(raised.value)
    missing = [word for word in words if word not in message]
    assert not missing, f"{call} → {error.__name__}: {message!r} lacks {missing}"
