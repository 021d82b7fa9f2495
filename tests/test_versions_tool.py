"""tools/test_versions.py: which interpreters it finds, which it runs, when it rebuilds a venv."""
import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("test_versions_tool_module",
                                              ROOT / "tools" / "test_versions.py")
tool = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = tool  # dataclasses look their module up there
spec.loader.exec_module(tool)


def interpreter(version, path=None, free_threaded=False, implementation="CPython",
                executable=None, has_venv=True, default_method="fork"):
    text = ".".join(map(str, version)) + ("t" if free_threaded else "")
    path = path or f"/py/{text}/bin/python"
    return tool.Interpreter(path=path, executable=executable or path, version=tuple(version),
                            implementation=implementation, free_threaded=free_threaded,
                            has_venv=has_venv, default_method=default_method)


def keys(items):
    return [item.key for item in items]


def test_keeps_only_cpython_310_to_315_with_venv():
    found = [interpreter((2, 7, 18)), interpreter((3, 9, 18)), interpreter((3, 10, 13)),
             interpreter((3, 15, 0)), interpreter((3, 16, 0)),
             interpreter((3, 11, 0), implementation="PyPy"),
             interpreter((3, 12, 1), has_venv=False)]
    assert keys(tool.select(found, explicit=False)) == ["3.10", "3.15"]
    problems = {item.version_text: item.problem for item in found}
    assert "outside 3.10-3.15" in problems["2.7.18"]
    assert "outside" in problems["3.16.0"]
    assert "not CPython" in problems["3.11.0"]
    assert "venv" in problems["3.12.1"]


def test_one_per_minor_version_highest_patch_wins_and_free_threaded_is_its_own():
    found = [interpreter((3, 11, 7)), interpreter((3, 11, 2), path="/usr/bin/python3.11"),
             interpreter((3, 13, 0)), interpreter((3, 13, 1), free_threaded=True),
             interpreter((3, 12, 1)), interpreter((3, 12, 8), path="/usr/bin/python3.12")]
    selected = tool.select(found, explicit=False)
    assert keys(selected) == ["3.11", "3.12", "3.13", "3.13t"]  # oldest first
    assert [item.version_text for item in selected] == ["3.11.7", "3.12.8", "3.13.0", "3.13.1t"]
    assert "3.11.7 is newer" in found[1].problem
    assert "3.12.8 is newer" in found[4].problem


def test_the_same_real_file_runs_once():
    real = "/py/3.12.1/bin/python3.12"
    found = [interpreter((3, 12, 1), path="/py/3.12.1/bin/python", executable=real),
             interpreter((3, 12, 1), path="/shims/python3.12", executable=real)]
    assert [item.path for item in tool.select(found, explicit=False)] == ["/py/3.12.1/bin/python"]
    assert "same interpreter" in found[1].problem


def test_explicitly_listed_interpreters_all_run():
    found = [interpreter((3, 11, 7)), interpreter((3, 11, 2), path="/usr/bin/python3.11")]
    assert len(tool.select(found, explicit=True)) == 2


def test_oldest_newest():
    selected = [interpreter(v) for v in [(3, 10, 1), (3, 11, 1), (3, 12, 1), (3, 13, 1)]]
    assert keys(tool.oldest_newest(selected)) == ["3.10", "3.13"]
    assert keys(tool.oldest_newest(selected[2:3])) == ["3.12"]
    assert tool.oldest_newest([]) == []
    with_ft = selected + [interpreter((3, 13, 1), free_threaded=True)]
    assert keys(tool.oldest_newest(with_ft)) == ["3.10", "3.13t"]


