"""Forking a process that runs threads: what Python 3.12+ says about it, shown once.

``fork`` copies only the thread that calls it. A lock that another thread held at that
instant is copied *locked*, and nothing in the child will ever release it. A Jupyter
kernel always runs several threads (its heartbeat, its output, its control channel),
so from Python 3.12 ``os.fork()`` warns with a ``DeprecationWarning``. The warning is
hidden by default when multiprocessing forks (Python shows a ``DeprecationWarning``
only for code in ``__main__``): :func:`describe_fork_warning` records it from one real
fork and quotes its message alone, with the kernel's thread count, instead of a raw
warning line with a process ID that changes every run.
"""
from __future__ import annotations

import re
import sys

import psutil

from helpers.core.words import plural
from helpers.processes.basics import fork_warnings

PID = re.compile(r"\s*\(pid=\d+\)")


def quoted(message: str) -> str:
    """A warning's message without its process ID (``"(pid=1234)"``), which changes
    every run and says nothing."""
    return PID.sub("", message).strip()


def describe_fork_warning(timeout: float = 10.0) -> str:
    """Fork one child that does nothing and say, in Markdown, what Python warned."""
    threads = plural(psutil.Process().num_threads(), "thread")
    caught = fork_warnings(timeout)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if caught:
        return (f"This kernel runs {threads}. Forking one child from it, Python "
                f"{version} warned (a `DeprecationWarning`): *\"{quoted(caught[0])}\"* "
                "The lab's pools fork the same way whenever the start method is `fork`; the "
                "warning stays hidden there, because it comes from multiprocessing's code "
                "rather than yours.")
    if sys.version_info < (3, 12):
        return (f"No warning on Python {version}: it came in 3.12 (the danger did not). "
                f"This kernel runs {threads}.")
    return ("No warning: this platform has no `fork`, or only one thread was running "
            f"(this kernel runs {threads}).")
