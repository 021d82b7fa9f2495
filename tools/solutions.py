"""Exercise solutions live in ``notebooks/solutions/NN_exK.py``, out of the learner's way.

An exercise cell holds its answer names set to ``...`` and one commented line::

    # %load solutions/03_ex1.py

Removing the ``# `` and running the cell replaces the cell with the solution (IPython's
``%load``), so "Run all" never runs a solution over the learner's answer. The tests do
what ``%load`` does, without a browser: :func:`with_solutions` swaps each such cell for
its file's text.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LOAD_LINE = re.compile(r"^# %load (solutions/(\d\d)_ex(\d+)\.py)$", re.MULTILINE)


def load_lines(notebook: dict) -> list[str]:
    """The solution paths (relative to ``notebooks/``) the notebook's cells offer to load."""
    return [match.group(1) for cell in notebook["cells"] if cell["cell_type"] == "code"
            for match in LOAD_LINE.finditer("".join(cell["source"]))]


def with_solutions(notebook: dict, folder: Path = NOTEBOOKS) -> dict:
    """A copy of ``notebook`` in which every exercise cell is what ``%load`` makes of it:
    the load line (commented, as IPython leaves it) followed by the solution's text."""
    solved = copy.deepcopy(notebook)
    for cell in solved["cells"]:
        match = LOAD_LINE.search("".join(cell["source"])) if cell["cell_type"] == "code" else None
        if match:
            text = (folder / match.group(1)).read_text(encoding="utf-8")
            cell["source"] = f"# %load {match.group(1)}\n{text}".rstrip("\n")
    return solved
