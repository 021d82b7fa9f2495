"""Task functions for threads, processes and every other executor.

They live in an importable module, not in a notebook, because a process started
with *spawn* or *forkserver* receives the function by name (pickled as
``helpers.core.workloads.count_up``) and imports it again: a function defined in a
notebook's ``__main__`` cannot be found there.

Three families, chosen to show three different behaviours under the GIL:

* **CPU-bound, pure Python** (``count_up``, ``count_primes``): bytecode runs the
  whole time, so only one thread at a time makes progress.
* **Waiting** (``sleep_ms``): the thread releases the GIL while it waits, as it
  does for network or disk I/O.
* **C code that keeps the GIL** (``hash_small_chunks``): hashlib below 2048
  bytes per call does not release it, so this behaves like pure Python.
* **Releases the GIL while computing** (``hash_bytes``, ``compress_bytes``,
  ``numpy_sort``): C code that drops the GIL around its inner loop, so threads
  *can* use several cores.

Each function takes one size argument, checks it, and returns a small result.
:data:`WORKLOADS` describes them for the runner and the lab widget.
"""
from __future__ import annotations

import hashlib
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from helpers.core.arguments import require_int
from helpers.core.settings import default

MIB = 1024 * 1024


def count_up(iterations: int) -> int:
    """Add 1 in a Python loop ``iterations`` times — the seed article's CPU task."""
    require_int("iterations", iterations, 0, 10**9)
    total = 0
    for _ in range(iterations):
        total += 1
    return total


def count_primes(limit: int) -> int:
    """Count the primes below ``limit`` by trial division (pure Python)."""
    require_int("limit", limit, 0, 10**8)
    count = 0
    for n in range(2, limit):
        divisor = 2
        while divisor * divisor <= n:
            if n % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


def sleep_ms(milliseconds: int) -> float:
    """Wait ``milliseconds`` like a network call would; return the seconds waited."""
    require_int("milliseconds", milliseconds, 0, 60_000)
    start = time.perf_counter()
    time.sleep(milliseconds / 1000)
    return time.perf_counter() - start


@lru_cache(maxsize=1)
def _sample_block() -> bytes:
    """One MiB of text-like bytes, built once per process."""
    words = b"thread process lock queue pool future worker interpreter gil "
    return (words * (MIB // len(words) + 1))[:MIB]


def hash_bytes(mebibytes: int) -> str:
    """SHA-256 over ``mebibytes`` MiB. hashlib drops the GIL for data above 2047 bytes."""
    require_int("mebibytes", mebibytes, 0, 4096)
    digest = hashlib.sha256()
    block = _sample_block()
    for _ in range(mebibytes):
        digest.update(block)
    return digest.hexdigest()


def hash_small_chunks(mebibytes: int) -> str:
    """SHA-256 over ``mebibytes`` MiB fed 1 KiB at a time: below 2048 bytes per call
    hashlib keeps the GIL, so threads doing this take turns."""
    require_int("mebibytes", mebibytes, 0, 4096)
    digest = hashlib.sha256()
    view = memoryview(_sample_block())
    for _ in range(mebibytes):
        for offset in range(0, MIB, 1024):
            digest.update(view[offset:offset + 1024])
    return digest.hexdigest()


def compress_bytes(mebibytes: int) -> int:
    """zlib-compress ``mebibytes`` MiB one block at a time; zlib drops the GIL inside."""
    require_int("mebibytes", mebibytes, 0, 4096)
    block = _sample_block()
    return sum(len(zlib.compress(block, 6)) for _ in range(mebibytes))


def numpy_sort(mebibytes: int) -> float:
    """Sort ``mebibytes`` MiB of float64 with numpy, which drops the GIL while sorting."""
    import numpy as np  # imported here: only this workload needs numpy

    require_int("mebibytes", mebibytes, 0, 4096)
    values = np.random.default_rng(mebibytes).random(mebibytes * MIB // 8)
    values.sort()
    return float(values[len(values) // 2]) if len(values) else 0.0


@dataclass(frozen=True)
class Workload:
    """What the runner and the lab widget need to know about a task function."""

    name: str
    function: Callable[[int], object]
    behaviour: str  # "cpu-bound", "waits", or "releases the GIL"
    size_name: str
    unit: str
    normal_size: int
    quick_size: int
    min_size: int
    max_size: int  # bounded so that no slider can freeze a laptop
    step: int

    def default_size(self) -> int:
        """The size to use by default now (smaller in quick mode)."""
        return int(default(self.normal_size, self.quick_size))

    def check_size(self, size: int) -> int:
        """Raise ``ValueError`` unless ``size`` is within this workload's slider range."""
        return require_int(f"size ({self.size_name})", size, self.min_size, self.max_size)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("count", count_up, "cpu-bound", "iterations", "iterations",
                 8_000_000, 1_000_000, 10_000, 12_000_000, 10_000),
        Workload("primes", count_primes, "cpu-bound", "limit", "numbers",
                 150_000, 30_000, 1_000, 400_000, 1_000),
        Workload("sleep", sleep_ms, "waits", "milliseconds", "ms",
                 200, 50, 1, 2_000, 1),
        Workload("hash", hash_bytes, "releases the GIL", "mebibytes", "MiB",
                 256, 32, 1, 1024, 1),
        Workload("hash-1k", hash_small_chunks, "cpu-bound", "mebibytes", "MiB",
                 256, 32, 1, 1024, 1),
        Workload("zlib", compress_bytes, "releases the GIL", "mebibytes", "MiB",
                 64, 8, 1, 256, 1),
        Workload("numpy", numpy_sort, "releases the GIL", "mebibytes", "MiB",
                 16, 4, 1, 128, 1),
    ]
}


def get_workload(name_or_function: str | Callable[[int], object]) -> Workload:
    """Look a workload up by its name or its function; ``ValueError`` if unknown."""
    for workload in WORKLOADS.values():
        if name_or_function in (workload.name, workload.function):
            return workload
    raise ValueError(f"workload must be one of {list(WORKLOADS)}, got {name_or_function!r}")
