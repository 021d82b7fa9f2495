"""instructor_notes.md has a complete section for every notebook.

A notebook ``notebooks/NN_topic.ipynb`` needs a section in ``instructor_notes.md`` whose
``## `` heading starts with its number (``## 03 — the GIL``), and that section needs the
five subsections an instructor looks for. A new notebook without notes fails here.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "instructor_notes.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SUBSECTIONS = ("Learning objectives", "Timing", "What to project", "Widget settings",
               "Common questions")


def sections() -> dict[str, str]:
    """``{"03": text of the section under "## 03 …" up to the next "## " heading}``."""
    found: dict[str, str] = {}
    number, lines = None, []
    for line in NOTES.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            if number is not None:
                found[number] = "\n".join(lines)
            match = re.match(r"## (\d\d)\b", line)
            number, lines = (match.group(1) if match else None), []
        elif number is not None:
            lines.append(line)
    if number is not None:
        found[number] = "\n".join(lines)
    return found


def test_the_notes_exist_and_cover_the_first_notebooks():
    assert NOTES.is_file(), "instructor_notes.md is missing at the repository root"
    assert {"00", "01", "02", "03"} <= set(sections())


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_complete_notes(notebook):
    number = notebook.name[:2]
    text = sections().get(number)
    assert text is not None, (f"instructor_notes.md has no section '## {number} — …' for "
                              f"{notebook.name}")
    headings = [line[4:].strip() for line in text.splitlines() if line.startswith("### ")]
    missing = [name for name in SUBSECTIONS
               if not any(heading.startswith(name) for heading in headings)]
    assert not missing, (f"the notes for {notebook.name} lack the subsections {missing} "
                         f"(each a '### ' heading)")
    for name in SUBSECTIONS:
        body = text.split(f"### {name}", 1)[1].split("\n### ", 1)[0]
        assert body.strip(), f"the notes for {notebook.name}: '### {name}' is empty"


def test_the_readme_points_at_the_notes():
    assert "instructor_notes.md" in (ROOT / "README.md").read_text(encoding="utf-8")
