"""A one-page decision guide: which tool for which work, and which notebook measured it.

One row per tool. The last column is filled from *your* capstone run
(:class:`helpers.capstone.pipeline.PipelineComparison`) where it measured that tool; otherwise it
says where the lab measures it. The guide shows as a table in a notebook.
"""
from __future__ import annotations

import html
import platform
import re
from dataclasses import dataclass

from helpers.capstone.pipeline import (
    PipelineComparison,
    require_comparison,
    stage_runs,
    stage_speedups,
)
from helpers.capstone.verdicts import WAITS_BELOW, stage_disturbance
from helpers.core.executors import EXECUTORS
from helpers.core.system import gil_enabled
from helpers.core.words import FASTER

NOTEBOOKS = {
    "00": "00_start_here", "01": "01_threads", "02": "02_processes", "03": "03_the_gil",
    "04": "04_io_bound", "05": "05_processes_in_depth", "06": "06_shared_state",
    "07": "07_free_threading", "08": "08_beyond_one_machine", "09": "09_capstone",
}


@dataclass(frozen=True)
class GuideRow:
    """One tool: when to use it, when not, where the lab measured it, what you measured."""

    tool: str
    use_when: str
    avoid_when: str
    notebooks: tuple[str, ...]  # keys of NOTEBOOKS
    measured_here: str = "—"


ROWS = (
    GuideRow("no pool (serial)",
             "a stage is cheap (well under a millisecond per item), or runs once",
             "the work waits, or computes for long on a machine with spare CPUs",
             ("03", "05", "09")),
    GuideRow("threads",
             "waiting: network, disk, subprocesses — tens to hundreds at once; C code that "
             "releases the GIL (hashlib, zlib, NumPy)",
             "pure-Python computing under the GIL: one thread at a time runs Python code",
             ("01", "03", "04", "06")),
    GuideRow("asyncio",
             "thousands of waits at once (connections, events), with async libraries",
             "computing: it blocks the one event loop; blocking libraries",
             ("04",)),
    GuideRow("processes",
             "pure-Python computing with 2+ effective CPUs and tasks of milliseconds or more",
             "waiting; tiny tasks; large data to send (pickling); 1 effective CPU",
             ("02", "03", "05", "06")),
    GuideRow("interpreters (3.14+)",
             "pure-Python computing in parallel inside one process, each interpreter with its "
             "own GIL; arguments picklable, functions importable",
             "Python before 3.14; extension modules that do not support subinterpreters",
             ("07",)),
    GuideRow("free-threading (3.13t and later)",
             "pure-Python computing in threads that share memory, on a free-threaded build",
             "code that relied on the GIL for safety (races); an extension that switches the "
             "GIL back on; when single-thread speed matters most",
             ("06", "07")),
    GuideRow("Dask",
             "more work or data than one machine holds; many machines; task graphs you want "
             "to watch on a dashboard",
             "small jobs on one machine: its scheduler costs more than it saves",
             ("08",)),
)


def _link(key: str) -> str:
    return f"[{NOTEBOOKS[key]}]({NOTEBOOKS[key]}.ipynb)"


def _gains(comparison: PipelineComparison, kind: str) -> str | None:
    """'fetch 7.7×, compute 1.0× serial' for the stages where ``kind`` was measured."""
    parts = []
    cpus = comparison.effective_cpus
    for stage in ("fetch", "compute"):
        gain = stage_speedups(comparison, stage).get(kind)
        if gain is not None:
            runs = stage_runs(comparison, stage)
            waits = runs["serial"].utilisation < WAITS_BELOW  # by CPUs busy, not by name
            disturbed = any(stage_disturbance(runs[name], stage, cpus, waits)
                            for name in ("serial", kind))
            parts.append(f"{stage} {gain:.1f}×" + (" (disturbed)" if disturbed else ""))
    return ", ".join(parts) + " serial" if parts else None


POOLS = (("threads", "threads"), ("asyncio", "asyncio"), ("processes", "processes"),
         ("interpreters (3.14+)", "interpreters"), ("Dask", "dask"))  # (row, executor kind)
PARALLEL_POOLS = POOLS[2:]  # pools whose workers each have their own GIL


