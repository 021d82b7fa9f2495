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

from bench import report  # noqa: E402
from bench.__main__ import new_figures  # noqa: E402
from bench.figures import FAILED, MEASURED, NOT_MEASURED, SKIPPED, Figure  # noqa: E402
from bench.widget import widget_notebook  # noqa: E402

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
    assert data["figures"]["widget_latency"]["status"] == SKIPPED, stderr[-2000:]
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


def test_widget_notebook_stops_after_the_lab_cell(tmp_path) -> None:
    path = widget_notebook(tmp_path)
    cells = json.loads((tmp_path / path).read_text())["cells"]
    assert "Lab(" in "".join(cells[-1]["source"])
    assert path.startswith("notebooks/03_")


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
