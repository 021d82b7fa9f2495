"""Write the results: a JSON file, a markdown table, and the same table inside README.md."""
from __future__ import annotations

import json
from pathlib import Path

from .figures import Figure

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
MARKS = {True: "✓ met", False: "✗ missed", None: "—"}  # text glyphs: no emoji font needed


def to_json(machine: dict, figures: list[Figure], notebooks: dict, mode: str) -> dict:
    """Everything in one document: machine, mode, every figure, per-notebook seconds."""
    return {"machine": machine, "mode": mode,
            "figures": {figure.key: figure.to_json() for figure in figures},
            "notebooks": notebooks}


def markdown(data: dict) -> str:
    """The results table, the per-notebook times, and the machine they were measured on."""
    m = data["machine"]
    load = lambda key: "/".join(str(x) for x in m.get(key) or []) or "n/a"  # noqa: E731
    lines = [f"Measured {m['date']} on {m['cpu_model']}, {m['effective_cpus']} effective CPUs "
             f"(os.cpu_count {m['os_cpu_count']}), {m['python']}, {m['platform']}, start "
             f"method {m['start_method']}; mode: {data['mode']}; load average (1/5/15 min) "
             f"{load('load_average_at_start')} at start, {load('load_average_at_end')} at end.",
             "", "| figure | measured | goal | | how |", "|---|---|---|---|---|"]
    for figure in data["figures"].values():
        note = figure["note"].replace("|", "\\|")
        lines.append(f"| {figure['title']} | {figure['shown']} | {figure['goal']} | "
                     f"{MARKS[figure['met']]} | {note} |")
    rows = data["notebooks"].get("seconds", {})
    if rows:
        lines += ["", "| notebook | quick mode (s) | default sizes (s) |", "|---|---|---|"]
        for name, both in rows.items():
            lines.append(f"| `{name}` | {_seconds(both.get('quick'))} | "
                         f"{_seconds(both.get('default'))} |")
    return "\n".join(lines) + "\n"


def _seconds(entry: dict | None) -> str:
    if not entry:
        return "—"
    return f"{entry['seconds']:.1f}" + ("" if entry["ok"] else " (failed)")


def write(data: dict, folder: Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``folder``; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "results.json", folder / "results.md"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(data), encoding="utf-8")
    return json_path, md_path


def update_readme(readme: Path, table: str) -> None:
    """Replace the text between the bench markers of ``readme`` with ``table``.

    Only that part of the file changes; ``ValueError`` if the markers are missing.
    """
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no {START} … {END} section to update")
    head, tail = text[:start + len(START)], text[end:]
    readme.write_text(f"{head}\n{table.rstrip()}\n{tail}", encoding="utf-8")
