"""How much memory a set of processes uses.

Three numbers describe a process's memory (psutil reads them from the OS):

**RSS** (resident set size)
    every page the process has in RAM, including pages it shares with others
    (the Python binary, libraries, pages a forked child still shares with its
    parent). Adding up RSS counts shared pages many times.
**USS** (unique set size)
    pages only this process uses: what the machine would get back if it ended.
    The honest "cost of one more worker".
**PSS** (proportional set size)
    USS plus an equal share of every shared page (Linux only).

USS and PSS need ``memory_full_info()``, which Linux and macOS (USS) provide;
elsewhere the functions here fall back to RSS and say so.

How much memory is *left* decides how big an experiment may be:
:func:`available_memory` takes the OS's "available" figure and, in a container or a
Binder session, the room left under the cgroup's memory limit, whichever is smaller
(like :func:`helpers.core.system.effective_cpu_count` does for CPUs).
:func:`require_memory` turns that into a bound on a size parameter.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from helpers.core.arguments import require_int
from helpers.core.system import CGROUP_ROOT, cgroup_ancestors, own_cgroup_paths, read_setting

MIB = 2**20
GIB = 2**30
NO_LIMIT = 2**60  # cgroup v1 writes "no limit" as a huge number (2**63 rounded to pages)


@dataclass(frozen=True)
class Memory:
    """Bytes of one process (or the sum of several): unique, proportional, resident."""

    uss: int
    pss: int
    rss: int
    measure: str  # "USS" where the OS gives unique memory, else "RSS"

    @property
    def unique(self) -> int:
        """USS where available, else RSS: the best 'what this costs' number here."""
        return self.uss if self.measure == "USS" else self.rss


def memory_of(process: psutil.Process) -> Memory:
    """USS, PSS and RSS of ``process`` (RSS only where the OS offers nothing finer)."""
    try:
        info = process.memory_full_info()
        uss = getattr(info, "uss", 0)
        return Memory(uss, getattr(info, "pss", uss), info.rss, "USS" if uss else "RSS")
    except (psutil.AccessDenied, NotImplementedError):
        rss = process.memory_info().rss
        return Memory(rss, rss, rss, "RSS")


def total_memory(pids: list[int]) -> Memory:
    """The summed memory of the processes ``pids`` (those that have ended count 0)."""
    parts = []
    for pid in pids:
        try:
            parts.append(memory_of(psutil.Process(pid)))
        except psutil.Error:  # it ended meanwhile
            continue
    measure = "USS" if parts and all(p.measure == "USS" for p in parts) else "RSS"
    return Memory(sum(p.uss for p in parts), sum(p.pss for p in parts),
                  sum(p.rss for p in parts), measure)


def gibibytes(size: int) -> str:
    """'2.6 GiB' for ``size`` bytes."""
    return f"{size / GIB:.1f} GiB"


def cgroup_memory_room() -> int | None:
    """Bytes this process's cgroup may still use before its memory limit, or ``None``.

    cgroup v2 keeps the limit in ``memory.max`` ("max": none) and the use in
    ``memory.current``; v1 in ``memory.limit_in_bytes`` and ``memory.usage_in_bytes``.
    The use includes page cache the kernel can drop, so the inactive part of it
    (``inactive_file`` in ``memory.stat``) counts as room. A containing group's limit
    counts too: the tightest wins.
    """
    paths = own_cgroup_paths()
    if "" in paths and (CGROUP_ROOT / "cgroup.controllers").exists():
        return _room(cgroup_ancestors(CGROUP_ROOT, paths[""]),
                     "memory.max", "memory.current", "inactive_file")
    if "memory" in paths:
        return _room(cgroup_ancestors(CGROUP_ROOT / "memory", paths["memory"]),
                     "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
    return None


def _room(folders: list[Path], limit_file: str, usage_file: str, cache_key: str) -> int | None:
    rooms = []
    for folder in folders:
        limit, usage = read_setting(folder / limit_file), read_setting(folder / usage_file)
        if limit and usage and limit.isdigit() and usage.isdigit() and int(limit) < NO_LIMIT:
            used = int(usage) - _stat(folder, cache_key)
            rooms.append(max(int(limit) - used, 0))
    return min(rooms) if rooms else None


def _stat(folder: Path, key: str) -> int:
    """One counter of ``memory.stat`` (0 if absent)."""
    for line in (read_setting(folder / "memory.stat") or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def available_memory() -> int:
    """Bytes that new allocations can take without swapping or the OOM killer: the OS's
    ``available`` (free memory plus cache it can drop), or less under a cgroup limit."""
    available = psutil.virtual_memory().available
    room = cgroup_memory_room()
    return available if room is None else min(available, room)


def require_memory(name: str, value: object, low: int, high: int, need: Callable[[int], int],
                   *, unit: str = "", available: int | None = None) -> int:
    """Return ``value`` if it is an int in ``[low, high]`` whose run would fit in memory.

    ``need(value)`` is the bytes a run of that size allocates at its peak (beyond this
    process's memory now); ``available`` (bytes, default :func:`available_memory`) is
    what the machine has. ``ValueError`` names ``name``, the range allowed on this
    machine, and why: the need against what is available.
    """
    value = require_int(name, value, low, high)
    room = available_memory() if available is None else available
    if need(value) <= room:
        return value
    most = most_that_fits(need, low, high, room)
    allowed = (f"from {low} to {most} on this machine" if need(most) <= room
               else f"at least {low}, which does not fit on this machine either")
    raise ValueError(f"{name} must be {allowed}, got {value}: {value}{unit} would need about "
                     f"{gibibytes(need(value))}; this machine has {gibibytes(room)} available")


def most_that_fits(need: Callable[[int], int], low: int, high: int, room: int) -> int:
    """The largest ``n`` in ``[low, high]`` with ``need(n) <= room`` (``low`` if none
    does); ``need`` must grow with ``n``."""
    while low < high:
        middle = (low + high + 1) // 2
        if need(middle) <= room:
            low = middle
        else:
            high = middle - 1
    return low
