"""One benchmark figure beside its goal, and a description of the machine it was measured on."""
from __future__ import annotations

import datetime
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from helpers.core.settings import start_method
from helpers.core.system import effective_cpu_count

MEASURED, SKIPPED, NOT_MEASURED, FAILED = "measured", "skipped", "not measured", "failed"


@dataclass
class Figure:
    """A measured number, the goal it is held to, and whether it met the goal.

    ``better`` is ``"higher"`` or ``"lower"`` (the goal is ``value >= target`` or
    ``value <= target``) or ``None`` for a figure shown without a goal. A figure that
    could not be measured keeps its key, with ``value=None`` and a ``status`` saying why.
    """

    key: str
    title: str
    unit: str
    target: float | None
    better: str | None
    value: float | None = None
    status: str = NOT_MEASURED
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def goal(self) -> str:
        """The goal as text, e.g. ``≥ 0.90`` or ``≤ 90 s``."""
        if self.target is None or self.better is None:
            return "—"
        sign = "≥" if self.better == "higher" else "≤"
        return f"{sign} {format_value(self.target, self.unit)}"

    @property
    def met(self) -> bool | None:
        """True/False when measured against a goal; None when there is nothing to judge."""
        if self.value is None or self.target is None or self.status != MEASURED:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    def skip(self, status: str, note: str) -> "Figure":
        """Mark this figure as not measured (quick mode, no interpreter, a failure)."""
        self.value, self.status, self.note = None, status, note
        return self

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(goal=self.goal, met=self.met, shown=self.shown)
        return data

    @property
    def shown(self) -> str:
        """The value as the table shows it."""
        if self.value is None:
            return self.status
        return format_value(self.value, self.unit)


def format_value(value: float, unit: str) -> str:
    """``0.934`` → ``0.93``; seconds, MiB, percent and × with their unit."""
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "s":
        return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:.2f}"


def cpu_model() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``; elsewhere what ``platform`` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (how busy the machine was), where the OS has them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine() -> dict:
    """CPU model, effective CPUs, Python, platform, start method, date and load."""
    return {
        "cpu_model": cpu_model(),
        "effective_cpus": effective_cpu_count(),
        "os_cpu_count": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "start_method": start_method(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_at_start": load_average(),
    }
