"""Every notebook top to bottom with nbclient, timed, while a sampler watches memory.

Notebooks are found by ``notebooks/[0-9][0-9]_*.ipynb``, so new ones are picked up as they
appear. Each runs in a fresh ``python3`` kernel started with ``LAB_QUICK=1`` (quick mode) or
without ``LAB_QUICK`` (default sizes); nothing is written back to the notebook.

Memory: every 0.25 s the sampler sums the **PSS** (proportional set size: each shared page
divided among the processes sharing it, so a forked worker's shared pages are not counted
twice) of every process below this one — the kernel and its workers — and keeps the peak.
Where PSS is unavailable it falls back to RSS and says so.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from helpers.core.memory import total_memory

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
PATTERN = "[0-9][0-9]_*.ipynb"
CELL_TIMEOUT = 300
MIB = 2**20


def find_notebooks(pattern: str = PATTERN, folder: Path = NOTEBOOKS) -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted(folder.glob(pattern))


@dataclass
class MemoryPeak:
    """The largest total seen, which notebook it was in, and how it was counted."""

    bytes: int = 0
    rss_bytes: int = 0
    processes: int = 0
    notebook: str = ""
    measure: str = "PSS"
    parts: list[dict] = field(default_factory=list)  # each process at the peak, largest first


class MemorySampler:
    """Samples the summed PSS of this process's descendants in a background thread."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak = MemoryPeak()
        self.label = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sample(self) -> None:
        pids = [p.pid for p in psutil.Process().children(recursive=True)]
        if not pids:
            return
        memory = total_memory(pids)
        measure = "PSS" if memory.measure == "USS" else "RSS"
        total = memory.pss if measure == "PSS" else memory.rss
        if total > self.peak.bytes:
            self.peak = MemoryPeak(total, memory.rss, len(pids), self.label, measure,
                                   _breakdown(pids))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except psutil.Error:
                continue


def _breakdown(pids: list[int]) -> list[dict]:
    """Which processes hold the memory: command line and MiB (PSS, else RSS), largest first."""
    parts = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            memory = total_memory([pid])
            size = memory.pss if memory.measure == "USS" else memory.rss
            parts.append({"pid": pid, "mib": round(size / MIB, 1),
                          "command": " ".join(process.cmdline())[:100]})
        except psutil.Error:
            continue
    return sorted(parts, key=lambda part: -part["mib"])


@dataclass
class NotebookRun:
    """One notebook, one mode: seconds top to bottom (kernel start included), or the error."""

    notebook: str
    quick: bool
    seconds: float
    ok: bool
    error: str = ""


@dataclass
class Pass:
    """Every notebook in one mode."""

    quick: bool
    runs: list[NotebookRun] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(run.seconds for run in self.runs)

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)


def kernel_env(quick: bool) -> dict[str, str]:
    """This process's environment with ``LAB_QUICK=1`` (quick) or without ``LAB_QUICK``."""
    env = {k: v for k, v in os.environ.items() if k != "LAB_QUICK"}
    if quick:
        env["LAB_QUICK"] = "1"
    return env


def run_notebook(path: Path, quick: bool, cell_timeout: int = CELL_TIMEOUT) -> NotebookRun:
    """Execute ``path`` top to bottom in a fresh kernel; return how long it took."""
    import nbformat

    from tools.polling_client import PollingNotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = PollingNotebookClient(notebook, timeout=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=kernel_env(quick))
    except Exception as error:  # a failing cell: recorded, the other notebooks still run
        text = str(error).strip().splitlines()
        return NotebookRun(path.stem, quick, time.perf_counter() - start, False,
                           f"{type(error).__name__}: {text[-1] if text else ''}"[:300])
    return NotebookRun(path.stem, quick, time.perf_counter() - start, True)


def run_pass(paths: list[Path], quick: bool, sampler: MemorySampler | None = None,
             log=print) -> Pass:
    """Run each notebook in turn in one mode; the sampler learns which one is running."""
    result = Pass(quick)
    for path in paths:
        if sampler is not None:
            sampler.label = f"{path.stem} ({'quick' if quick else 'default sizes'})"
        run = run_notebook(path, quick)
        result.runs.append(run)
        log(f"  {path.stem} {'quick' if quick else 'default'}: {run.seconds:.1f} s"
            + ("" if run.ok else f" FAILED {run.error}"))
    return result
