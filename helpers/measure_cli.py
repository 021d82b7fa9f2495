"""Measure in *another* Python and print the result as JSON: ``python -m helpers.measure_cli``.

A notebook's kernel is one interpreter. To compare it with another — a free-threaded
build, with ``PYTHON_GIL=0`` or ``PYTHON_GIL=1`` — the notebook starts that interpreter
on this module, which runs the lab's own runner there and prints one line of JSON. The
same code measures on both sides; only the interpreter differs. Needs nothing beyond
the standard library (and this package on ``PYTHONPATH``).

Usage::

    python -m helpers.measure_cli compare count 2000000 --tasks 2 --workers 2 --repeats 3
    python -m helpers.measure_cli race "plain +=" --threads 4 --times 200000
    python -m helpers.measure_cli info
"""
from __future__ import annotations

import argparse
import json
import sys
import sysconfig
from dataclasses import asdict


def info() -> dict:
    """What kind of interpreter this is."""
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return {"version": sys.version.split()[0], "implementation": sys.implementation.name,
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "gil_enabled": gil, "executable": sys.executable}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.measure_cli")
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("compare", help="serial vs threads on one workload")
    compare.add_argument("workload")
    compare.add_argument("size", type=int)
    compare.add_argument("--tasks", type=int, default=2)
    compare.add_argument("--workers", type=int, default=2)
    compare.add_argument("--repeats", type=int, default=3)
    race = commands.add_parser("race", help="count lost updates of one increment")
    race.add_argument("increment")
    race.add_argument("--threads", type=int, default=4)
    race.add_argument("--times", type=int, default=100_000)
    commands.add_parser("info", help="the interpreter's facts")
    args = parser.parse_args(argv)
    out = {"info": info()}
    if args.command == "compare":
        from .experiments import compare as run_compare

        comparison = run_compare(args.workload, ("serial", "threads"), size=args.size,
                                 tasks=args.tasks, workers=args.workers,
                                 repeats=args.repeats)
        out["runs"] = {name: asdict(run) for name, run in comparison.runs.items()}
    elif args.command == "race":
        from .races import race as run_race

        out["race"] = asdict(run_race(args.increment, args.threads, args.times))
    out["info"]["gil_enabled_after"] = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