def measured_here(comparison: PipelineComparison | None) -> dict[str, str]:
    """What this capstone run measured about each tool, in a few words (none without
    ``comparison``; ``ValueError`` for something that is not a PipelineComparison)."""
    comparison = require_comparison(comparison, optional=True)
    if comparison is None or "serial" not in stage_runs(comparison, "fetch"):
        return {}
    found = _serial_measured(comparison)
    for tool, kind in POOLS:
        gains = _gains(comparison, kind)
        if gains:
            found[tool] = gains + (_on_cpus(comparison.effective_cpus)
                                   if kind not in ("threads", "asyncio") else "")
    if comparison.effective_cpus == 1:
        _add_one_cpu_caveats(found, comparison)
    _add_unmeasured(found)
    return found


def _on_cpus(cpus: int) -> str:
    return f" on {cpus} effective CPU{'s' if cpus > 1 else ''}"


def _serial_measured(comparison: PipelineComparison) -> dict[str, str]:
    """The serial row: parse's time serially and, if a pool ran it, its best time there."""
    parse = stage_runs(comparison, "parse")
    pools = {k: r for k, r in parse.items() if k != "serial"}
    if "serial" not in parse:
        return {}
    return {"no pool (serial)": f"parse: {parse['serial'].wall * 1000:.1f} ms serially" + (
        f", {min(r.wall for r in pools.values()) * 1000:.1f} ms at best in a pool"
        if pools else "")}


def _add_one_cpu_caveats(found: dict[str, str], comparison: PipelineComparison) -> None:
    """On 1 effective CPU a parallel pool cannot gain: a 'faster' there is noise."""
    for tool, kind in PARALLEL_POOLS:
        gain = stage_speedups(comparison, "compute").get(kind)
        if tool in found:
            found[tool] += (" — disturbed, run it again" if gain is not None
                            and gain >= FASTER else "") + (
                ": no parallel speedup is possible here")


def _add_unmeasured(found: dict[str, str]) -> None:
    """The rows a capstone run cannot measure: interpreters missing, the GIL, Dask."""
    if "interpreters (3.14+)" not in found and "interpreters" not in EXECUTORS:
        found["interpreters (3.14+)"] = f"not in this Python ({platform.python_version()})"
    if not gil_enabled():
        found["free-threading (3.13t and later)"] = ("this kernel has the GIL off: see the "
                                                 "threads row")
    else:
        found["free-threading (3.13t and later)"] = "this kernel has the GIL on"
    found.setdefault("Dask", "not in this run" + (" (the `dask` kind is registered: try it)"
                                                  if "dask" in EXECUTORS else ""))


@dataclass(frozen=True)
class DecisionGuide:
    """The guide's rows; displays as a table (Markdown and HTML)."""

    rows: tuple[GuideRow, ...]

    def _repr_markdown_(self) -> str:
        lines = ["| tool | use it when | avoid it when | measured in | your capstone run |",
                 "|---|---|---|---|---|"]
        lines += [f"| **{r.tool}** | {r.use_when} | {r.avoid_when} | "
                  f"{', '.join(_link(k) for k in r.notebooks)} | {r.measured_here} |"
                  for r in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def cell(text: str) -> str:
            escaped = html.escape(text)
            escaped = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"<a href='\2'>\1</a>", escaped)
            return f"<td style='text-align:left'>{escaped}</td>"

        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("tool", "use it when", "avoid it when", "measured in",
                        "your capstone run"))
        body = "".join(
            f"<tr><td style='text-align:left'><b>{html.escape(r.tool)}</b></td>"
            + cell(r.use_when) + cell(r.avoid_when)
            + cell(", ".join(_link(k) for k in r.notebooks)) + cell(r.measured_here) + "</tr>"
            for r in self.rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    def __str__(self) -> str:
        return self._repr_markdown_()


def decision_guide(comparison: PipelineComparison | None = None) -> DecisionGuide:
    """The guide, with the last column filled from ``comparison`` where it measured a tool."""
    found = measured_here(comparison)
    return DecisionGuide(tuple(GuideRow(r.tool, r.use_when, r.avoid_when, r.notebooks,
                                        found.get(r.tool, "—")) for r in ROWS))
