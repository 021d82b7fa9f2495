"""The layout rule, enforced: notebook ``NN_<stem>`` ↔ lesson ``helpers/<stem>`` ↔ its tests.

- ``helpers/core/`` is the measuring library: it imports no lesson.
- Lesson NN imports the core and lessons before NN only; so does notebook NN.
- Nothing imports a private (``_name``) from another module; nothing outside ``tests/``
  imports ``tests``; ``helpers`` imports neither ``tests``, ``bench`` nor ``tools``.
- ``helpers/`` holds the core, ``scripts/`` and one lesson per notebook, and each package's
  index (its docstring) names every module in it.

Pure AST: nothing is imported to check it.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
NOTEBOOK_NAME = re.compile(r"(\d\d)_(\w+)\.ipynb")
LESSONS = {m[2]: int(m[1]) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
           if (m := NOTEBOOK_NAME.fullmatch(p.name))}  # stem -> notebook number
NOT_LESSONS = {"core", "scripts"}


def module_name(path: Path) -> str:
    """``helpers/core/runner.py`` -> ``helpers.core.runner`` (a package -> its name)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def place(dotted: str) -> tuple[str, int] | None:
    """Where a ``helpers`` module sits: ("core", -1), (lesson stem, its number) or None."""
    parts = dotted.split(".")
    if parts[0] != "helpers" or len(parts) < 2:
        return None
    if parts[1] == "core":
        return ("core", -1)
    if parts[1] in LESSONS:
        return (parts[1], LESSONS[parts[1]])
    return None


def imports(tree: ast.AST, importer: str, is_package: bool = False):
    """(line, imported module, imported name or None) for every import in ``tree``,
    relative imports resolved against ``importer``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = importer.split(".")
                package = package if is_package else package[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                if is_module(f"{base}.{alias.name}"):  # from helpers.x import module
                    yield node.lineno, f"{base}.{alias.name}", None
                else:
                    yield node.lineno, base, alias.name


def module_aliases(tree: ast.AST, importer: str, is_package: bool = False) -> set[str]:
    """Names bound to a ``helpers`` module (``from helpers.core import plots as p`` -> p)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if isinstance(node, ast.Import) and alias.name.startswith("helpers"):
                    names.add(bound)
                elif isinstance(node, ast.ImportFrom):
                    for _, module, name in imports(ast.Module([node], []), importer,
                                                   is_package):
                        if name is None and module.startswith("helpers"):
                            names.add(bound)
    return names


def violations(source: str, importer: str, is_package: bool = False,
               notebook: int | None = None) -> list[str]:
    """What breaks the rule in ``source``, the code of ``importer`` (a dotted module name,
    ``bench.x``, ``tests.x``, ``tools.x``, or ``notebooks.NN_stem`` with ``notebook=NN``)."""
    tree = ast.parse(source)
    here = place(importer)
    if notebook is not None:
        here = ("notebook", notebook)
    found = []
    for line, module, name in imports(tree, importer, is_package):
        where = f"{importer}:{line}"
        target = place(module)
        top = module.split(".")[0]
        if name and name.startswith("_") and not name.startswith("__") \
                and module.split(".")[0] in ("helpers", "bench", "tools", "tests") \
                and module != importer:
            found.append(f"{where} imports the private name {name} from {module}")
        if top == "tests" and not importer.startswith("tests"):
            found.append(f"{where} imports test code ({module}) outside tests/")
        if importer.startswith("helpers") and top in ("tests", "bench", "tools"):
            found.append(f"{where}: helpers imports {module}")
        if here and target:
            if here[0] == "core" and target[0] != "core":
                found.append(f"{where}: the core imports the lesson {module}")
            elif here[0] != "core" and target[0] != here[0] and target[1] > here[1]:
                found.append(f"{where}: imports {module}, a later lesson")
    aliases = module_aliases(tree, importer, is_package)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            found.append(f"{importer}:{node.lineno} uses the private name "
                         f"{node.value.id}.{node.attr}")
    return found


