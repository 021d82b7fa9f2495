"""Notebooks as files: stored without outputs, and written the way the course promises."""
import ast
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


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if not p.stem.startswith("00_")]  # all but 00
CHECK_CALL = re.compile(r"\b(check_\w+)\(")
# How a test says "this answer was rejected".
REJECTION = re.compile(r"\bassert not\b|\bnot [\w.]+\.passed\b|\.passed is False|"
                       r"_assert_rejected\(")


def is_hidden(cell):
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def exercises(path):
    """(learner cell, solution cell, self-check cell) around each hidden solution."""
    all_cells = cells(path)
    return [(all_cells[i - 1], cell, all_cells[i + 1] if i + 1 < len(all_cells) else None)
            for i, cell in enumerate(all_cells) if is_hidden(cell)]


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_at_least_two_exercises_with_hidden_solutions_and_self_checks(path):
    found = exercises(path)
    assert len(found) >= 2, f"{len(found)} hidden solution cell(s): end with at least two exercises"
    for learner, solution, check in found:
        assert solution["cell_type"] == "code", "a hidden solution is a code cell"
        assert learner["cell_type"] == "code" and not is_hidden(learner), \
            "a code cell for the learner comes right before each solution"
        assert check is not None and check["cell_type"] == "code" \
            and CHECK_CALL.search("".join(check["source"])), \
            "a self-check cell (calling a helpers check_… function) follows each solution"


def self_check_names():
    """Every check function a notebook's self-check cell calls."""
    return {name for path in EXERCISE_NOTEBOOKS for _, _, check in exercises(path) if check
            for name in CHECK_CALL.findall("".join(check["source"]))}


def rejected_checks(source):
    """Check functions that a test function in ``source`` calls and asserts a rejection of."""
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            body = ast.get_source_segment(source, node) or ""
            if REJECTION.search(body):
                found |= set(CHECK_CALL.findall(body))
    return found


def test_rejected_checks_sees_only_tests_that_assert_a_rejection():
    accepting = "def test_a():\n    assert check_x([1])\n"
    rejecting = "def test_b():\n    assert not check_y(None)\n    assert check_z([1])\n"
    helper = "def wrong():\n    assert not check_w(None)\n"
    assert rejected_checks(accepting) == set() and rejected_checks(helper) == set()
    assert rejected_checks(rejecting) == {"check_y", "check_z"}


def test_every_self_check_is_fed_a_wrong_answer_in_the_tests():
    names = self_check_names()
    assert len(names) >= 2 * len(EXERCISE_NOTEBOOKS) - 1, "self-check cells were not found"
    covered = set()
    for test_file in sorted((ROOT / "tests").rglob("test_*.py")):
        covered |= rejected_checks(test_file.read_text())
    missing = sorted(names - covered)
    assert not missing, f"no test asserts that these self-checks reject a wrong answer: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_hanging_or_unportable_patterns(path):
    source = "\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "code")
    assert "set_start_method" not in source, "pass a context instead of fixing the start method"
    assert "os.cpu_count()" not in source or "effective" in source
    assert not re.search(r"\bPool\(", source), "multiprocessing.Pool can hang: use an executor"
