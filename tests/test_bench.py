"""``make bench`` in quick mode runs and writes well-formed results (no timing is asserted).

One run of ``python -m bench --quick`` into a temporary folder, with notebook 00 as the
only notebook and no browser (its figure is measured in ``tests/browser/test_bench_widget.py``,
with the other browser tests): every figure key is present in the JSON and the markdown, each
with a goal, a status and, when measured, a number.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the bench package, also when run as `pytest` (not python -m)

from bench import install, report  # noqa: E402
from bench.__main__ import new_figures  # noqa: E402
from bench.figures import FAILED, MEASURED, NOT_MEASURED, SKIPPED, Figure  # noqa: E402
from bench.install import install_figures  # noqa: E402
from bench.widget import (  # noqa: E402
    SUMMARY_KEY,
    WidgetCase,
    record,
    served_notebook,
    summarise,
    widget_cases,
    widget_figures,
)
from tools.lab_driver import LabCell  # noqa: E402

KEYS = list(new_figures())
IN_PROCESS = ("cpu_parallel_efficiency", "io_overlap_efficiency", "runner_overhead_ratio",
              "repeatability_cv", "notebooks_quick_total", "peak_memory")


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory) -> tuple[dict, str, str]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out),
                           "--notebooks", "00_*", "--no-browser"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return data, (out / "results.md").read_text(encoding="utf-8"), done.stderr


def test_every_figure_is_present_and_well_formed(quick_results) -> None:
    data, _, stderr = quick_results
    assert list(data["figures"]) == KEYS
    for key, figure in data["figures"].items():
        assert figure["status"] in (MEASURED, SKIPPED, NOT_MEASURED, FAILED), key
        assert figure["goal"] and figure["shown"], key
        if figure["status"] == MEASURED:
            assert isinstance(figure["value"], float) and math.isfinite(figure["value"]), key
            assert figure["value"] >= 0, key
            assert figure["met"] in (True, False, None), key
        else:
            assert figure["value"] is None and figure["met"] is None and figure["note"], key
    for key in IN_PROCESS:
        assert data["figures"][key]["status"] == MEASURED, (key, data["figures"][key]["note"],
                                                            stderr[-2000:])
    assert data["figures"]["notebooks_default_total"]["note"] == "skipped in quick mode"
    # The browser part is tested with the other browser tests (tests/browser/test_bench_widget.py)
    widget_keys = [key for key in KEYS if key.startswith(SUMMARY_KEY)]
    assert len(widget_keys) == len(widget_cases()) + 1
    for key in widget_keys:
        assert data["figures"][key]["status"] == SKIPPED, (key, stderr[-2000:])
    assert data["figures"]["free_threaded_speedup"]["status"] in (MEASURED, NOT_MEASURED)


def test_machine_and_notebooks_are_described(quick_results) -> None:
    data, _, _ = quick_results
    machine = data["machine"]
    for key in ("cpu_model", "effective_cpus", "python", "date", "platform"):
        assert machine[key], key
    assert data["mode"] == "quick"
    seconds = data["notebooks"]["seconds"]
    assert list(seconds) == ["00_start_here"]
    assert seconds["00_start_here"]["quick"]["ok"]


def test_markdown_has_a_row_per_figure_with_its_goal(quick_results) -> None:
    data, markdown, _ = quick_results
    assert data["machine"]["cpu_model"] in markdown
    for figure in data["figures"].values():
        row = next(line for line in markdown.splitlines()
                   if line.startswith(f"| {figure['title']} |"))
        assert figure["goal"] in row and figure["shown"] in row


def test_goal_is_judged_in_the_right_direction() -> None:
    higher = Figure("a", "A", "", 0.9, "higher", value=0.95, status=MEASURED)
    lower = Figure("b", "B", "s", 2.0, "lower", value=2.5, status=MEASURED)
    assert higher.met is True and lower.met is False
    assert lower.goal == "≤ 2.00 s"
    assert Figure("c", "C", "", 1.0, "lower").skip(SKIPPED, "why").met is None


def test_readme_update_touches_only_the_marked_section(tmp_path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.START}\nold table\n{report.END}\nrest\n")
    report.update_readme(readme, "| new | table |\n")
    assert readme.read_text() == (f"intro\n{report.START}\n| new | table |\n{report.END}\n"
                                  "rest\n")
    unmarked = tmp_path / "other.md"
    unmarked.write_text("no markers here\n")
    with pytest.raises(ValueError, match="bench:start"):
        report.update_readme(unmarked, "t")


def test_real_readme_has_the_markers() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index(report.START) < text.index(report.END)


def test_every_lab_widget_has_a_row() -> None:
    """Widgets are found by scanning the notebooks: one figure per lab cell, keys unique."""
    cases = widget_cases()
    names = {case.cell.name for case in cases}
    labs = {"Lab", "PoolSizeLab", "ChunkLab", "AmdahlLab", "CapstoneLab", "ThreadTraceLab"}
    assert labs <= names, names
    figures = widget_figures(cases)
    keys = [figure.key for figure in figures]
    assert keys[0] == SUMMARY_KEY and len(set(keys)) == len(keys) == len(cases) + 1
    assert "widget_latency_03_lab" in keys
    assert "widget_latency_03_threadtracelab" in keys
    three = next(f for f in figures if f.key == "widget_latency_03_lab")
    assert three.title == "Widget 03 Lab: control change + Run → first new plot"
    assert three.unit == "s" and three.goal == "≤ 2.00 s" and three.better == "lower"


def test_served_notebook_stops_after_the_last_lab_cell(tmp_path) -> None:
    case = next(c for c in widget_cases() if c.notebook.name.startswith("05_"))
    last = max(c.cell.index for c in widget_cases() if c.notebook == case.notebook)
    path = served_notebook(case.notebook, tmp_path, last)
    cells = json.loads((tmp_path / path).read_text())["cells"]
    assert len(cells) == last + 1 and "Lab(" in "".join(cells[-1]["source"])
    assert path == f"notebooks/{case.notebook.name}"


def _case(name: str, index: int = 5) -> WidgetCase:
    return WidgetCase(ROOT / "notebooks" / "03_x.ipynb", LabCell(index, name))


def test_a_failed_widget_is_its_rows_status_and_the_others_go_on() -> None:
    """One widget's failure: FAILED with the reason on its row; the slowest is of the rest."""
    cases = [_case("Lab", 5), _case("OtherLab", 9)]
    figures = widget_figures(cases)
    summary, good, bad = figures
    record(good, cases[0], {"clicks": [{"control": "c", "first_plot_s": 1.5, "complete_s": 4.0},
                                       {"control": "c", "first_plot_s": 0.5, "complete_s": None},
                                       {"control": "c", "first_plot_s": 0.9, "complete_s": 3.0}],
                            "bar_after_start_s": 0.3}, quick=False, clicks=3)
    record(bad, cases[1], "NotebookCheckFailed: kernel not idle after 300 s", False, 3)
    assert good.status == MEASURED and good.value == 0.9 and good.details["complete_s"] == 3.5
    assert "median of 3" in good.note and "0.30 s after its cell started" in good.note
    assert bad.status == FAILED and bad.value is None and "kernel not idle" in bad.note
    summarise(summary, [good, bad], [c.label for c in cases])
    assert summary.status == MEASURED and summary.value == 0.9
    assert "slowest of 1 widget measured" in summary.note and "FAILED: " in summary.note
    summarise(summary, [bad], [cases[1].label])
    assert summary.status == FAILED and summary.value is None


