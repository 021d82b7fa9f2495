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
