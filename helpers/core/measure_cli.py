"""Measure in *another* Python, print the result as JSON: ``python -m helpers.core.measure_cli``.

A notebook's kernel is one interpreter. To compare it with another — a free-threaded
build, with ``PYTHON_GIL=0`` or ``PYTHON_GIL=1``, or a Python 3.14+ that has
subinterpreters when the kernel is older — the notebook starts that interpreter on this
module, which runs the lab's own runner there and prints one line of JSON. The same code
measures on both sides; only the interpreter differs. Needs nothing beyond the standard
library (and this package on ``PYTHONPATH``).

Usage::

    python -m helpers.core.measure_cli compare count 2000000 --tasks 2 --workers 2 --repeats 3
    python -m helpers.core.measure_cli compare count 2000000 --executors serial,interpreters
    python -m helpers.core.measure_cli subinterpreter --modules numpy,zlib --workloads count,hash
    python -m helpers.core.measure_cli call helpers.shared_state.races:race \
        '["plain +=", 4, 200000]'
    python -m helpers.core.measure_cli info

``compare`` runs serial vs threads unless ``--executors`` names others (any registered
kind, :mod:`helpers.core.executors`; the first is the baseline), and with ``--start-cost``
also times each pool's first result. Processes use the lab's start method — this
interpreter's default unless ``LAB_START_METHOD`` forces one. ``call`` runs a function of
the ``helpers`` package that a lesson names (the core knows no lesson) and prints what it
returns.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import statistics
import sys
import time
from dataclasses import asdict, is_dataclass

from helpers.core.system import gil_enabled, is_free_threaded_build

DEFAULT_EXECUTORS = ("serial", "threads")


def info() -> dict:
    """What kind of interpreter this is."""
    return {"version": sys.version.split()[0], "implementation": sys.implementation.name,
            "free_threaded": is_free_threaded_build(), "gil_enabled": gil_enabled(),
            "executable": sys.executable}


def call_by_name(target: str, arguments: list) -> object:
    """Call ``module:function`` (a module of the ``helpers`` package) with ``arguments``;
    a dataclass it returns comes back as a dict, so that it prints as JSON."""
    module, _, name = target.partition(":")
    if not module.startswith("helpers.") or not name.isidentifier():
        raise ValueError(f"function must be 'helpers.<module>:<function>', got {target!r}")
    result = getattr(importlib.import_module(module), name)(*arguments)
    return asdict(result) if is_dataclass(result) else result


def parse_executors(text: str) -> tuple[str, ...]:
    """``"serial,threads,interpreters"`` -> a tuple of registered executor kinds.

    ``ValueError`` names the parameter and the kinds this interpreter has (``interpreters``
    only from Python 3.14).
    """
    from helpers.core.executors import EXECUTORS

    names = tuple(name.strip() for name in str(text).split(",") if name.strip())
    unknown = [name for name in names if name not in EXECUTORS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"executors must be distinct names from {sorted(EXECUTORS)}, "
                         f"separated by commas; got {text!r}")
    return names


def pool_start_seconds(executors: tuple[str, ...], repeats: int = 3,
                timeout: float = 60.0) -> dict[str, float]:
    """Seconds from creating a 1-worker pool to its first result, median of ``repeats``.

    What a pool costs before it does any work: a thread starts in this process; an
    interpreter is created in this process and imports the task's module anew; a process
    is started (or forked) and, unless forked, imports it too. Closing the pool is not
    timed. ``serial`` has nothing to start and is left out.
    """
    from helpers.core.executors import open_executor
    from helpers.core.workloads import count_up

    costs = {}
    for kind in executors:
        if kind == "serial":
            continue
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            with open_executor(kind, 1) as pool:
                pool.submit(count_up, 1).result(timeout=timeout)
                samples.append(time.perf_counter() - start)
        costs[kind] = statistics.median(samples)
    return costs


def try_in_subinterpreter(code: str) -> str | None:
    """Run ``code`` in a new subinterpreter (Python 3.14+); ``None`` if it worked, else the
    error it raised there, as ``"ImportError: <its last line>"``."""
    from concurrent import interpreters

    interpreter = interpreters.create()
    try:
        interpreter.exec(code)
    except interpreters.ExecutionFailed as failed:
        lines = [line for line in failed.excinfo.msg.splitlines() if line.strip()]
        return f"{failed.excinfo.type.__name__}: {lines[-1].strip() if lines else ''}"
    finally:
        interpreter.close()
    return None


def subinterpreter_checks(modules: list[str], workloads: list[str]) -> dict:
    """Import each module, and run each lab workload once (its smallest size), each in a
    fresh subinterpreter. A module not installed here is reported as missing, not tried;
    an installed one with its distribution's version (``numpy`` has one, ``zlib`` has not)."""
    from helpers.core.workloads import get_workload

    out: dict = {"modules": {}, "workloads": {}}
    for module in modules:
        if not all(part.isidentifier() for part in module.split(".")):
            raise ValueError(f"modules must be dotted module names, got {module!r}")
        top = module.split(".")[0]
        if importlib.util.find_spec(top) is None:
            out["modules"][module] = {"missing": True, "version": None, "error": None}
            continue
        try:
            version = importlib.metadata.version(top)
        except importlib.metadata.PackageNotFoundError:
            version = None
        out["modules"][module] = {"missing": False, "version": version,
                                  "error": try_in_subinterpreter(f"import {module}")}
    for name in workloads:
        spec = get_workload(name)
        code = (f"from helpers.core.workloads import get_workload\n"
                f"get_workload({spec.name!r}).function({spec.min_size})")
        out["workloads"][spec.name] = {"error": try_in_subinterpreter(code)}
    return out


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.core.measure_cli")
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("compare", help="executors (serial vs threads by default) "
                                                  "on one workload")
    compare.add_argument("workload")
    compare.add_argument("size", type=int)
    compare.add_argument("--tasks", type=int, default=2)
    compare.add_argument("--workers", type=int, default=2)
    compare.add_argument("--repeats", type=int, default=3)
    compare.add_argument("--executors", default=",".join(DEFAULT_EXECUTORS),
                         help="comma-separated executor kinds, the first is the baseline")
    compare.add_argument("--timeout", type=float, default=600.0,
                         help="seconds each executor's run may take")
    compare.add_argument("--start-cost", action="store_true",
                         help="also time a 1-worker pool's first result, per executor")
    sub = commands.add_parser("subinterpreter", help="what imports and runs in a "
                                                     "subinterpreter (3.14+)")
    sub.add_argument("--modules", default="", help="comma-separated modules to import")
    sub.add_argument("--workloads", default="", help="comma-separated lab workloads to run")
    call = commands.add_parser("call", help="call a helpers function, print what it returns")
    call.add_argument("function", help="helpers.<module>:<function>")
    call.add_argument("arguments", nargs="?", default="[]",
                      help="its positional arguments, as a JSON list")
    commands.add_parser("info", help="the interpreter's facts")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    out = {"info": info()}
    if args.command == "compare":
        from helpers.core.experiments import compare as run_compare

        try:
            executors = parse_executors(args.executors)
        except ValueError as error:
            parser.error(str(error))
        comparison = run_compare(args.workload, executors, size=args.size,
                                 tasks=args.tasks, workers=args.workers,
                                 repeats=args.repeats, timeout=args.timeout)
        out["runs"] = {name: asdict(run) for name, run in comparison.runs.items()}
        if args.start_cost:
            out["start"] = pool_start_seconds(executors, args.repeats)
    elif args.command == "subinterpreter":
        out["subinterpreter"] = subinterpreter_checks(_names(args.modules),
                                                      _names(args.workloads))
    elif args.command == "call":
        try:
            out["returned"] = call_by_name(args.function, json.loads(args.arguments))
        except (ValueError, AttributeError, ImportError) as error:
            parser.error(str(error))
    out["info"]["gil_enabled_after"] = gil_enabled()
    # Stop and wait for multiprocessing's fork server and resource tracker: reaped, their
    # CPU time (and that of the pool workers the fork server reaped) is counted as ours by
    # the Python that started this one; left to exit on their own, it looked like other
    # programs' (noise.watch_load) and every run was called disturbed.
    from helpers.core.kernel_exit import stop_multiprocessing_helpers

    stop_multiprocessing_helpers()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
