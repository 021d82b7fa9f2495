"""helpers.processes.basics: children under every start method, bounded waits, clean-up,
argument checks, and self-checks that reject wrong answers without raising."""
import json
import multiprocessing
import re
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout  # builtin TimeoutError from 3.11
from concurrent.futures.process import BrokenProcessPool

import pytest
from conftest import ROOT
from matplotlib.figure import Figure

from helpers.core.selfcheck import CheckResult
from helpers.processes import basics as intro
from helpers.threads.sharing import record_visit, reset_visits, visits

METHODS = multiprocessing.get_all_start_methods()
FRESH = [m for m in ("spawn", "forkserver") if m in METHODS]  # children that import afresh


# --- argument checks ---------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: intro.try_in_child("not a function"), "function"),
    (lambda: intro.try_in_child(intro.square, 2, timeout=0), "timeout"),
    (lambda: intro.try_in_child(intro.square, 2, start_method="teleport"), "start_method"),
    (lambda: intro.join_or_stop([], timeout=-1), "timeout"),
    (lambda: intro.start_cost(repeats=0), "repeats"),
    (lambda: intro.start_cost(start_method="teleport"), "start_method"),
    (lambda: intro.start_cost(timeout=float("nan")), "timeout"),
    (lambda: intro.start_costs(methods=[]), "methods"),
    (lambda: intro.pool_start_cost(workers=0), "workers"),
    (lambda: intro.pool_start_cost(repeats=51), "repeats"),
    (lambda: intro.describe_start_costs({}), "costs"),
    (lambda: intro.plot_start_costs({}), "costs"),
    (lambda: intro.square("seven"), "number"),
    (lambda: intro.square(10**10), "number"),
    (lambda: intro.send_letters(42, None), "letters"),
])
def test_bad_arguments_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- try_in_child ------------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_helpers_run_in_a_child_under(method, no_leftover_processes):
    outcome = intro.try_in_child(intro.square, 7, start_method=method)
    assert outcome.ok and outcome.value == 49 and outcome.start_method == method
    assert str(outcome).startswith(f"{method}: returned 49")


@pytest.mark.parametrize("method", METHODS)
def test_the_call_s_own_exception_comes_back(method, no_leftover_processes):
    outcome = intro.try_in_child(intro.square, "seven", start_method=method)
    assert isinstance(outcome.error, ValueError) and "number" in outcome.error_text
    assert "the parent got: ValueError" in str(outcome)


def _main_function(number):
    return number ** 3


@pytest.fixture
def function_in_main():
    """A function that lives in ``__main__``, as one defined in a notebook cell does."""
    main = sys.modules["__main__"]
    _main_function.__module__ = "__main__"
    main.lab_cube = _main_function
    _main_function.__qualname__ = _main_function.__name__ = "lab_cube"
    yield _main_function
    del main.lab_cube
    _main_function.__module__ = __name__
    _main_function.__qualname__ = _main_function.__name__ = "_main_function"


@pytest.mark.parametrize("method", FRESH)
def test_a_main_function_breaks_the_pool_fast_and_the_reason_is_shown(
        method, function_in_main, no_leftover_processes):
    began = time.perf_counter()
    outcome = intro.try_in_child(function_in_main, 3, start_method=method, timeout=60)
    assert time.perf_counter() - began < 30  # fails fast: no waiting for the timeout
    assert isinstance(outcome.error, BrokenProcessPool)
    assert "terminated abruptly" in outcome.error_text
    # the wording follows the version: "Can't get attribute 'lab_cube' on <module …>" up to
    # 3.13 (which module depends on how pytest was started), "module '__main__' has no
    # attribute 'lab_cube'" from 3.14
    assert outcome.child_error.startswith(
        intro.main_lookup_error("lab_cube").split(" on <module")[0])
    assert "the child said:  AttributeError" in str(outcome)


VERSIONS = [(3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15)]


