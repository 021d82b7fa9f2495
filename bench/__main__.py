"""``python -m bench [--quick] [--out DIR] [--update-readme README.md]`` — see :mod:`bench`.

Default sizes (``LAB_QUICK`` removed from the environment) for the in-process figures, the
default-size notebook pass and the widget; ``LAB_QUICK=1`` for the quick-mode notebook pass.
``--quick`` uses quick sizes everywhere, fewer repeats, and skips the two notebook passes and
the browser unless ``--notebooks`` / ``--browser`` ask for them: every figure still has its
key, with a value or a status saying why there is none.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import measures, report
from .figures import FAILED, MEASURED, NOT_MEASURED, SKIPPED, Figure, load_average, machine
from .install import install_figures, measure_install
from .notebooks import MemorySampler, find_notebooks, run_pass
from .widget import SUMMARY_KEY, widget_cases, widget_figures

REPO = Path(__file__).resolve().parent.parent
MIB = 2**20


def new_figures() -> dict[str, Figure]:
    """Every figure the benchmark reports, with its goal, in table order."""
    figures = [
        Figure("cpu_parallel_efficiency", "CPU-bound demo, processes: speedup ÷ effective CPUs",
               "", 0.90, "higher"),
        Figure("io_overlap_efficiency", "I/O demo, threads: ideal time ÷ measured time",
               "", 0.90, "higher"),
        Figure("runner_overhead_ratio", "Runner time ÷ bare concurrent.futures time",
               "", 1.05, "lower"),
        Figure("repeatability_cv", "Repeatability: coefficient of variation over repeats",
               "%", 5.0, "lower"),
        Figure("notebooks_quick_total", "All notebooks top to bottom, quick mode", "s",
               90.0, "lower"),
        Figure("notebooks_default_total", "All notebooks top to bottom, default sizes", "s",
               None, None),
        Figure("peak_memory", "Peak memory, kernel + workers (PSS)", "MiB", 1024.0, "lower"),
        Figure("free_threaded_speedup", "Free-threaded, PYTHON_GIL=0: 2-thread speedup", "×",
               1.8, "higher"),
        *widget_figures(widget_cases()),  # the slowest widget, then one row per lab widget
        *install_figures(),  # a learner's first `make lab`: time and .venv size
    ]
    return {figure.key: figure for figure in figures}


def set_quick(quick: bool) -> None:
    """Sizes for what runs in this process (helpers.core.settings reads LAB_QUICK at each call)."""
    if quick:
        os.environ["LAB_QUICK"] = "1"
    else:
        os.environ.pop("LAB_QUICK", None)


def guarded(figure: Figure, work: Callable[[], None], log: Callable[[str], None]) -> None:
    """Run one measurement; a failure becomes the figure's status, and the bench goes on."""
    started = time.perf_counter()
    log(f"{figure.key} …")
    try:
        work()
    except Exception as error:
        figure.skip(FAILED, f"failed: {type(error).__name__}: {error}"[:400])
        log(traceback.format_exc())
    log(f"{figure.key}: {figure.shown} ({time.perf_counter() - started:.1f} s)")


