"""Measuring in another Python with results streamed as they arrive, every wait bounded."""
import sys
import time

import pytest

from helpers.core import other_pythons as op
from helpers.free_threading import gil_off as ft
from helpers.free_threading import streaming as st

HERE = op.probe(sys.executable)


def test_progress_and_each_repeat_arrive_before_the_result():
    seen = []
    data = st.stream_cli(HERE, st.compare_args("count", 20_000, 2, 2),
                         on_line=lambda kind, value: seen.append((kind, value)))
    kinds = [kind for kind, _ in seen]
    assert kinds.count("progress") == 8 and kinds.count("partial") == 4  # 2 × 2 tasks, repeats
    assert seen[-1][0] == "partial" and list(seen[-1][1]) == ["serial", "threads"]
    first_partial = next(value for kind, value in seen if kind == "partial")
    assert list(first_partial) == ["serial"] and len(first_partial["serial"]["walls"]) == 1
    assert list(data["returned"]["runs"]) == ["serial", "threads"] and "load" in data


def test_measure_threads_relays_partial_comparisons_from_another_python():
    partials, progress = [], []
    comparison = ft.measure_threads(HERE, None, size=20_000, repeats=2,
                                    on_result=partials.append,
                                    on_progress=lambda done, total: progress.append(done))
    assert [list(p.runs) for p in partials][0] == ["serial"]
    assert list(partials[-1].runs) == ["serial", "threads"]
    assert progress == list(range(1, 9))
    assert comparison.runs["threads"].results == [20_000, 20_000]


def test_a_child_that_runs_too_long_is_stopped_at_the_deadline():
    args = st.compare_args("sleep", 2_000, 1, 3)  # 12 s of waiting, far beyond the deadline
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish in time"):
        st.stream_cli(HERE, args, timeout=1.0)
    assert time.monotonic() - start < 15


def test_a_failing_child_raises_with_its_error_and_no_colour_codes():
    with pytest.raises(RuntimeError) as failed:
        st.stream_cli(HERE, ["call", "helpers.nowhere:nothing"])
    assert "failed" in str(failed.value) and "\x1b[" not in str(failed.value)


def test_colour_codes_are_stripped_and_children_are_asked_for_none():
    assert op.strip_ansi("\x1b[1;35mRuntimeWarning\x1b[0m: x") == "RuntimeWarning: x"
    env = op.other_python_env()
    assert env["PYTHON_COLORS"] == "0" and env["NO_COLOR"] == "1"


def test_a_warning_is_quoted_as_its_message_alone():
    stderr = ("<frozen importlib._bootstrap>:488: \x1b[35mRuntimeWarning\x1b[0m: The global "
              "interpreter lock (GIL) has been enabled to load module '_cffi_backend'.\n")
    assert ft.warning_message(stderr) == ("The global interpreter lock (GIL) has been "
                                          "enabled to load module '_cffi_backend'.")
    assert ft.warning_message("DeprecationWarning: old\n") == ""