def test_the_child_s_error_changed_wording_twice():
    assert intro.main_lookup_error("cube", (3, 11)) == (
        "AttributeError: Can't get attribute 'cube' on <module '__main__' (built-in)>")
    assert intro.main_lookup_error("cube", (3, 12)) == (
        "AttributeError: Can't get attribute 'cube' on "
        "<module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>")
    assert intro.main_lookup_error("cube", (3, 14)) == (
        "AttributeError: module '__main__' has no attribute 'cube'")


def test_notebook_02_quotes_every_version_s_error():
    """Each version's words, as quoted (``…`` stands for the part that changed in 3.12)."""
    cells = json.loads((ROOT / "notebooks" / "02_processes.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in cells["cells"] if c["cell_type"] == "markdown")
    quoted = [q for q in re.findall(r"`(AttributeError: [^`]*)`", text) if "cube" in q]
    patterns = [re.compile(".*".join(map(re.escape, q.split("…"))) + "$") for q in quoted]
    assert len(quoted) >= 2
    for version in VERSIONS:
        error = intro.main_lookup_error("cube", version)
        assert any(pattern.match(error) for pattern in patterns), version


def test_the_readme_troubleshooting_names_both_wordings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{intro.main_lookup_error('f', (3, 14))}`" in readme
    assert "`AttributeError: Can't get attribute 'f' on <module '__main__'>`" in readme


@pytest.mark.skipif("fork" not in METHODS, reason="no fork on this platform")
def test_a_main_function_works_under_fork(function_in_main, no_leftover_processes):
    assert intro.try_in_child(function_in_main, 3, start_method="fork").value == 27


def test_a_timeout_stops_the_child(no_leftover_processes):
    began = time.perf_counter()
    outcome = intro.try_in_child(time.sleep, 30, timeout=0.5)
    assert isinstance(outcome.error, FutureTimeout)
    assert time.perf_counter() - began < 10


# --- memory, queues, processes started by hand --------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_a_child_s_change_stays_in_the_child(method, no_leftover_processes):
    reset_visits()
    record_visit("parent")
    try:
        child_view = intro.try_in_child(intro.record_and_report, "child",
                                        start_method=method).value
        assert visits() == ["parent"]
        assert child_view == (["parent", "child"] if method == "fork" else ["child"])
        assert child_view == intro.MEMORY_EXPECTED[f"child under {method}"]
    finally:
        reset_visits()


@pytest.mark.parametrize("method", METHODS)
def test_letters_come_back_through_a_queue(method, no_leftover_processes):
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    child = context.Process(target=intro.send_letters, args=("xyz", queue))
    child.start()
    received = [queue.get(timeout=30) for _ in range(3)]
    assert intro.join_or_stop([child], timeout=30) == [0]
    assert received == ["x", "y", "z"]


def test_join_or_stop_terminates_a_child_that_runs_too_long(no_leftover_processes):
    child = multiprocessing.get_context().Process(target=time.sleep, args=(30,))
    child.start()
    began = time.perf_counter()
    (code,) = intro.join_or_stop([child], timeout=0.3)
    assert code is not None and code < 0  # killed by a signal (-15: SIGTERM)
    assert not child.is_alive() and time.perf_counter() - began < 10


@pytest.mark.skipif("fork" not in METHODS, reason="no fork on this platform")
def test_fork_warns_with_threads_from_python_3_12(no_leftover_processes):
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, args=(30,))
    helper.start()
    try:
        found = intro.fork_warnings()
    finally:
        stop.set()
        helper.join(5)
    if sys.version_info >= (3, 12):
        assert any("multi-threaded" in message for message in found)
    else:
        assert found == []


# --- start costs -------------------------------------------------------------------------

def test_start_costs_for_every_method(no_leftover_processes):
    costs = intro.start_costs(repeats=2)
    assert list(costs) == METHODS
    assert all(len(c.seconds) == 2 and c.median > 0 for c in costs.values())
    sentence = intro.describe_start_costs(costs)
    fastest = min(costs.values(), key=lambda c: c.median).start_method
    assert sentence.startswith(f"{fastest} was the fastest here")
    figure = intro.plot_start_costs(costs)
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert ax.get_title() and "(ms)" in ax.get_ylabel() and ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == METHODS


def test_pool_start_costs_start_every_worker(no_leftover_processes):
    costs = intro.start_costs(repeats=1, pool_workers=2)
    assert list(costs) == METHODS and all(len(c.seconds) == 1 for c in costs.values())
    sentence = intro.describe_start_costs(costs, "start a 2-worker pool")
    assert "to start a 2-worker pool (median of 1)" in sentence
    title = intro.plot_start_costs(costs, "pools").axes[0].get_title()
    assert title == "pools"


# --- self-checks -------------------------------------------------------------------------

def test_check_squares_accepts_the_right_answer():
    assert intro.check_squares([n * n for n in range(10)]).passed


@pytest.mark.parametrize("answer, words", [
    (None, "no answer"),
    (Future(), "Future"),
    (map(intro.square, range(10)), "list(...)"),
    ((0, 1, 4, 9, 16, 25, 36, 49, 64, 81), "not a list"),
    ([Future()], "Futures"),
    ([0, 1, 4], "expected 10 results"),
    ([n ** 3 for n in range(10)], "expected [0, 1, 4"),
    (list(reversed([n * n for n in range(10)])), "keeps the order"),
])
def test_check_squares_rejects_wrong_answers(answer, words):
    result = intro.check_squares(answer)
    assert isinstance(result, CheckResult) and not result.passed
    assert words in result.message and "Hint:" in result.message


def test_an_empty_exercise_is_not_answered_neither_passed_nor_failed():
    for result in (intro.check_squares(...),
                   intro.check_memory_prediction(dict.fromkeys(intro.MEMORY_EXPECTED, ...)),
                   intro.check_memory_prediction(dict(intro.MEMORY_EXPECTED,
                                                      **{"child under fork": ...}))):
        assert result.state == "unanswered" and not result.passed and not result
        assert "Not answered yet" in str(result) and "run this cell again" in result.message


def test_check_memory_prediction_accepts_the_right_answer():
    assert intro.check_memory_prediction(dict(intro.MEMORY_EXPECTED)).passed


@pytest.mark.parametrize("key", list(intro.MEMORY_EXPECTED))
def test_check_memory_prediction_rejects_each_wrong_entry(key):
    for wrong in ("parent", ["parent", "child", "child"], []):
        answer = dict(intro.MEMORY_EXPECTED, **{key: wrong})
        result = intro.check_memory_prediction(answer)
        assert not result.passed and repr(key) in result.message and "Hint:" in result.message


@pytest.mark.parametrize("answer", [None, ["parent"], {}])
def test_check_memory_prediction_rejects_other_shapes(answer):
    result = intro.check_memory_prediction(answer)
    assert not result.passed and "Hint:" in result.message


def test_measure_visits_measures_what_each_start_method_does(no_leftover_processes):
    measured = intro.measure_visits()
    assert list(measured) == list(intro.MEMORY_EXPECTED)
    for key, expected in intro.MEMORY_EXPECTED.items():
        method = key.rsplit(" ", 1)[-1]
        if key.startswith("child") and method not in METHODS:
            assert measured[key] is None
        else:
            assert measured[key] == expected, key
    result = intro.check_memory_prediction(dict(intro.MEMORY_EXPECTED), measured)
    assert result.passed and "measured here" in result.message


def test_the_memory_check_speaks_from_the_measurement():
    measured = dict(intro.MEMORY_EXPECTED)
    wrong = dict(intro.MEMORY_EXPECTED, **{"child under fork": ["child"]})
    message = intro.check_memory_prediction(wrong, measured).message
    assert "you predicted ['child']; measured here: ['parent', 'child']" in message
    unmeasured = dict(measured, **{"child under forkserver": None})
    message = intro.check_memory_prediction(dict(intro.MEMORY_EXPECTED), unmeasured).message
    assert "not measured here: child under forkserver" in message
    message = intro.check_memory_prediction(dict(intro.MEMORY_EXPECTED)).message
    assert "measured" not in message


def _cost(method, *milliseconds):
    return intro.StartCost(method, [m / 1000 for m in milliseconds])


def test_start_cost_words_explain_only_the_usual_order():
    usual = {"fork": _cost("fork", 2, 2, 2), "spawn": _cost("spawn", 60, 61, 60),
             "forkserver": _cost("forkserver", 20, 21, 20)}
    text = intro.describe_start_costs(usual)
    assert "As the work each one does predicts" in text and "disturbed" not in text
    swapped = dict(usual, spawn=_cost("spawn", 10, 10, 10))
    text = intro.describe_start_costs(swapped)
    assert "not the usual order (fork < forkserver < spawn)" in text
    assert "**disturbed**" in text and "As the work" not in text


def test_start_costs_whose_repeats_disagree_are_disturbed():
    noisy = {"fork": _cost("fork", 2, 5, 9), "spawn": _cost("spawn", 60, 61, 60)}
    text = intro.describe_start_costs(noisy)
    assert "**disturbed**" in text and "run it again" in text.lower() and "interpreter" not in text
    label = [t.get_text() for t in intro.plot_start_costs(noisy).axes[0].texts]
    assert any("disturbed" in t for t in label)


def test_start_methods_share_the_processes_colour_not_an_executor_s():
    from matplotlib.colors import to_hex

    from helpers.core.plots import colour_for
    costs = {m: _cost(m, 5, 5, 5) for m in ("fork", "spawn", "forkserver")}
    bars = intro.plot_start_costs(costs).axes[0].patches
    assert {to_hex(bar.get_facecolor()) for bar in bars} == {colour_for("processes").lower()}
    assert len({bar.get_hatch() for bar in bars}) == 3


def test_start_costs_report_progress_for_every_start(no_leftover_processes):
    seen = []
    costs = intro.start_costs(methods=["spawn"], repeats=2,
                              on_progress=lambda done, total: seen.append((done, total)))
    assert len(costs["spawn"].seconds) == 2
    assert seen == [(1, 3), (2, 3), (3, 3)]  # the untimed start counts too


def _comparison(serial_wall, pool_wall, pool_cpu, cpus=2):
    from helpers.core.experiments import Comparison
    from helpers.core.noise import MachineLoad
    from helpers.core.runner import RunResult

    idle = MachineLoad(others=0.0, allowed=cpus)
    runs = {"serial": RunResult("count", "serial", 1, 4, 10, None, [serial_wall] * 3,
                                [serial_wall] * 3, load=idle),
            "processes": RunResult("count", "processes", 2, 4, 10, "spawn", [pool_wall] * 3,
                                   [pool_cpu] * 3, load=idle)}
    return Comparison(runs, cpus)


def test_key_points_speak_from_the_measurements(monkeypatch):
    from helpers.processes import simulation
    monkeypatch.setattr(simulation, "simulation_key_point", lambda comparisons: "walk point")
    usual = {"fork": _cost("fork", 2, 2, 2), "spawn": _cost("spawn", 60, 61, 60)}
    points = intro.key_points(usual, _comparison(2.0, 1.05, 2.0), {})
    assert points.lines[0] == ("Starting a process cost 2 ms with fork and 60 ms with spawn "
                               "here: a pool pays it once per worker, not once per task.")
    assert points.lines[1].startswith("A process pool of 2 workers ran the CPU-bound `count` "
                                      "1.9× faster than serial")
    assert "2 effective CPUs" in points.lines[1] and points.lines[2] == "walk point"
    noisy = intro.key_points({"fork": _cost("fork", 2, 5, 9)}, _comparison(2.0, 2.0, 2.0), {})
    assert "**disturbed**" in noisy.lines[0] and "ms" not in noisy.lines[0]
