"""Notebooks as files: stored without outputs, and written the way the course promises."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CELL_LINES = 16


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_first_four_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    for prefix in ("00_", "01_", "02_", "03_"):
        assert any(name.startswith(prefix) for name in names), f"missing notebook {prefix}…"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(cells(path)) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"cells {dirty} carry outputs or execution counts: clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_title_and_objectives(path):
    first = cells(path)[0]
    text = "".join(first["source"])
    assert first["cell_type"] == "markdown" and text.startswith("# ")
    assert re.search(r"learn", text, re.I), "state the learning objectives in the first cell"
    kernel = json.loads(path.read_text())["metadata"]["kernelspec"]["name"]
    assert kernel == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    long = [i for i, c in enumerate(cells(path)) if c["cell_type"] == "code"
            and len("".join(c["source"]).splitlines()) > MAX_CELL_LINES]
    assert not long, f"cells {long} are longer than {MAX_CELL_LINES} lines: move code to helpers"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if not p.stem.startswith("00")],
                         ids=lambda p: p.stem)
def test_exercises_with_hidden_solutions_and_self_checks(path):
    all_cells = cells(path)
    hidden = [i for i, c in enumerate(all_cells)
              if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    assert hidden, "an exercise needs a solution cell with source_hidden"
    for i in hidden:
        assert all_cells[i - 1]["cell_type"] == "code", "a blank cell for the learner comes first"
        following = "".join(all_cells[i + 1]["source"]) if i + 1 < len(all_cells) else ""
        assert "check" in following, "a self-check cell follows each solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_hanging_or_unportable_patterns(path):
    source = "\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "code")
    assert "set_start_method" not in source, "pass a context instead of fixing the start method"
    assert "os.cpu_count()" not in source or "effective" in source
    assert not re.search(r"\bPool\(", source), "multiprocessing.Pool can hang: use an executor"
