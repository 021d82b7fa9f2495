"""Notebook 00 · start here: your machine, a first measurement, and whether widgets work."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import ipywidgets as widgets

from helpers.core.runner import RunResult

#: What the lab's widgets need from the kernel's environment.
WIDGET_PACKAGES = ("ipywidgets", "jupyterlab_widgets", "ipykernel", "matplotlib")


def describe_first_run(run: RunResult) -> str:
    """Two sentences about one serial run of the ``count`` loop: time, CPU time, rate."""
    return (f"{run.size:,} loop iterations took {run.wall * 1000:.0f} ms "
            f"(median of {len(run.walls)}), using {run.cpu * 1000:.0f} ms of CPU time.\n"
            f"That is {run.size / run.wall / 1e6:.0f} million iterations per second "
            "on this machine.")


def widget_check(effective_cpus: int) -> tuple[widgets.IntSlider, widgets.HTML]:
    """A slider and a line of text that follows it: if the text changes, widgets work."""
    slider = widgets.IntSlider(value=4, min=1, max=16, description="workers")
    answer = widgets.HTML()

    def show(workers: int) -> None:
        answer.value = f"{workers} workers → at most {min(workers, effective_cpus)}× faster here"

    slider.observe(lambda change: show(change["new"]), "value")
    slider.value = 2  # fills the text once
    return slider, answer


def package_versions(packages: tuple[str, ...] = WIDGET_PACKAGES) -> str:
    """One line per package: its name and the version this kernel imports."""
    lines = []
    for package in packages:
        try:
            lines.append(f"{package:20} {version(package)}")
        except PackageNotFoundError:
            lines.append(f"{package:20} not installed")
    return "\n".join(lines)