def run_notebooks(figures: dict[str, Figure], patterns: list[str], passes: list[bool],
                  log: Callable[[str], None]) -> dict:
    """Quick and/or default-size passes over the notebooks, memory sampled throughout."""
    paths = sorted({p for pattern in patterns for p in find_notebooks(pattern)})
    seconds: dict[str, dict] = {p.stem: {} for p in paths}
    with MemorySampler() as sampler:
        for quick in passes:
            key = "notebooks_quick_total" if quick else "notebooks_default_total"
            figure = figures[key]
            log(f"{key}: {len(paths)} notebooks …")
            result = run_pass(paths, quick, sampler, log)
            for run in result.runs:
                seconds[run.notebook]["quick" if quick else "default"] = {
                    "seconds": run.seconds, "ok": run.ok, "error": run.error}
            figure.value, figure.status = result.total, MEASURED
            failed = [r.notebook for r in result.runs if not r.ok]
            figure.note = (f"{len(paths)} notebooks, nbclient, fresh kernel each"
                           + (f"; FAILED: {', '.join(failed)}" if failed else ""))
            figure.details = {"notebooks": [p.stem for p in paths], "failed": failed}
    peak = sampler.peak
    memory = figures["peak_memory"]
    if peak.bytes:
        memory.value, memory.status = peak.bytes / MIB, MEASURED
        memory.unit = "MiB"
        memory.note = (f"{peak.measure} summed over {peak.processes} processes, during "
                       f"{peak.notebook} (sampled every {sampler.interval} s)")
        memory.details = {"measure": peak.measure, "rss_sum_mib": peak.rss_bytes / MIB,
                          "processes": peak.processes, "notebook": peak.notebook,
                          "by_process": peak.parts}
    return {"pattern": patterns, "seconds": seconds}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="quick sizes and fewer repeats; notebooks and browser skipped "
                             "unless asked for")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for results.json and results.md (default: bench/, "
                             "with --quick bench-results/, which git ignores)")
    parser.add_argument("--update-readme", type=Path, metavar="README",
                        help="also put the table between the bench markers of this file")
    parser.add_argument("--notebooks", nargs="*", metavar="GLOB",
                        help="notebooks to run (globs in notebooks/); default: all "
                             "(none with --quick)")
    parser.add_argument("--browser", action=argparse.BooleanOptionalAction, default=None,
                        help="measure widget latency in Chromium (default: yes, no with --quick)")
    parser.add_argument("--install", action=argparse.BooleanOptionalAction, default=None,
                        help="time `make lab`'s setup in fresh clones and weigh its .venv "
                             "(default: yes, no with --quick)")
    parser.add_argument("--clicks", type=int, default=None,
                        help="Run clicks to time per widget (default 3, 1 with --quick)")
    parser.add_argument("--widgets", nargs="*", metavar="GLOB",
                        help="only the lab widgets of these notebooks (globs, e.g. 03_*); "
                             "default: every lab widget")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    began = time.perf_counter()

    def log(text: str) -> None:
        print(f"[bench {time.perf_counter() - began:6.1f} s] {text}", file=sys.stderr, flush=True)

    set_quick(args.quick)
    figures = new_figures()
    info = machine()
    guarded(figures["cpu_parallel_efficiency"],
            lambda: measures.cpu_efficiency(figures["cpu_parallel_efficiency"],
                                            figures["repeatability_cv"]), log)
    if figures["cpu_parallel_efficiency"].status == FAILED:
        figures["repeatability_cv"].skip(FAILED, "failed with the CPU-bound measurement")
    guarded(figures["io_overlap_efficiency"],
            lambda: measures.io_overlap(figures["io_overlap_efficiency"]), log)
    guarded(figures["runner_overhead_ratio"],
            lambda: measures.runner_overhead(figures["runner_overhead_ratio"]), log)
    guarded(figures["free_threaded_speedup"],
            lambda: measures.free_threaded_speedup(figures["free_threaded_speedup"]), log)

    patterns = args.notebooks if args.notebooks is not None else (
        [] if args.quick else ["[0-9][0-9]_*.ipynb"])
    notebooks: dict = {"pattern": patterns, "seconds": {}}
    if patterns:
        passes = [True] if args.quick else [True, False]
        notebooks = run_notebooks(figures, patterns, passes, log)
    for key in ("notebooks_quick_total", "notebooks_default_total", "peak_memory"):
        if figures[key].status != MEASURED and figures[key].status != FAILED:
            figures[key].skip(SKIPPED, "skipped in quick mode" if args.quick
                              else "skipped (no notebooks run)")
    if figures["notebooks_quick_total"].status == MEASURED and args.notebooks:
        figures["notebooks_quick_total"].note += f" (only {', '.join(args.notebooks)})"

    browser = args.browser if args.browser is not None else not args.quick
    widgets = [figure for key, figure in figures.items() if key.startswith(SUMMARY_KEY)]
    if browser:
        from .widget import widget_latency

        clicks = args.clicks or (1 if args.quick else 3)
        guarded(figures[SUMMARY_KEY], lambda: widget_latency(
            figures, args.quick, clicks, only=args.widgets, log=log), log)
        for figure in widgets:  # left unmeasured by a failure before its notebook's turn
            if figure.status == NOT_MEASURED and not figure.note:
                figure.skip(FAILED, figures[SUMMARY_KEY].note or "failed")
    else:
        for figure in widgets:
            figure.skip(SKIPPED, "skipped in quick mode" if args.quick
                        else "skipped (--no-browser)")

    install = [figure for figure in figures.values() if figure.key in
               {f.key for f in install_figures()}]
    if args.install if args.install is not None else not args.quick:
        guarded(install[0], lambda: measure_install(figures, log), log)
        for figure in install[1:]:
            if figure.status == NOT_MEASURED:
                figure.skip(FAILED, install[0].note or "failed")
    else:
        for figure in install:
            figure.skip(SKIPPED, "skipped in quick mode" if args.quick
                        else "skipped (--no-install)")

    info["load_average_at_end"] = load_average()
    info["bench_seconds"] = round(time.perf_counter() - began, 1)
    data = report.to_json(info, list(figures.values()), notebooks,
                          "quick" if args.quick else "default sizes")
    out = args.out or REPO / ("bench-results" if args.quick else "bench")
    json_path, md_path = report.write(data, out)
    log(f"wrote {json_path} and {md_path}")
    if args.update_readme and args.quick:
        log(f"{args.update_readme} not updated: it shows default-size figures, not quick ones")
    elif args.update_readme:
        report.update_readme(args.update_readme, report.markdown(data))
        log(f"updated the table in {args.update_readme}")
    print(report.markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
