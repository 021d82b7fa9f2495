"""What a learner's first ``make lab`` costs: setup time and ``.venv`` size from a fresh clone.

Each route runs in its own ``git clone`` of this repo (its committed HEAD), timed with
``perf_counter`` around the whole ``make`` call. The package caches of pip and uv stay warm, as
they are on a machine that installed the lab before: a learner's first download adds the
time to fetch about 150 MB (lab) or 300 MB (lab and test tools).

``make setup`` (pip)          what ``make lab`` installs: the lab only
``make setup`` (uv)           the same pins, installed by uv (``UV=…``), when uv is found
``make setup-test`` (pip)     lab plus test tools: what ``make lab`` installed before the lab's
                              dependencies were split from the contributors' (issue 19)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .figures import MEASURED, Figure

REPO = Path(__file__).resolve().parent.parent
MIB = 2**20
MAKE_TIMEOUT = 1800  # seconds; a cold pip cache on a slow line takes minutes


def install_figures() -> list[Figure]:
    return [
        Figure("lab_setup_seconds", "`make lab` setup from a fresh clone (pip, warm cache)",
               "s", None, None),
        Figure("lab_setup_seconds_uv", "`make lab` setup from a fresh clone (uv, warm cache)",
               "s", None, None),
        Figure("lab_venv_size", "`make lab`'s .venv", "MiB", None, None),
        Figure("test_setup_seconds", "Lab + test tools from a fresh clone (pip; `make lab` "
               "before issue 19)", "s", None, None),
        Figure("test_venv_size", "Lab + test tools .venv (`make lab` before issue 19)", "MiB",
               None, None),
    ]


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            total += info.st_size if not os.path.islink(os.path.join(folder, name)) else 0
    return total


def packages(venv: Path) -> int:
    """How many distributions are installed in ``venv``."""
    return sum(1 for _ in venv.glob("lib/python*/site-packages/*.dist-info"))


def uv_binary() -> str | None:
    try:
        from uv import find_uv_bin
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def timed_make(target: str, uv: str, log: Callable[[str], None]) -> tuple[float, Path, Path]:
    """Clone, then ``make TARGET UV=uv`` in the clone; (seconds, clone, its .venv)."""
    clone = Path(tempfile.mkdtemp(prefix="bench-install-"))
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MAKEFLAGS")}
    log(f"  make {target} UV={uv or '(none: pip)'} in {clone} …")
    started = time.perf_counter()
    result = subprocess.run(["make", "--no-print-directory", target, f"UV={uv}"], cwd=clone,
                            env=env, capture_output=True, text=True, timeout=MAKE_TIMEOUT,
                            stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        shutil.rmtree(clone, ignore_errors=True)
        raise RuntimeError(f"make {target} failed: {result.stderr[-600:]}")
    return seconds, clone, clone / ".venv"


def measure_install(figures: dict[str, Figure], log: Callable[[str], None]) -> None:
    """Fill the install figures (each route in its own clone, removed afterwards)."""
    seconds, clone, venv = timed_make("setup", "", log)
    try:
        size, count = tree_size(venv) / MIB, packages(venv)
        lab = figures["lab_setup_seconds"]
        lab.value, lab.status, lab.note = seconds, MEASURED, f"{count} packages"
        figures["lab_venv_size"].value, figures["lab_venv_size"].status = size, MEASURED
        figures["lab_venv_size"].note = f"{count} packages"
    finally:
        shutil.rmtree(clone, ignore_errors=True)
    uv = uv_binary()
    if uv:
        seconds, clone, venv = timed_make("setup", uv, log)
        count = packages(venv)
        shutil.rmtree(clone, ignore_errors=True)
        figures["lab_setup_seconds_uv"].value = seconds
        figures["lab_setup_seconds_uv"].status = MEASURED
        figures["lab_setup_seconds_uv"].note = f"{count} packages"
    else:
        figures["lab_setup_seconds_uv"].skip("skipped", "uv not found")
    seconds, clone, venv = timed_make("setup-test", "", log)
    try:
        size, count = tree_size(venv) / MIB, packages(venv)
        for key, value in (("test_setup_seconds", seconds), ("test_venv_size", size)):
            figures[key].value, figures[key].status = value, MEASURED
            figures[key].note = f"{count} packages"
    finally:
        shutil.rmtree(clone, ignore_errors=True)
