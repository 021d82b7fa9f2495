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
"""
from __future__ import annotations

from dataclasses import dataclass

import psutil

MIB = 2**20


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
