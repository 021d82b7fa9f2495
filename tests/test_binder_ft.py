"""Binder's free-threaded kernel (binder/postBuild): what it installs, what it is called, and
that a failure there never fails the build. postBuild runs with stand-ins for conda and the
Pythons that record every call; nothing is installed."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POSTBUILD = ROOT / "binder" / "postBuild"
NOTEBOOK_07_NEEDS = ("ipykernel", "ipywidgets", "matplotlib", "numpy", "psutil")

# A stand-in that records its arguments one per field (display names hold spaces). A call
# with the word in {var} among its arguments exits 3 (MAIN_FAIL_ON for the main env's python,
# FT_FAIL_ON for the free-threaded one and conda). `python -c CODE` runs CODE in the real
# interpreter, so the kernel's name comes from a real sys.version_info.
RECORDER = """#!/bin/sh
{{ printf '%s' "{name}"; for a in "$@"; do printf '\\t%s' "$a"; done; echo; }} >> "$CALLS"
[ -n "{var}" ] && case " $* " in *" {var} "*) exit 3 ;; esac
[ "$1" = "-c" ] && exec "{real}" "$@"
exit 0
"""

# conda create --prefix DIR: DIR/bin/python becomes a recording stand-in for the ft Python.
CONDA = """#!/bin/sh
{ printf '%s' conda; for a in "$@"; do printf '\\t%s' "$a"; done; echo; } >> "$CALLS"
[ "$FT_FAIL_ON" = conda ] && exit 3
prefix=""; while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix="$2"; shift; done
mkdir -p "$prefix/bin" && cp "$FT_TEMPLATE" "$prefix/bin/python" && chmod +x "$prefix/bin/python"
"""


def stand_in(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def run_postbuild(tmp_path: Path, fail_on: str = "", conda: bool = True,
                  main_fail_on: str = ""):
    """Run postBuild from the repo root (as repo2docker does); its result and the calls made,
    each a list of words."""
    bin_dir, conda_dir = tmp_path / "bin", tmp_path / "conda"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python", "python3", "pip", "pip3"):
        stand_in(bin_dir / name, RECORDER.format(name=name, real=sys.executable,
                                                 var="$MAIN_FAIL_ON"))
    template = stand_in(tmp_path / "ft-python", RECORDER.format(
        name="ft-python", real=sys.executable, var="$FT_FAIL_ON"))
    if conda:
        stand_in(bin_dir / "conda", CONDA)
    calls = tmp_path / "calls"
    calls.write_text("")
    # PATH: the stand-ins, then only what sh needs (no real conda or mamba of this machine).
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path),
           "CONDA_DIR": str(conda_dir), "CALLS": str(calls), "FT_FAIL_ON": fail_on,
           "MAIN_FAIL_ON": main_fail_on,
           "FT_TEMPLATE": str(template)}
    run = subprocess.run(["bash", str(POSTBUILD)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    lines = calls.read_text().splitlines()
    return run, [line.split("\t") for line in lines], conda_dir / "envs" / "ft"


def expected_name() -> str:
    return f"Python {sys.version_info[0]}.{sys.version_info[1]}t (free-threaded)"


def test_postbuild_gives_the_ft_env_what_notebook_07_needs(tmp_path):
    run, calls, ft_env = run_postbuild(tmp_path)
    assert run.returncode == 0, run.stderr
    assert ["python", "-m", "pip", "install", "--no-deps", "-e", "."] in calls  # main env
    conda = [c for c in calls if c[0] == "conda"]
    assert conda and conda[0][1] == "create" and "python-freethreading" in conda[0]
    assert conda[0][conda[0].index("--prefix") + 1] == str(ft_env)
    ft = [c[1:] for c in calls if c[0] == "ft-python"]
    requirements = [c for c in ft if c[:3] == ["-m", "pip", "install"] and "-r" in c]
    assert requirements and requirements[0][requirements[0].index("-r") + 1] == \
        "requirements-ft.txt"
    assert ["-m", "pip", "install", "--no-deps", "-e", "."] in ft  # helpers in the ft env
    kernel = [c for c in ft if c[:3] == ["-m", "ipykernel", "install"]]
    assert len(kernel) == 1 and "--user" in kernel[0]
    assert kernel[0][kernel[0].index("--name") + 1] == "python3-ft"
    assert kernel[0][kernel[0].index("--display-name") + 1] == expected_name()
    # order: the kernel is registered last, once everything it needs is there
    assert ft.index(kernel[0]) > ft.index(["-m", "pip", "install", "--no-deps", "-e", "."])
    assert (ft_env / "bin" / "python").exists()


@pytest.mark.parametrize("step", ["conda", "requirements-ft.txt", "--no-deps", "ipykernel"])
def test_a_failing_free_threaded_step_does_not_fail_the_build(tmp_path, step):
    run, calls, ft_env = run_postbuild(tmp_path, fail_on=step)
    assert run.returncode == 0, run.stderr
    assert "no free-threaded Python installed" in run.stdout
    assert not ft_env.exists(), "a half-made env would send notebook 07 to a broken Python"
    assert ["python", "-m", "pip", "install", "--no-deps", "-e", "."] in calls
    later = {"conda": "requirements-ft.txt", "requirements-ft.txt": "ipykernel",
             "--no-deps": "ipykernel", "ipykernel": None}[step]
    if later:  # the steps after the failing one did not run
        assert not any(later in call for call in calls if call[0] == "ft-python")


def test_without_conda_the_build_goes_on(tmp_path):
    run, calls, ft_env = run_postbuild(tmp_path, conda=False)
    assert run.returncode == 0, run.stderr
    assert "no conda" in run.stdout and not ft_env.exists()
    assert calls == [["python", "-m", "pip", "install", "--no-deps", "-e", "."]]


def test_the_main_install_still_fails_the_build(tmp_path):
    """Negative control: only the free-threaded part is optional."""
    run, calls, _ = run_postbuild(tmp_path, main_fail_on=".")  # `pip install -e .` exits 3
    assert run.returncode != 0
    assert not any(call[0] == "conda" for call in calls)


def test_postbuild_keeps_strict_mode_first():
    lines = [line for line in POSTBUILD.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "set -euo pipefail"


def test_the_kernel_is_named_alike_locally_and_on_binder(tmp_path):
    """tools/free_threaded.sh names .venv-ft's kernel from the interpreter as postBuild does."""
    python = stand_in(tmp_path / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    local = subprocess.run(
        ["bash", "-c", '. tools/free_threaded.sh && kernel_display_name "$1"', "_", str(python)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert local == expected_name()
    _, calls, _ = run_postbuild(tmp_path)
    kernel = next(c for c in calls if c[0] == "ft-python" and "ipykernel" in c)
    assert kernel[kernel.index("--display-name") + 1] == local
    make = subprocess.run(["grep", "-n", "display-name", "tools/free_threaded.sh"], cwd=ROOT,
                          capture_output=True, text=True, check=False).stdout
    assert "kernel_display_name" in make, make


def test_requirements_ft_pins_what_notebook_07_imports():
    pins = {}
    for line in (ROOT / "requirements-ft.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            found = re.match(r"([A-Za-z0-9_.-]+)==([^;\s]+)", line)
            assert found, f"not an exact pin: {line}"
            pins.setdefault(found[1].lower(), []).append(found[2])
    missing = [name for name in NOTEBOOK_07_NEEDS if name not in pins]
    assert not missing, f"requirements-ft.txt lacks {missing}"
    assert "cffi" not in pins  # 1.x has no cp313t/cp314t wheel; 2.x declares free-threading
