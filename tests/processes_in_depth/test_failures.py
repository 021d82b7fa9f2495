"""Worker failures: the parent gets the exception and traceback, a dead worker breaks the
pool fast, and a stopped run leaves nothing behind."""
import multiprocessing
import re
import sys

import pytest

from helpers.processes_in_depth import failures as f

METHODS = multiprocessing.get_all_start_methods()


@pytest.mark.parametrize("method", METHODS)
def test_worker_exception_comes_back_with_its_traceback(method, no_leftover_processes):
    failure = f.worker_exception(method)
    assert failure.error == "ValueError: the input was not valid"
    assert "in fail_with" in failure.worker_traceback and "failures.py" in failure.worker_traceback
    assert "still works" in failure.afterwards and "ValueError" in str(failure)


@pytest.mark.parametrize("method", METHODS)
def test_dead_worker_breaks_the_pool_fast(method, no_leftover_processes):
    failure = f.dead_worker(method)
    assert failure.error.startswith("BrokenProcessPool")
    assert "refused" in failure.afterwards
    if sys.version_info < (3, 15):  # no cause before 3.15
        assert failure.cause == "" and "its cause" not in str(failure)
    elif failure.cause:  # 3.15+: there when the pool saw the worker end before it broke
        assert re.fullmatch(r"Process \d+ terminated abruptly with exit code 3", failure.cause)
        assert f"its cause: {failure.cause}" in str(failure)


@pytest.mark.parametrize("method", METHODS)
def test_stopped_run_leaves_no_worker(method, no_leftover_processes):
    failure = f.stopped_run(method, timeout=0.3)
    assert failure.error.startswith("TimeoutError")
    assert failure.afterwards == "0 worker processes still running"


@pytest.mark.parametrize("call, name", [
    (lambda: f.exit_abruptly(300), "code"),
    (lambda: f.worker_exception(timeout=0), "timeout"),
    (lambda: f.stopped_run(timeout=0), "timeout"),
    (lambda: f.dead_worker("teleport"), "start_method"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
