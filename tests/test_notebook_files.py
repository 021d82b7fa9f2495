"""Notebooks as files: stored without outputs, and written the way the course promises."""
import ast
import json
import re
from pathlib import Path

import pytest

from tools.solutions import LOAD_LINE, load_lines

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


TIME_LINE = re.compile(r"\*\*Time:\*\* about \d+ min .*cells run in about (\d+) (s|min)\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_title_objectives_prerequisites_and_time(path):
    """One shape: ``# NN · title``, what you will learn, prerequisites, and how long it
    takes (reading, and the cells' run time at default sizes as ``make bench`` measured)."""
    first = cells(path)[0]
    text = "".join(first["source"])
    assert first["cell_type"] == "markdown"
    assert text.startswith(f"# {path.stem[:2]} · "), "title: '# NN · …'"
    assert "**You will learn to**" in text, "state the learning objectives in the first cell"
    assert "**Prerequisites:**" in text, "say what to have done first"
    assert TIME_LINE.search(text), "say how long it takes: '**Time:** about N min …'"
    kernel = json.loads(path.read_text())["metadata"]["kernelspec"]["name"]
    assert kernel == "python3"


def headings(path):
    return [line for c in cells(path) if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("## ")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ends_with_key_points_after_one_exercises_heading(path):
    found = headings(path)
    assert found and found[-1] == "## Key points", "end with a '## Key points' section"
    if path in EXERCISE_NOTEBOOKS:
        assert found.count("## Exercises") == 1, "one '## Exercises' heading"
        assert found.index("## Exercises") == len(found) - 2, "Exercises, then Key points"


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
    """(exercise cell, self-check cell) for each cell offering ``# %load solutions/…``."""
    all_cells = cells(path)
    return [(cell, all_cells[i + 1] if i + 1 < len(all_cells) else None)
            for i, cell in enumerate(all_cells)
            if cell["cell_type"] == "code" and LOAD_LINE.search("".join(cell["source"]))]


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_at_least_two_exercises_with_solutions_to_load_and_self_checks(path):
    found = exercises(path)
    assert len(found) >= 2, f"{len(found)} exercise(s) with a solution to load: at least two"
    assert not any(is_hidden(c) for c in cells(path)), \
        "no solution in the notebook: Run all would run it over the learner's answer"
    for exercise, check in found:
        source = "".join(exercise["source"])
        assert re.search(r"= \.\.\.|: \.\.\.,", source), \
            "the exercise cell sets its answer names to ... (what the check reads as empty)"
        assert check is not None and check["cell_type"] == "code" \
            and CHECK_CALL.search("".join(check["source"])), \
            "a self-check cell (calling a helpers check_… function) follows each exercise"


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.stem)
def test_each_solution_file_exists_and_is_offered_once(path):
    offered = load_lines(json.loads(path.read_text()))
    assert len(offered) == len(set(offered))
    for name in offered:
        assert name.startswith(f"solutions/{path.stem[:2]}_ex"), name
        assert (ROOT / "notebooks" / name).is_file(), f"{name} is missing"


def test_every_solution_file_belongs_to_an_exercise():
    offered = {name for path in NOTEBOOKS for name in load_lines(json.loads(path.read_text()))}
    files = {f"solutions/{p.name}" for p in (ROOT / "notebooks" / "solutions").glob("*.py")}
    assert files == offered, f"not offered: {sorted(files - offered)}; missing: " \
                             f"{sorted(offered - files)}"


def self_check_names():
    """Every check function a notebook's self-check cell calls."""
    return {name for path in EXERCISE_NOTEBOOKS for _, check in exercises(path) if check
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


BENCH_RESULTS = ROOT / "bench" / "results.json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stated_run_time_agrees_with_the_benchmark(path):
    """The first cell's run time is what ``make bench`` last measured at default sizes
    (within a factor of 1.5: it is rounded, and machines differ) — stated, not guessed."""
    measured = json.loads(BENCH_RESULTS.read_text())["notebooks"]["seconds"][path.stem]
    seconds = measured["default"]["seconds"]
    number, unit = TIME_LINE.search("".join(cells(path)[0]["source"])).groups()
    stated = int(number) * (60 if unit == "min" else 1)
    assert seconds / 1.5 <= stated <= seconds * 1.5 + 5, \
        f"the notebook says its cells run in about {number} {unit}; make bench measured " \
        f"{seconds:.0f} s: update the first cell (or re-run make bench)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_its_own_id(path):
    """nbformat 4.5 wants an id on every cell (a missing one is a warning today, an error
    in a future nbformat): a cell added by a script must get one."""
    ids = [cell.get("id") for cell in cells(path)]
    assert None not in ids and len(ids) == len(set(ids)), "give every cell a unique id"
