import matplotlib

from helpers.core.experiments import compare, sweep_workers
from helpers.core.plots import (
    OKABE_ITO,
    colour_for,
    plot_comparison,
    plot_speedup,
    plot_speedup_by_workload,
    plot_timeline,
    plot_times,
)

matplotlib.use("Agg")


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
    assert [line.get_label() for line in ax.get_lines()][:2] == ["ideal", "threads"]
    ideal = ax.get_lines()[0].get_ydata()
    assert list(ideal) == [1, 2]


def test_colours_are_colour_blind_safe_and_stable():
    assert colour_for("threads") == colour_for("threads", 5)
    for name in ("serial", "threads", "processes", "interpreters", "asyncio", "dask", "other"):
        assert colour_for(name) in OKABE_ITO