def python_files():
    for folder in ("helpers", "bench", "tests", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "scripts" not in path.relative_to(ROOT).parts:
                yield path


def notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = ("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return "\n".join(line for block in code for line in block.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def test_every_module_and_notebook_keeps_the_import_rule():
    found = []
    for path in python_files():
        found += violations(path.read_text(encoding="utf-8"), module_name(path),
                            path.name == "__init__.py")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        number = int(path.name[:2])
        found += violations(notebook_code(path), f"notebooks.{path.stem}", notebook=number)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source, importer, expected", [
    ("from helpers.capstone.pipeline import compare_pipelines", "helpers.core.runner",
     "the core imports the lesson"),
    ("from helpers.shared_state import races", "helpers.io_bound", "a later lesson"),
    ("from helpers.core.words import _against_ideal", "helpers.capstone.pipeline",
     "private name"),
    ("from helpers.core import words\nwords._against_ideal(1.0, 2)", "bench.report",
     "private name words._against_ideal"),
    ("from tests.browser import conftest", "bench.widget", "test code"),
    ("from helpers.capstone import stages", "notebooks.08_beyond_one_machine",
     "a later lesson"),
])
def test_a_wrong_import_is_caught(source, importer, expected):
    notebook = int(importer.split(".")[1][:2]) if importer.startswith("notebooks") else None
    found = violations(source, importer, notebook=notebook)
    assert found and expected in found[0]


def test_the_right_imports_pass():
    assert not violations("from helpers.core.runner import run_tasks\n"
                          "from helpers.threads import sharing", "helpers.processes")
    assert not violations("from .stages import parse_page", "helpers.capstone.pipeline")
    assert not violations("from helpers.processes_in_depth import data_movement",
                          "notebooks.08_beyond_one_machine", notebook=8)


def test_helpers_holds_the_core_scripts_and_one_lesson_per_notebook():
    entries = {p.stem for p in HELPERS.iterdir()
               if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())}
    assert len(entries) <= 15, sorted(entries)
    assert entries - {"__init__"} - NOT_LESSONS == set(LESSONS), (
        "every entry of helpers/ is the core, scripts/ or the lesson of one notebook: "
        f"{sorted(entries ^ set(LESSONS) - NOT_LESSONS - {'__init__'})}")
    for stem in LESSONS:
        tests = [ROOT / "tests" / f"test_{stem}.py", ROOT / "tests" / stem]
        assert any(path.exists() for path in tests), f"no tests for the lesson {stem}"


def documented(package: Path) -> set[str]:
    """The names a package's index (docstring) lists as ````name````, one per line."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    return set(re.findall(r"^``([a-z]\w*)/?`` +\S", doc or "", re.M))


@pytest.mark.parametrize("package", sorted(
    p.relative_to(ROOT).as_posix() for p in [HELPERS, *HELPERS.iterdir()]
    if (p / "__init__.py").is_file() and p.name != "scripts"))
def test_each_package_index_names_exactly_its_modules(package):
    folder = ROOT / package
    present = {p.stem for p in folder.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    present |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    if folder == HELPERS:
        present.add("scripts")
    assert documented(folder) == present, (
        f"{package}/__init__.py's index is out of date: "
        f"missing {sorted(present - documented(folder))}, "
        f"gone {sorted(documented(folder) - present)}")


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``helpers`` modules it imports (lazy imports inside functions too)."""
    modules = {module_name(p): p for p in python_files() if p.is_relative_to(HELPERS)}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = {module for _, module, _ in imports(tree, name, path.name == "__init__.py")}
        graph[name] = {m for m in found if m in modules and m not in (name, "helpers")}
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle's modules (strongly connected components bigger than one module)."""
    order, low, stack, found = {}, {}, [], []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            component = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in order:
            visit(node)
    return found


def test_the_import_graph_has_no_loops():
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert not loops(import_graph())
