"""What machine is this? The facts that decide what a learner can expect to see.

Three numbers say how many CPUs Python may use, and they can disagree:

* ``os.cpu_count()`` counts the host's CPUs (from Python 3.13 ``-X cpu_count=N`` or
  ``PYTHON_CPU_COUNT=N`` replaces it);
* ``os.process_cpu_count()`` (Python 3.13+) counts the CPUs this process may run on, its
  CPU affinity (``taskset`` can pin a process to fewer); it is the same override when set;
* a cgroup CPU quota (a Binder session, a container) limits the CPU *time* of the process,
  say 1.5 CPUs' worth out of 64, and neither function above sees it.

:func:`effective_cpu_count` takes the smallest of these, and the whole lab uses it.
``ProcessPoolExecutor``, ``ThreadPoolExecutor`` and ``multiprocessing.Pool`` size
themselves by ``os.process_cpu_count()`` from 3.13 and by ``os.cpu_count()`` before
(:func:`default_pool_workers`): never by the quota.
"""
from __future__ import annotations

import html
import math
import os
import platform
import sys
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path

from helpers.core.settings import quick_mode, start_method

CGROUP_ROOT = Path("/sys/fs/cgroup")
MAX_DASK_WORKERS = 16  # most worker processes of a local Dask cluster (one machine)


def affinity_cpu_count() -> int | None:
    """CPUs this process may be scheduled on (``None`` where the OS cannot say)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return None


def process_cpu_count() -> int | None:
    """``os.process_cpu_count()`` on Python 3.13+ (affinity-aware), else ``None``."""
    getter = getattr(os, "process_cpu_count", None)
    return getter() if getter else None


def cpu_count_override() -> str | None:
    """How ``-X cpu_count`` or ``PYTHON_CPU_COUNT`` set the CPU count (3.13+), else ``None``.

    Either makes ``os.cpu_count()`` and ``os.process_cpu_count()`` return that number.
    """
    if sys.version_info < (3, 13):
        return None
    option = getattr(sys, "_xoptions", {}).get("cpu_count")
    if option and option != "default":
        return f"-X cpu_count={option}"
    variable = os.environ.get("PYTHON_CPU_COUNT", "").strip()
    if variable and variable != "default" and not sys.flags.ignore_environment:
        return f"PYTHON_CPU_COUNT={variable}"
    return None


def default_pool_workers() -> int:
    """How many workers ``ProcessPoolExecutor()`` or ``multiprocessing.Pool()`` starts unsized.

    ``os.process_cpu_count()`` from Python 3.13, ``os.cpu_count()`` before (at most 61 on
    Windows for the executor); a cgroup quota is never taken into account.
    """
    count = (process_cpu_count() if sys.version_info >= (3, 13) else os.cpu_count()) or 1
    return min(count, 61) if sys.platform == "win32" else count


def own_cgroup_paths() -> dict[str, str]:
    """Map controller name ('' for cgroup v2) to this process's cgroup path."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def cgroup_ancestors(base: Path, path: str) -> list[Path]:
    """``base/path`` and each of its parents up to ``base`` (quotas apply at every level)."""
    folder = base / path.lstrip("/")
    chain = [folder, *folder.parents]
    return [p for p in chain if p == base or base in p.parents]