def test_several_widgets_of_one_class_get_numbered_rows() -> None:
    first, second = (WidgetCase(ROOT / "notebooks" / "07_x.ipynb", LabCell(i, "GilLab"), n)
                     for i, n in ((4, 1), (8, 2)))
    assert (first.key, second.key) == ("widget_latency_07_gillab", "widget_latency_07_gillab_2")
    assert "GilLab 2" in second.figure().title


def test_cpu_figure_reports_the_machines_own_ceiling(quick_results) -> None:
    """The efficiency goal is judged beside what running side by side costs on this machine."""
    data, _, _ = quick_results
    figure = data["figures"]["cpu_parallel_efficiency"]
    ceiling = figure["details"]["hardware_ceiling"]
    assert 0 < ceiling <= 1.5 and "this machine allows" in figure["note"]


def test_hardware_ceiling_is_one_on_one_cpu() -> None:
    from bench.measures import hardware_ceiling

    assert hardware_ceiling(10_000, 1, 1) == 1.0


def test_interleaved_alternates_the_order_of_each_pair() -> None:
    from bench.measures import interleaved

    order: list[str] = []
    a, b = interleaved(3, lambda: order.append("A") or len(order),
                       lambda: order.append("B") or len(order))
    assert order == ["A", "B", "B", "A", "A", "B"]
    assert a == [1, 4, 5] and b == [2, 3, 6]  # each side's results, in its own order


def test_median_ratio_ignores_one_disturbed_pair() -> None:
    from bench.measures import median_ratio

    assert median_ratio([2.0, 2.0, 9.0], [1.0, 1.0, 1.0]) == 2.0


def test_install_figures_are_skipped_in_quick_mode(quick_results) -> None:
    data, _, _ = quick_results
    for figure in install_figures():
        assert data["figures"][figure.key]["status"] == SKIPPED
        assert data["figures"][figure.key]["note"] == "skipped in quick mode"


def test_venv_size_counts_files_once_and_packages_by_dist_info(tmp_path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for name in ("numpy-2.4.6.dist-info", "psutil-7.2.2.dist-info", "numpy"):
        (site / name).mkdir(parents=True)
    (site / "numpy" / "core.so").write_bytes(b"x" * 3000)
    (site / "numpy" / "link.so").symlink_to(site / "numpy" / "core.so")
    assert install.tree_size(tmp_path) == 3000
    assert install.packages(tmp_path) == 2
