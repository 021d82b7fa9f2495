"""The decision guide: one row per tool, pointing at notebooks that exist, with the
learner's own capstone figures where the run measured them."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers.capstone import decision_guide as guide_module
from helpers.capstone.decision_guide import NOTEBOOKS, ROWS, decision_guide
from helpers.core.system import gil_enabled

from .fakes import fake_comparison

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("threads", "asyncio", "processes", "interpreters", "free-threading", "Dask")


def test_one_row_per_tool_with_when_and_when_not():
    names = [row.tool for row in ROWS]
    for tool in TOOLS:
        assert sum(name.startswith(tool) for name in names) == 1, tool
    assert all(row.use_when and row.avoid_when and row.notebooks for row in ROWS)


def test_every_row_points_at_a_notebook_of_the_lab():
    present = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    for row in ROWS:
        for key in row.notebooks:
            assert key in NOTEBOOKS
            name = NOTEBOOKS[key]
            # 08 is being written alongside this guide; every other one must exist
            assert name in present or key in ("08", "09"), name


def test_without_a_run_the_last_column_is_empty():
    guide = decision_guide()
    assert all(row.measured_here == "—" for row in guide.rows)
    markdown = guide._repr_markdown_()
    assert markdown.count("\n") == len(ROWS) + 1
    assert "[04_io_bound](04_io_bound.ipynb)" in markdown


def test_measured_figures_come_from_the_run():
    rows = {row.tool: row.measured_here for row in decision_guide(fake_comparison()).rows}
    assert rows["threads"] == "fetch 13.3× serial"
    assert rows["processes"] == "compute 2.0× serial on 2 effective CPUs"
    assert rows["no pool (serial)"].startswith("parse: 1.0 ms serially")
    assert "GIL " + ("on" if gil_enabled() else "off") in rows["free-threading (3.13t and later)"]
    assert rows["Dask"].startswith("not in this run")


def test_on_one_cpu_the_guide_says_no_parallel_speedup():
    rows = {row.tool: row.measured_here
            for row in decision_guide(fake_comparison(effective_cpus=1)).rows}
    assert rows["processes"].endswith(
        "— disturbed, run it again: no parallel speedup is possible here")
    rows = {row.tool: row.measured_here for row in decision_guide(
        fake_comparison(effective_cpus=1, processes_compute=1.0)).rows}
    assert rows["processes"].endswith("CPU: no parallel speedup is possible here")


def test_html_has_links_and_escapes_text():
    page = decision_guide(fake_comparison())._repr_html_()
    assert "<a href='07_free_threading.ipynb'>07_free_threading</a>" in page
    assert page.count("<tr>") == len(ROWS) + 1


def test_a_wrong_argument_is_refused():
    with pytest.raises(ValueError, match="comparison must be a PipelineComparison"):
        guide_module.decision_guide({"all serial": 1})  # type: ignore[arg-type]
