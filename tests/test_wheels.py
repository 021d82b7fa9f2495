"""requirements.txt installs from wheels alone on every supported Python and platform.

The first test asks PyPI (through tools/wheel_check.py) about every pin on CPython 3.10-3.15
x Linux x86_64/aarch64, macOS arm64/x86_64 and Windows amd64; where PyPI cannot be reached it
is skipped, except under CI (``CI`` set), where it fails. The others show that the checker can
say 'no': against a small index made here, offline, and against a real pin without wheels.
"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("wheel_check_tool", ROOT / "tools" / "wheel_check.py")
tool = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = tool  # dataclasses look their module up there
spec.loader.exec_module(tool)

LINUX, WINDOWS = tool.PLATFORMS[0], tool.PLATFORMS[4]
pin = tool.Requirement


def from_pypi(check):
    """``check()``, or a skip when PyPI cannot be reached (a failure under CI)."""
    try:
        return check()
    except tool.IndexUnreachable as error:
        message = f"PyPI could not be reached: {error}"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI reaches PyPI, so this check must run there")
        pytest.skip(message)


def test_every_pin_has_a_wheel_on_every_supported_python_and_platform():
    pythons = tool.supported_versions()
    assert pythons == [(3, minor) for minor in range(10, 16)]
    pins = tool.read_pins(ROOT / "requirements-test.txt")  # the lab's pins and the test tools'
    assert {str(p) for p in tool.read_pins()} < {str(p) for p in pins}
    assert tool.coverage_problems(pins, pythons) == []
    outcomes = from_pypi(lambda: tool.check_all(pins, pythons))
    assert len(outcomes) == 30
    missing = tool.needs_compiler(outcomes)
    assert not missing, ("these pins have no wheel, so a learner's pip would compile them:\n"
                         + "\n".join(missing) + "\n\n" + tool.table(outcomes))
    for outcome in outcomes:  # a wheel for every pin that applies there, e.g. the right numpy
        assert len(outcome.wheels) == len(tool.applicable(pins, outcome.python,
                                                          outcome.platform)), outcome.label
        assert all(name.endswith(".whl") for name in outcome.wheels.values()), outcome.wheels


def test_a_real_pin_without_a_wheel_is_named():
    """numpy 2.4.6 has no wheel for CPython 3.15 (it came out before 3.15 did)."""
    outcomes = from_pypi(lambda: tool.check_all(
        [pin("numpy==2.4.6"), pin("psutil==7.2.2")], [(3, 15)], [LINUX]))
    [outcome] = outcomes
    assert list(outcome.missing) == ["numpy==2.4.6"]
    assert "numpy-2.4.6.tar.gz" in outcome.missing["numpy==2.4.6"]  # what pip would compile
    assert outcome.wheels["psutil==7.2.2"].startswith("psutil-7.2.2-")
    assert tool.needs_compiler(outcomes) == [
        "numpy==2.4.6: no wheel for Python 3.15 on linux-x86_64 "
        f"({outcome.missing['numpy==2.4.6']})"]


# A small index, offline: pip itself decides from the file names, as it would on PyPI.
FAKE_INDEX = {
    "sdistonly": [tool.IndexFile("sdistonly-1.0.tar.gz")],
    "compiled": [tool.IndexFile("compiled-2.0.tar.gz"),
                 tool.IndexFile("compiled-2.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
                 tool.IndexFile("compiled-1.0-cp315-cp315-manylinux_2_17_x86_64.whl")],
    "newglibc": [tool.IndexFile("newglibc-1.0-cp311-abi3-manylinux_2_39_x86_64.whl")],
    "pure": [tool.IndexFile("pure-3.1-py3-none-any.whl", requires_python=">=3.11")],
}


def fake_fetch(name):
    return FAKE_INDEX.get(name)


def check_offline(pins, pythons, platforms):
    outcomes = tool.check_all([pin(text) for text in pins], pythons, platforms,
                              fetch=fake_fetch)
    return {(o.python, o.platform.name): o for o in outcomes}


def test_offline_every_pin_without_a_wheel_is_named_with_the_reason():
    pins = ["sdistonly==1.0", "compiled==2.0", "newglibc==1.0", "pure==3.1", "absent==1.0"]
    result = check_offline(pins, [(3, 11), (3, 15)], [LINUX, WINDOWS])

    linux_311 = result[((3, 11), "linux-x86_64")]
    assert linux_311.wheels == {"compiled==2.0": "compiled-2.0-cp311-cp311-manylinux_2_28_x86_64.whl",
                                "pure==3.1": "pure-3.1-py3-none-any.whl"}
    assert linux_311.missing == {
        "sdistonly==1.0": "only the source sdistonly-1.0.tar.gz fits: pip would compile it",
        "newglibc==1.0": "no file of this release fits: pip would fail",  # glibc 2.39 > 2.35
        "absent==1.0": "no such project on the index"}
    # a cp311 wheel is no wheel for 3.15, nor a Linux wheel for Windows
    assert "compiled==2.0" in result[((3, 15), "linux-x86_64")].missing
    assert "compiled==2.0" in result[((3, 11), "windows-amd64")].missing
    assert result[((3, 15), "windows-amd64")].wheels == {"pure==3.1": "pure-3.1-py3-none-any.whl"}
    lines = tool.needs_compiler(list(result.values()))
    assert "sdistonly==1.0: no wheel for Python 3.15 on windows-amd64 (only the source " \
           "sdistonly-1.0.tar.gz fits: pip would compile it)" in lines
    assert "NO WHEEL: sdistonly==1.0, compiled==2.0, newglibc==1.0, absent==1.0" in \
           tool.table(list(result.values()), [LINUX, WINDOWS])


def test_offline_requires_python_is_respected():
    result = check_offline(["pure==3.1"], [(3, 10), (3, 11)], [LINUX])
    assert "pure==3.1" in result[((3, 10), "linux-x86_64")].missing
    assert result[((3, 11), "linux-x86_64")].missing == {}


def test_markers_are_evaluated_for_the_target_python_not_this_one():
    pins = tool.read_pins()
    numpy = {minor: [str(p.specifier) for p in tool.applicable(pins, (3, minor), LINUX)
                     if p.name == "numpy"] for minor in range(10, 16)}
    assert numpy == {10: ["==2.2.6"], 11: ["==2.4.6"], 12: ["==2.5.5"], 13: ["==2.5.5"],
                     14: ["==2.5.5"], 15: ["==2.5.5"]}
    windows_only = pin('pywin32==311; sys_platform == "win32"')
    assert tool.applicable([windows_only], (3, 12), WINDOWS) == [windows_only]
    assert tool.applicable([windows_only], (3, 12), LINUX) == []


def test_marker_splits_with_a_hole_or_an_overlap_are_found():
    pythons = [(3, minor) for minor in range(10, 16)]
    hole = [pin('numpy==2.5.5; python_version >= "3.12"'),
            pin('numpy==2.4.6; python_version == "3.11"')]
    assert "numpy: no pin on Python 3.10 (linux-x86_64)" in tool.coverage_problems(hole, pythons)
    overlap = [pin('numpy==2.5.5; python_version >= "3.11"'),
               pin('numpy==2.4.6; python_version <= "3.11"')]
    assert "numpy: 2 pins on Python 3.11 (windows-amd64)" in tool.coverage_problems(overlap,
                                                                                     pythons)
    windows_only = [pin('pywin32==311; sys_platform == "win32"')]
    assert tool.coverage_problems(windows_only, pythons) == []


def test_requirement_file_parsing(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# a comment\n\nnumpy==2.5.5; python_version >= '3.12'  # why\n"
                    "pytest==9.2.0\n")
    assert [str(p) for p in tool.read_pins(path)] == ['numpy==2.5.5; python_version >= "3.12"',
                                                      "pytest==9.2.0"]
    (tmp_path / "more.txt").write_text("-r requirements.txt\nuv==0.13.10\n")
    assert [str(p) for p in tool.read_pins(tmp_path / "more.txt")] == [
        'numpy==2.5.5; python_version >= "3.12"', "pytest==9.2.0", "uv==0.13.10"]
    path.write_text("-e .\n")
    with pytest.raises(ValueError, match="requirements.txt:1: pip options"):
        tool.read_pins(path)


def test_html_index_pages_are_read_like_json_ones():
    page = ('<a href="x/numpy-2.5.5.tar.gz#sha256=ab" data-requires-python="&gt;=3.12">'
            'numpy-2.5.5.tar.gz</a><br><a href="y" data-yanked="">numpy-1.0.tar.gz</a>')
    assert tool._files_from_html(page) == [tool.IndexFile("numpy-2.5.5.tar.gz", ">=3.12"),
                                           tool.IndexFile("numpy-1.0.tar.gz", None, True)]


# --- tools/check_python.py: what `make lab` says about the Python it was given --------------

check_spec = importlib.util.spec_from_file_location("check_python_tool",
                                                    ROOT / "tools" / "check_python.py")
check_python = importlib.util.module_from_spec(check_spec)
check_spec.loader.exec_module(check_python)


def test_check_python_reads_the_range_that_test_versions_and_wheel_check_use():
    versions_spec = importlib.util.spec_from_file_location(
        "versions_for_check_python", ROOT / "tools" / "test_versions.py")
    versions = importlib.util.module_from_spec(versions_spec)
    sys.modules[versions_spec.name] = versions
    versions_spec.loader.exec_module(versions)
    assert check_python.tested_range() == versions.SUPPORTED == ((3, 10), (3, 15))
    low, high = versions.SUPPORTED
    assert tool.supported_versions() == [(3, minor) for minor in range(low[1], high[1] + 1)]


def test_check_python_stops_a_python_older_than_3_10():
    status, message = check_python.verdict((3, 9, 18))
    assert status == 1
    assert message.startswith("ERROR: this is Python 3.9.18; the lab needs Python 3.10 or newer")
    assert "tested: CPython 3.10-3.15" in message
    assert "PYTHON=python3.15 make lab" in message


def test_check_python_says_nothing_about_a_tested_python():
    for version in [(3, 10, 0), (3, 12, 1), (3, 15, 2)]:
        assert check_python.verdict(version) == (0, "")


def test_check_python_warns_about_a_python_newer_than_the_newest_tested():
    status, message = check_python.verdict((3, 16, 0))
    assert status == 0  # a warning: make carries on
    assert message.startswith("WARNING: Python 3.16 is newer than the newest tested one (3.15)")
    assert "Tested: CPython 3.10-3.15" in message  # what was tested
    assert "numpy" in message and "C compiler" in message  # what may break
    assert "rm -rf .venv && PYTHON=python3.15 make lab" in message  # what to do
    failed = check_python.after_failed_install((3, 16, 0))
    assert "no wheel" in failed and "PYTHON=python3.15 make lab" in failed
    assert "no compiler should be needed" in check_python.after_failed_install((3, 12, 1))


def test_check_python_warns_about_pypy_and_free_threaded_builds():
    assert "PyPy is not CPython" in check_python.verdict((3, 11, 9), "PyPy")[1]
    status, message = check_python.verdict((3, 13, 1), free_threaded=True)
    assert status == 0 and "free-threaded build" in message and "make free-threaded" in message


def test_check_python_runs_as_make_runs_it():
    """On this Python, and on any older one found in pyenv (it must run there to say no)."""
    import subprocess
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "check_python.py")],
                          capture_output=True, text=True, timeout=60)
    status, message = check_python.verdict(*check_python.this_python())
    assert (done.returncode, done.stdout, done.stderr.strip()) == (status, "", message)
    old = Path.home() / ".pyenv" / "versions"
    for python in sorted(old.glob("3.[6-9].*/bin/python")) + sorted(old.glob("2.7.*/bin/python")):
        done = subprocess.run([str(python), str(ROOT / "tools" / "check_python.py")],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "needs Python 3.10 or newer" in done.stderr, python
