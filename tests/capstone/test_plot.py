"""The capstone's plot, from made-up measurements."""
from __future__ import annotations

from matplotlib.figure import Figure

from helpers.capstone.plot import plot_pipelines

from .fakes import fake_comparison


def test_plot_has_a_bar_per_choice_title_and_units():
    fig = plot_pipelines(fake_comparison())
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_title() and "(s)" in ax.get_xlabel()
    assert len(ax.get_yticklabels()) == 2


def test_segments_wear_their_tools_colour_and_stages_their_hatch():
    from matplotlib.colors import to_hex

    from helpers.capstone.plot import STAGE_HATCHES
    from helpers.core.plots import colour_for

    fig = plot_pipelines(fake_comparison())
    bars = [patch for patch in fig.axes[0].patches if patch.get_width() > 0]
    fills = {to_hex(patch.get_facecolor()) for patch in bars}
    assert {colour_for(k).lower() for k in ("serial", "threads", "processes")} <= fills
    hatches = {patch.get_hatch() or "" for patch in bars}
    assert set(STAGE_HATCHES.values()) <= hatches
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert {"serial", "threads", "processes", "fetch", "compute"} <= set(legend)


def test_a_run_still_measured_shows_its_stages_so_far_and_measuring():
    comparison = fake_comparison()
    done = comparison.runs["threads + processes"]
    partial = done.snapshot()
    partial.label = "your choice"
    del partial.runs["compute"], partial.runs["aggregate"]
    fig = plot_pipelines(comparison.with_run(partial))
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert " measuring…" in texts and sum("×" in text for text in texts) == 2
    assert plot_pipelines(type(comparison)({"your choice": partial.snapshot()}))