def test_candidates_from_lab_pythons_or_pyenv_cache_and_path(tmp_path):
    for name in ("versions/3.12.1/bin/python", "versions/3.10.13/bin/python",
                 "bin/python3.13", "bin/python3.13t", "bin/python3", "bin/python3.9",
                 "cache/bin/python3.15", "cache/bin/python3.14"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        path.chmod(0o755)
    env = {"PATH": str(tmp_path / "bin"), "LAB_PY_CACHE": str(tmp_path / "cache")}
    paths, explicit = tool.candidate_paths(env, pyenv_root=str(tmp_path))
    assert not explicit
    assert [os.path.relpath(p, tmp_path) for p in paths] == [
        "versions/3.10.13/bin/python", "versions/3.12.1/bin/python",
        "cache/bin/python3.14", "cache/bin/python3.15", "bin/python3.13", "bin/python3.13t"]
    env["LAB_PYTHONS"] = " python3.13  /somewhere/python3.11 "
    paths, explicit = tool.candidate_paths(env, pyenv_root=str(tmp_path))
    assert explicit and paths == [str(tmp_path / "bin/python3.13"), "/somewhere/python3.11"]


def test_probe_asks_the_interpreter_itself(tmp_path):
    me = tool.probe(sys.executable)
    assert not me.problem
    assert me.version == tuple(sys.version_info[:3])
    assert me.executable == os.path.realpath(sys.executable)
    missing = tool.probe(str(tmp_path / "no-python"))
    assert missing.problem.startswith("does not run")
    assert tool.check_supported(missing) == missing.problem


def test_start_methods_choice():
    item = interpreter((3, 14, 0), default_method="forkserver")
    assert tool.start_methods_for("all", item) is None
    assert tool.start_methods_for("default", item) == ["forkserver"]
    assert tool.start_methods_for("fork, spawn", item) == ["fork", "spawn"]
    with pytest.raises(ValueError, match="--start-methods"):
        tool.start_methods_for("thread", item)


def test_start_method_plugin_deselects_only_notebooks_under_other_methods():
    class Item:
        def __init__(self, params=None):
            if params is not None:
                self.callspec = type("CallSpec", (), {"params": params})()

    class Hook:
        def __init__(self):
            self.deselected = []

        def pytest_deselected(self, items):
            self.deselected += items

    config = type("Config", (), {"hook": Hook()})()
    items = [Item({"method": "fork", "notebook": "a"}), Item({"method": "spawn", "notebook": "a"}),
             Item({"method": "spawn"}), Item({"notebook": "a"}), Item()]
    kept = list(items)
    tool.OnlyStartMethods("fork").pytest_collection_modifyitems(config, kept)
    assert kept == [items[0], items[2], items[3], items[4]]
    assert config.hook.deselected == [items[1]]


def test_venv_is_rebuilt_only_when_inputs_or_interpreter_change(tmp_path, monkeypatch):
    venv = tmp_path / "py3.12"
    python = tool.venv_python(venv)
    item = interpreter((3, 12, 1))
    wanted = tool.wanted_stamp(item)
    assert tool.what_to_do(venv, wanted) == "create"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert tool.what_to_do(venv, wanted) == "create"  # no stamp: set up unfinished
    (venv / ".installed").write_text(json.dumps(wanted))
    assert tool.what_to_do(venv, wanted) == "ok"
    assert tool.what_to_do(venv, wanted, recreate=True) == "create"
    assert tool.what_to_do(venv, {**wanted, "inputs": "changed"}) == "update"
    assert tool.what_to_do(venv, {**wanted, "version": "3.12.2"}) == "create"


def test_pytest_summary_line():
    output = "....\n=== 12 passed, 3 deselected in 41.2s ===\n"
    assert tool.summary_line(output) == "12 passed, 3 deselected in 41.2s"
    assert tool.summary_line("12 passed in 1.0s") == "12 passed in 1.0s"
    assert tool.summary_line("Traceback ...") == ""


SLOW_TEST = """
import time
try:
    print("test_slow started", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    print("interrupted in", "test_slow", flush=True)  # not the same text as the command
"""


@pytest.mark.skipif(os.name != "posix", reason="Ctrl-C to one process: POSIX")
@pytest.mark.parametrize("interrupted, started_with_ctrl_c_ignored", [
    (True, False), (True, True), (False, False)])
def test_at_the_time_limit_the_run_is_interrupted_first_and_says_where(
        tmp_path, monkeypatch, interrupted, started_with_ctrl_c_ignored):
    """At the limit pytest gets Ctrl-C before the kill, so the log says which test ran (the
    CI log of a 3.10 run that passed its limit said nothing of where) — also when this tool
    was started in the background, which passes Ctrl-C on *ignored* (it failed so in the
    pre-check). Control: killed without the interrupt, the log only has what came before."""
    if not interrupted:
        monkeypatch.setattr(tool, "_interrupt", lambda process: None)
    before = signal.signal(signal.SIGINT, signal.SIG_IGN if started_with_ctrl_c_ignored
                           else signal.default_int_handler)
    try:
        with open(tmp_path / "log", "w") as log, pytest.raises(tool.TimedOut):
            tool.run_bounded([sys.executable, "-c", SLOW_TEST], time.monotonic() + 3, log)
    finally:
        signal.signal(signal.SIGINT, before)
    text = (tmp_path / "log").read_text()
    assert "test_slow started" in text
    assert ("interrupted in test_slow" in text) is interrupted