def read_setting(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _quota_v2(path: str) -> float | None:
    limits = []
    for folder in cgroup_ancestors(CGROUP_ROOT, path):
        text = read_setting(folder / "cpu.max")
        if text and not text.startswith("max"):
            quota, period = text.split()[:2]
            limits.append(int(quota) / int(period))
    return min(limits) if limits else None


def _quota_v1(path: str) -> float | None:
    limits = []
    for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for folder in cgroup_ancestors(CGROUP_ROOT / mount, path):
            quota = read_setting(folder / "cpu.cfs_quota_us")
            period = read_setting(folder / "cpu.cfs_period_us")
            if quota and period and int(quota) > 0:
                limits.append(int(quota) / int(period))
    return min(limits) if limits else None


def cgroup_cpu_quota() -> float | None:
    """The cgroup CPU quota in CPUs (e.g. 1.5), or ``None`` when there is none.

    cgroup v2 keeps it in ``cpu.max`` ("150000 100000"), v1 in
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; a containing group's limit counts too.
    """
    paths = own_cgroup_paths()
    if "" in paths and (CGROUP_ROOT / "cgroup.controllers").exists():
        return _quota_v2(paths[""])
    if "cpu" in paths:
        return _quota_v1(paths["cpu"])
    return None


def effective_cpu_count() -> int:
    """How many CPUs this process can really keep busy at once (at least 1).

    The smallest of ``os.cpu_count()``, the affinity mask (``os.process_cpu_count()``
    counts it from Python 3.13) and the cgroup quota (rounded up: a quota of 1.5 CPUs
    lets two workers run, each part of the time).
    """
    candidates = [os.cpu_count() or 1]
    for count in (affinity_cpu_count(), process_cpu_count()):
        if count:
            candidates.append(count)
    quota = cgroup_cpu_quota()
    if quota:
        candidates.append(math.ceil(quota))
    return max(1, min(candidates))


def is_free_threaded_build() -> bool:
    """True for a free-threaded ("t") CPython build, whether or not the GIL is on now."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def default_workers() -> int:
    """One worker per effective CPU, but at least 2: with a single worker nothing could
    overlap, and a 1-CPU machine should still show what two workers do there."""
    return max(2, effective_cpu_count())


def gil_enabled() -> bool:
    """True when the GIL is active in this process right now."""
    check = getattr(sys, "_is_gil_enabled", None)
    return check() if check else True


@dataclass(frozen=True)
class EnvironmentReport:
    """A snapshot of the facts above; displays as a table with advice in a notebook."""

    python: str
    implementation: str
    platform: str
    free_threaded_build: bool
    gil_enabled: bool
    start_method: str
    os_cpu_count: int | None
    affinity_cpus: int | None
    process_cpu_count: int | None
    cgroup_quota_cpus: float | None
    effective_cpus: int
    default_pool_workers: int
    quick_mode: bool
    cpu_count_override: str | None = None  # "-X cpu_count=N" or "PYTHON_CPU_COUNT=N" (3.13+)

    @property
    def effective_cpus_text(self) -> str:
        """'1 effective CPU' or '2 effective CPUs'."""
        return f"{self.effective_cpus} effective CPU{'' if self.effective_cpus == 1 else 's'}"

    def advice(self) -> list[str]:
        """Plain sentences on what these facts mean for the measurements ahead."""
        cpus = self.effective_cpus
        lines = []
        if cpus == 1:
            lines.append("You have 1 effective CPU: processes cannot speed up CPU-bound work "
                         "here. You will still see what they cost, and threads will still "
                         "overlap waiting.")
        else:
            lines.append(f"You have {cpus} effective CPUs: CPU-bound work can run up to "
                         f"{cpus}× faster with {cpus} processes; measure it in notebook 03.")
        lines += self._cpu_count_lines()
        if self.gil_enabled:
            lines.append("The GIL is on: only one thread at a time runs Python bytecode.")
        else:
            lines.append("The GIL is off (free-threaded build): threads can run Python code "
                         "in parallel — notebook 07 is about this.")
        lines.append(f"New processes start with '{self.start_method}'.")
        if self.quick_mode:
            lines.append("Quick mode is on (LAB_QUICK): work sizes are small, timings noisier.")
        return lines

    def _cpu_count_lines(self) -> list[str]:
        """What os.cpu_count(), os.process_cpu_count() and the quota say here, and who uses which."""
        cpus, own = self.effective_cpus, self.process_cpu_count
        host = self.os_cpu_count or "an unknown number of"
        if self.cpu_count_override:
            counts = (f"os.cpu_count() and os.process_cpu_count() both say {host}, because "
                      f"{self.cpu_count_override} set them")
        elif own is None:
            counts = (f"os.cpu_count() counts the host's {host} CPUs; os.process_cpu_count(), "
                      f"the count of CPUs this process may run on, is new in Python 3.13")
            if self.affinity_cpus:
                counts += f" (the lab reads that affinity itself: {self.affinity_cpus})"
        else:
            counts = (f"os.cpu_count() counts the host's {host} CPUs; os.process_cpu_count() "
                      f"counts the {own} this process may run on (its CPU affinity)")
        quota = self.cgroup_quota_cpus
        if quota:
            counts += (f". A cgroup quota gives it {quota:g} CPUs' worth of time, which "
                       f"neither function sees")
        lines = [counts + "."]
        sized_by = "os.process_cpu_count()" if own is not None else "os.cpu_count()"
        workers = self.default_pool_workers
        pool = (f"A ProcessPoolExecutor or multiprocessing.Pool without a size starts "
                f"{workers} worker{'s' * (workers != 1)} here ({sized_by})")
        if workers > cpus:
            pool += (f": more than the {cpus} CPU{'s' * (cpus != 1)} it can keep busy, so "
                     f"pass max_workers={cpus}.")
        else:
            pool += "."
        return [*lines, pool]

    def _shown(self) -> dict[str, object]:
        """The facts as displayed: what a missing value means instead of ``None``."""
        facts = asdict(self)
        missing = {"affinity_cpus": "not reported on this OS",
                   "process_cpu_count": "— (os.process_cpu_count() is new in Python 3.13)",
                   "cgroup_quota_cpus": "none",
                   "cpu_count_override": "none"}
        return {key: missing.get(key, value) if value is None else value
                for key, value in facts.items()}

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='text-align:left'>{html.escape(k.replace('_', ' '))}</td>"
            f"<td style='text-align:left'><code>{html.escape(str(v))}</code></td></tr>"
            for k, v in self._shown().items()
        )
        advice = "".join(f"<li>{html.escape(line)}</li>" for line in self.advice())
        return f"<table>{rows}</table><p><b>What this means for you</b></p><ul>{advice}</ul>"

    def __str__(self) -> str:
        facts = "\n".join(f"{k.replace('_', ' '):>20}: {v}" for k, v in self._shown().items())
        return facts + "\n\n" + "\n".join(f"- {line}" for line in self.advice())


def environment_report() -> EnvironmentReport:
    """Collect the facts about this interpreter and machine."""
    return EnvironmentReport(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(terse=True),
        free_threaded_build=is_free_threaded_build(),
        gil_enabled=gil_enabled(),
        start_method=start_method(),
        os_cpu_count=os.cpu_count(),
        affinity_cpus=affinity_cpu_count(),
        process_cpu_count=process_cpu_count(),
        cgroup_quota_cpus=cgroup_cpu_quota(),
        effective_cpus=effective_cpu_count(),
        default_pool_workers=default_pool_workers(),
        quick_mode=quick_mode(),
        cpu_count_override=cpu_count_override(),
    )
