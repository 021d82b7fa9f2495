import ast
import re
from pathlib import Path

import matplotlib
import pytest

from helpers.core import colours
from helpers.core.experiments import compare, sweep_workers
from helpers.core.plots import (
    OKABE_ITO,
    colour_for,
    ideal_speedup,
    plot_comparison,
    plot_speedup,
    plot_speedup_by_workload,
    plot_timeline,
    plot_times,
    start_method_style,
    text_colour_on,
)
from helpers.core.runner import RunResult

matplotlib.use("Agg")

HELPERS = Path(__file__).resolve().parents[2] / "helpers"
HEX_COLOUR = re.compile(r"#(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3,4})\b")


def labelled(fig):
    """Every axes has a title and both axis labels (the y label may be tick names)."""
    for ax in fig.axes:
        assert ax.get_title(), "every plot needs a title"
        assert ax.get_xlabel() or ax.get_xticklabels(), "x axis needs a label"
        assert ax.get_ylabel() or [t.get_text() for t in ax.get_yticklabels()]
    return True


def test_plots_have_titles_labels_and_units():
    comparison = compare("count", ("serial", "threads"), tasks=2, size=10_000, repeats=1)
    for fig in (plot_times(comparison), plot_timeline(comparison), plot_comparison(comparison),
                plot_speedup_by_workload({"count": comparison})):
        assert labelled(fig)
    times = plot_times(comparison).axes[0]
    assert "(s)" in times.get_ylabel()
    timeline = plot_timeline(comparison.runs["threads"]).axes[0]
    assert "(s)" in timeline.get_xlabel()


def test_speedup_plot_has_an_ideal_line():
    sweep = sweep_workers("count", "threads", [2], size=10_000, repeats=1)
    fig = plot_speedup({"threads": sweep}, 2)
    ax = fig.axes[0]
    assert labelled(fig)
    shown = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert shown[:2] == ["ideal", "threads"]
    ideal = ax.get_lines()[0].get_ydata()
    assert list(ideal) == [1, 2]


def test_colours_are_colour_blind_safe_and_stable():
    assert colour_for("threads") == colour_for("threads", 5)
    for name in ("serial", "threads", "processes", "interpreters", "asyncio", "dask", "other"):
        assert colour_for(name) in OKABE_ITO


def test_the_palette_keeps_its_colours():
    """Okabe–Ito by its usual names, in its usual order, and the grey of reference lines."""
    assert colours.OKABE_ITO == [colours.BLUE, colours.ORANGE, colours.BLUISH_GREEN,
                                 colours.VERMILLION, colours.REDDISH_PURPLE, colours.SKY_BLUE,
                                 colours.YELLOW, colours.BLACK]
    assert colours.OKABE_ITO == ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                 "#56B4E9", "#F0E442", "#000000"]
    assert colours.REFERENCE_GREY == "#999999"


def hex_colours_in(path: Path) -> list[str]:
    """Hex colour literals in the strings (f-strings too) of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [match for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            for match in HEX_COLOUR.findall(node.value)]


def test_hex_colour_finder_sees_plain_and_f_strings(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('A = "#D55E00"\nB = f"<p style=\'color:#fff\'>{A}"\nC = "issue #15"\n')
    assert hex_colours_in(module) == ["#D55E00", "#fff"]


def test_colours_are_written_out_only_in_the_palette():
    """Every module names its colours (``VERMILLION``), so one colour means one thing."""
    found = {path.relative_to(HELPERS).as_posix(): hex_colours_in(path)
             for path in sorted(HELPERS.rglob("*.py"))}
    offenders = {name: hexes for name, hexes in found.items()
                 if hexes and name != "core/colours.py"}
    assert not offenders, f"use the names in helpers/core/colours.py instead: {offenders}"
    assert found["core/colours.py"], "the palette itself is written out in helpers.core.colours"


def fake_sweep_run(workers: int, wall: float, workload: str = "count") -> RunResult:
    return RunResult(workload, "processes", workers, 4, 1, None, walls=[wall],
                     cpus=[wall * workers])


def test_speedup_axes_contain_a_point_above_the_ideal():
    """The frame is drawn before the points: its y limit must still grow to fit them."""
    sweep = {1: fake_sweep_run(1, 1.0), 3: fake_sweep_run(3, 1 / 2.6)}
    ax = plot_speedup({"processes": sweep}, 2).axes[0]
    bottom, top = ax.get_ylim()
    assert bottom == 0 and top >= 2.6


def test_the_ideal_for_waiting_is_the_workers_not_the_cpus():
    assert ideal_speedup(fake_sweep_run(2, 1.0, "sleep"), 1) == 2
    assert ideal_speedup(fake_sweep_run(2, 1.0, "count"), 1) == 1


def test_labels_contrast_with_their_fill():
    assert text_colour_on(colours.ORANGE) == colours.BLACK
    assert text_colour_on(colours.SKY_BLUE) == colours.BLACK
    assert text_colour_on(colours.BLUE) == colours.WHITE


def test_start_methods_share_the_processes_colour_and_differ_by_hatch():
    styles = {m: start_method_style(m) for m in ("fork", "spawn", "forkserver")}
    assert {s["color"] for s in styles.values()} == {colour_for("processes")}
    assert len({s["hatch"] for s in styles.values()}) == 3


def test_classroom_mode_enlarges_text_and_fits_a_projector(monkeypatch):
    import matplotlib.pyplot as plt

    from helpers.core.plots import PRESENT_TEXT_SCALE, SCREEN_FIT_PX, finish_figure

    def drawn():
        fig, ax = plt.subplots(figsize=(16, 9))
        ax.set_title("title", fontsize=10)
        return finish_figure(fig)

    monkeypatch.delenv("LAB_PRESENT", raising=False)
    plain = drawn()
    assert plain.axes[0].title.get_fontsize() == 10 and plain.get_figwidth() == 16
    monkeypatch.setenv("LAB_PRESENT", "1")
    shown = drawn()
    assert shown.axes[0].title.get_fontsize() == pytest.approx(10 * PRESENT_TEXT_SCALE)
    width, height = shown.get_size_inches() * shown.dpi
    assert width <= SCREEN_FIT_PX[0] + 1 and height <= SCREEN_FIT_PX[1] + 1
