"""Made-up capstone measurements for the tests of words, plot, checks and the guide, and
the small job the tests that really run the pipeline use. Nothing here is timed."""
from __future__ import annotations

from helpers.capstone.pipeline import PipelineComparison, PipelineRun, expected_summary
from helpers.capstone.plan import STAGES, check_stages, settings
from helpers.core.runner import RunResult

SMALL = {"pages": 4, "latency_ms": 10, "compute_size": 3_000, "repeats": 1}


def small_job():
    return settings(SMALL["pages"], SMALL["latency_ms"], None, SMALL["compute_size"])


def fake_run(label, kinds, walls, cpus, effective_cpus=2):
    job = small_job()
    run = PipelineRun(label, check_stages({s: (k, 2) for s, k in zip(STAGES, kinds)}), job,
                      effective_cpus=effective_cpus)
    for stage, kind, wall, cpu in zip(STAGES, kinds, walls, cpus):
        run.runs[stage] = RunResult(stage, kind, 2, 4, None, None, walls=[wall], cpus=[cpu])
        run.setup[stage] = 0.05
    run.summary = expected_summary(job)
    return run


def fake_comparison(effective_cpus=2, processes_compute=0.5):
    runs = {
        "all serial": fake_run("all serial", ["serial"] * 4, [0.8, 0.001, 1.0, 0.001],
                               [0.04, 0.001, 1.0, 0.001], effective_cpus),
        "threads + processes": fake_run(
            "threads + processes", ["threads", "serial", "processes", "serial"],
            [0.06, 0.001, processes_compute, 0.001], [0.02, 0.001, 1.0, 0.001],
            effective_cpus),
    }
    return PipelineComparison(runs, effective_cpus)
