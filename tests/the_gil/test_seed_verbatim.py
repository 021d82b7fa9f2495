"""helpers/scripts/seed_combined.py is the seed article's combined example, verbatim.

The article's text lives beside the repository (``../shared/seed/*.txt``). Its
"Multiprocessing and Threading Example" listing runs from that heading to the
"Conclusion" heading. The script must hold exactly the listing's lines: only blank lines
and the whitespace around a line (indentation, trailing spaces) may differ — no header
comment, no added timer, no changed print. Where the article's text is not available
(a fresh clone), the same lines are checked against their SHA-256, recorded from it.
"""
from __future__ import annotations

import ast
import difflib
import hashlib

import pytest

from helpers.core.settings import HELPERS_DIR

ROOT = HELPERS_DIR.parent
SEED_DIR = ROOT.parent / "shared" / "seed"
SCRIPT = HELPERS_DIR / "scripts" / "seed_combined.py"
TIMED = HELPERS_DIR / "scripts" / "seed_timed.py"
HEADING, END = "Multiprocessing and Threading Example", "Conclusion"
# SHA-256 of the listing's significant lines (see significant_lines), joined by "\n"
LISTING_SHA256 = "aed00ef43ba7ab0d8f05eecab2d030205f93beb55e36635b4addddcfdf21fb60"


def significant_lines(text: str) -> list[str]:
    """The lines that matter: each stripped of surrounding whitespace, blank ones dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def listing_from_article(article: str) -> str:
    """The text between the listing's heading line and the next "Conclusion" line."""
    lines = article.splitlines()
    start = lines.index(HEADING) + 1
    end = lines.index(END, start)
    return "\n".join(lines[start:end])


def article_text() -> str | None:
    files = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.is_dir() else []
    texts = [f.read_text(encoding="utf-8") for f in files]
    matching = [t for t in texts if HEADING in t.splitlines()]
    return matching[0] if matching else None


def _diff(expected: list[str], actual: list[str]) -> str:
    return "\n".join(difflib.unified_diff(expected, actual, "article", "seed_combined.py",
                                          lineterm=""))


def test_seed_script_is_the_article_listing():
    article = article_text()
    if article is None:
        pytest.skip(f"the article's text is not in {SEED_DIR}; the SHA-256 test still runs")
    expected = significant_lines(listing_from_article(article))
    actual = significant_lines(SCRIPT.read_text(encoding="utf-8"))
    assert len(expected) > 30, "the listing was not found in the article's text"
    assert actual == expected, _diff(expected, actual)


def test_seed_script_matches_the_recorded_listing():
    lines = significant_lines(SCRIPT.read_text(encoding="utf-8"))
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    assert digest == LISTING_SHA256, "seed_combined.py differs from the article's listing"


def test_the_comparison_sees_any_other_change():
    """The check itself: whitespace passes, a header, a timer or a changed word does not."""
    text = SCRIPT.read_text(encoding="utf-8")
    expected = significant_lines(text)
    reindented = "\n\n".join("  " + line + "   " for line in text.splitlines())
    assert significant_lines(reindented) == expected
    for changed in ("# The seed article's example\n" + text,
                    text + 'print(f"Multithreading time: {0} seconds")\n',
                    text.replace("CPU-bound result", "CPU-bound task result"),
                    text.replace("5*10**6", "5 * 10**6")):
        assert significant_lines(changed) != expected


def test_seed_script_is_python_without_a_main_guard():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree) is None
    assert "__main__" not in SCRIPT.read_text(encoding="utf-8")
    assert {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} == {
        "cpu_bound_task", "io_bound_task", "run_multithreading", "run_multiprocessing"}


def test_timed_copy_is_labelled_as_the_labs_and_otherwise_the_articles():
    """Past its header comment, every line of the timed copy not marked ``# lab`` is the
    article's, in the article's order."""
    lines = TIMED.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# THE LAB'S COPY, NOT THE ARTICLE'S CODE.")
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    marked = [line for line in lines[header:] if "# lab" in line]
    article = [line for line in lines[header:] if "# lab" not in line]
    assert len(marked) == 9  # 3 lines per timer: start, elapsed, print (count, 2 examples)
    assert significant_lines("\n".join(article)) == significant_lines(
        SCRIPT.read_text(encoding="utf-8"))
