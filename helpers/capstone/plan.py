"""The capstone's job and its plan: what the pipeline has to do, and which tool runs each stage.

The **job** (:class:`Settings`) is how many pages to fetch, how slow the server answers,
how large a page is and how heavy the compute stage is. The **plan** (:data:`StagePlan`)
says which executor kind runs each of the four stages, with how many workers:
:func:`check_stages` turns what a learner wrote into a plan, or raises ``ValueError``
naming what is wrong and what is allowed.

:func:`reference_stages` is the reference solution; :func:`default_choices` are the plans
notebook 09 compares.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from helpers.core.arguments import require_float, require_int
from helpers.core.executors import EXECUTORS, get_executor_kind
from helpers.core.runner import most_workers
from helpers.core.settings import default
from helpers.core.system import effective_cpu_count

STAGES = ("fetch", "parse", "compute", "aggregate")
MAX_PAGES = 64
MAX_LATENCY_MS = 1000
MIN_COMPUTE, MAX_COMPUTE = 1_000, 200_000
MIN_PAYLOAD, MAX_PAYLOAD = 16, 100_000

StagePlan = dict[str, tuple[str, int]]
JOB_OPTIONS = ("pages", "latency_ms", "payload_bytes", "compute_size")  # Settings' fields


@dataclass(frozen=True)
class Settings:
    """The pipeline's job: how many pages, how slow the server, how heavy the compute."""

    pages: int
    latency_ms: float
    payload_bytes: int
    compute_size: int  # count primes below compute_size + page number

    @property
    def io_workers(self) -> int:
        """Threads (or coroutines) for fetching: enough to send every page at once, ≤ 16."""
        return min(self.pages, 16)


def settings(pages: int | None = None, latency_ms: float | None = None,
             payload_bytes: int | None = None, compute_size: int | None = None) -> Settings:
    """Checked settings; ``None`` means the default (smaller in quick mode)."""
    return Settings(
        require_int("pages", int(default(16, 8)) if pages is None else pages, 1, MAX_PAGES),
        require_float("latency_ms", 100 if latency_ms is None else latency_ms, 0, MAX_LATENCY_MS),
        require_int("payload_bytes", 4096 if payload_bytes is None else payload_bytes,
                    MIN_PAYLOAD, MAX_PAYLOAD),
        require_int("compute_size", int(default(60_000, 40_000)) if compute_size is None
                    else compute_size, MIN_COMPUTE, MAX_COMPUTE))


def check_stages(stages: object) -> StagePlan:
    """``stages`` as {stage: (kind, workers)} for all four stages; missing ones are serial.

    Each value is a registered executor kind (``"threads"``) or a pair
    ``(kind, workers)``; ``ValueError`` names what is wrong and what is allowed.
    """
    if stages is None:
        stages = {}
    if not isinstance(stages, Mapping):
        raise ValueError(f"stages must be a dict of stage → (kind, workers) with stages from "
                         f"{list(STAGES)}, got {type(stages).__name__}")
    unknown = [name for name in stages if name not in STAGES]
    if unknown:
        raise ValueError(f"stages must only name stages from {list(STAGES)}, got {unknown[0]!r}")
    return {stage: _checked_choice(stage, stages.get(stage, "serial")) for stage in STAGES}


def _checked_choice(stage: str, value: object) -> tuple[str, int]:
    """One stage's ``"kind"`` or ``(kind, workers)`` as a checked (kind, workers) pair.

    A kind with a fixed number of workers (serial: 1) gets that number, whatever was asked;
    no kind gets more than it takes (Dask: 16, :func:`~helpers.core.runner.most_workers`).
    """
    kind, workers = (value, 1) if isinstance(value, str) else (
        tuple(value) if isinstance(value, (tuple, list)) and len(value) == 2 else (None, 0))
    if kind not in EXECUTORS:
        raise ValueError(f"stages[{stage!r}] must be a kind from {list(EXECUTORS)} or a "
                         f"pair (kind, workers), got {value!r}")
    executor = get_executor_kind(kind)
    workers = require_int(f"workers of stages[{stage!r}]", workers, 1, most_workers(executor))
    return (kind, executor.fixed_workers or workers)


def describe_plan(plan: Mapping[str, tuple[str, int]]) -> str:
    """'fetch: threads ×16 · parse: serial · …'."""
    return " · ".join(f"{stage}: {kind}" + (f" ×{workers}" if kind != "serial" else "")
                      for stage, (kind, workers) in plan.items())


def reference_stages(job: Settings | None = None) -> StagePlan:
    """The reference solution: wait in threads, compute in processes, the rest in place.

    Fetching waits, so threads overlap the waits (one per page, at most 16). Computing is
    pure Python, so only processes (one per effective CPU) can run it in parallel under
    the GIL. Parsing and aggregating are too small to be worth sending anywhere.
    """
    job = job or settings()
    return {"fetch": ("threads", job.io_workers), "parse": ("serial", 1),
            "compute": ("processes", effective_cpu_count()), "aggregate": ("serial", 1)}


def default_choices(job: Settings | None = None) -> dict[str, StagePlan]:
    """The choices notebook 09 compares; the first is the baseline."""
    job = job or settings()
    io, cpus = job.io_workers, effective_cpu_count()
    choices = {
        "all serial": check_stages({}),
        "all threads": check_stages({stage: ("threads", io) for stage in STAGES}),
        "asyncio + processes": check_stages({"fetch": ("asyncio", io),
                                             "compute": ("processes", cpus)}),
        "threads + processes": check_stages(reference_stages(job)),
    }
    if "interpreters" in EXECUTORS:  # Python 3.14+
        choices["threads + interpreters"] = check_stages(
            {"fetch": ("threads", io), "compute": ("interpreters", cpus)})
    return choices
