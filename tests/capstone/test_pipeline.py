"""Notebook 09's pipeline: right answers on every executor kind, bad input, clean-up,
words, plot, lab widget and self-checks. No absolute wall times are asserted."""
from __future__ import annotations

import threading
import time

import psutil
import pytest
from matplotlib.figure import Figure

from helpers.capstone import pipeline as capstone
from helpers.capstone.pipeline import (
    STAGES,
    CapstoneLab,
    PipelineComparison,
    PipelineRun,
    check_beat_target,
    check_bottleneck,
    check_stages,
    check_tool_guide,
    compare_pipelines,
    describe_pipelines,
    describe_profile,
    expected_summary,
    plot_pipelines,
    reference_stages,
    run_pipeline,
    settings,
    target_time,
)
from helpers.capstone.stages import PageInfo, fetch_page, fetch_page_async, parse_page
from helpers.core.executors import EXECUTORS
from helpers.core.latency_server import HTTPStatusError, LatencyServer
from helpers.core.runner import RunResult
from helpers.core.selfcheck import STRICT_ENV


@pytest.fixture(autouse=True)
def lenient_checks(monkeypatch):
    """Wrong answers are fed on purpose here: a failed check must return, not raise."""
    monkeypatch.delenv(STRICT_ENV, raising=False)


SMALL = {"pages": 4, "latency_ms": 10, "compute_size": 3_000, "repeats": 1}


def small_job():
    return settings(SMALL["pages"], SMALL["latency_ms"], None, SMALL["compute_size"])


def listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.Process().net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN}


def wait_for_threads(before: set[threading.Thread], grace: float = 5.0) -> list[str]:
    deadline = time.monotonic() + grace
    while True:
        extra = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


# --- the stages --------------------------------------------------------------------------

def test_fetch_returns_the_page_text_blocking_and_async():
    import asyncio
    with LatencyServer(latency_ms=1, payload_bytes=40, pages=3) as server:
        text = fetch_page(server.page_url(2))
        same = asyncio.run(fetch_page_async(server.page_url(2)))
        with pytest.raises(HTTPStatusError):
            fetch_page(server.url + "page/99")
        with pytest.raises(HTTPStatusError):
            asyncio.run(fetch_page_async(server.url + "page/99"))
    assert text == same and text.startswith("page 2\n") and len(text) == 40
    assert parse_page(text) == PageInfo(2, 3, 40)


def test_parse_rejects_a_page_without_its_header():
    with pytest.raises(ValueError, match="page N"):
        parse_page("no header here")


def test_fetch_refuses_urls_off_this_machine():
    with pytest.raises(ValueError, match="url"):
        fetch_page("http://example.com/page/0")


# --- the pipeline: the same answer on every kind -----------------------------------------

@pytest.mark.parametrize("kind", sorted(EXECUTORS))
def test_every_kind_gives_the_right_aggregate(kind, no_leftover_processes):
    threads, ports = set(threading.enumerate()), listening_ports()
    run = run_pipeline({stage: (kind, 2) for stage in STAGES}, **SMALL)
    assert run.summary == expected_summary(small_job())
    assert run.summary.pages == 4 and len(run.summary.primes_by_page) == 4
    assert set(run.runs) == set(STAGES)
    assert all(r.executor == kind for r in run.runs.values())
    assert run.total == pytest.approx(sum(run.wall(s) for s in STAGES))
    assert all(seconds >= 0 for seconds in run.setup.values())
    assert not wait_for_threads(threads), "threads left running"
    assert listening_ports() <= ports, "the server's port is still open"


def test_reference_solution_right_answer_and_waits_use_less_cpu(no_leftover_processes):
    serial = run_pipeline({}, **SMALL)
    reference = run_pipeline(reference_stages(small_job()), **SMALL)
    assert serial.summary == reference.summary == expected_summary(small_job())
    # fetching waits, computing computes: a ratio, robust on a busy machine
    assert serial.utilisation("fetch") < serial.utilisation("compute")


def test_a_timeout_stops_everything(no_leftover_processes):
    threads, ports = set(threading.enumerate()), listening_ports()
    with pytest.raises(TimeoutError):
        run_pipeline({"fetch": ("threads", 2), "compute": ("processes", 2)}, pages=4,
                     latency_ms=1000, repeats=1, timeout=0.3)
    assert not wait_for_threads(threads), "threads left running"
    assert listening_ports() <= ports


def test_compare_runs_every_choice_and_reports_each(no_leftover_processes):
    seen = []
    choices = {"all serial": {}, "threads fetch": {"fetch": ("threads", 4)}}
    comparison = compare_pipelines(choices, on_result=lambda c: seen.append(len(c.runs)),
                                   **SMALL)
    assert list(comparison.runs) == list(choices) and seen == [1, 2]
    assert comparison.baseline.label == "all serial"
    assert "<table>" in comparison._repr_html_()
    assert "<table>" in comparison.baseline._repr_html_()


def test_default_choices_include_the_reference():
    choices = capstone.default_choices(small_job())
    assert list(choices)[0] == "all serial"
    assert choices["threads + processes"] == check_stages(reference_stages(small_job()))


# --- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("stages, words", [
    ({"download": "threads"}, "stages must only name stages"),
    ({"fetch": "fibres"}, r"stages\['fetch'\] must be a kind"),
    ({"fetch": ("threads", 0)}, r"workers of stages\['fetch'\] must be from 1"),
    ({"fetch": ("threads", 2, 3)}, "pair"),
    (["threads"], "stages must be a dict"),
])
def test_bad_stages_are_refused_with_the_allowed_values(stages, words):
    with pytest.raises(ValueError, match=words):
        check_stages(stages)


@pytest.mark.parametrize("option, value", [
    ("pages", 0), ("pages", 65), ("latency_ms", -1), ("latency_ms", 5000),
    ("compute_size", 10), ("compute_size", 10**7), ("payload_bytes", 1), ("repeats", 0),
    ("timeout", 0),
])
def test_bad_settings_are_refused_before_anything_starts(option, value):
    with pytest.raises(ValueError, match=option):
        run_pipeline({}, **{**SMALL, option: value})


def test_missing_stages_stay_serial_and_serial_has_one_worker():
    plan = check_stages({"compute": ("processes", 3), "parse": ("serial", 5)})
    assert plan["fetch"] == ("serial", 1) and plan["parse"] == ("serial", 1)
    assert plan["compute"] == ("processes", 3)


# --- words and plot, from made-up measurements -------------------------------------------

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


def test_words_name_the_fastest_and_explain_each_stage():
    text = describe_pipelines(fake_comparison()).text
    assert "Fastest here: **threads + processes**" in text
    assert "**fetch** waits" in text and "13.3× faster than serial" in text
    assert "Processes were 2.0× faster than serial on 2 effective CPUs — 100% of the ideal" in text
    assert "leave it serial" in text


def test_words_on_one_cpu_say_processes_cannot_speed_compute_up():
    text = describe_pipelines(fake_comparison(effective_cpus=1, processes_compute=1.0)).text
    assert "1 effective CPU" in text and "cannot speed the compute stage up" in text
    profile = describe_profile(fake_comparison(effective_cpus=1).baseline).text
    assert "processes cannot speed a computing stage up" in profile


def test_close_totals_are_called_a_tie():
    comparison = fake_comparison()
    comparison.runs["almost"] = fake_run(
        "almost", ["threads", "serial", "processes", "serial"], [0.06, 0.001, 0.52, 0.001],
        [0.02, 0.001, 1.0, 0.001])
    assert "call it a tie" in describe_pipelines(comparison).text


def test_profile_says_which_stage_waits_and_which_computes():
    text = describe_profile(fake_comparison().baseline).text
    assert "**fetch**: 800 ms, 0.05 CPUs busy — it waits" in text
    assert "**compute**: 1.00 s, 1.00 CPUs busy — it computes; the longest stage" in text
    assert "too brief to matter" in text


def test_plot_has_a_bar_per_choice_title_and_units():
    fig = plot_pipelines(fake_comparison())
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_title() and "(s)" in ax.get_xlabel()
    assert len(ax.get_yticklabels()) == 2


# --- the lab widget, headless ------------------------------------------------------------

def test_lab_runs_headless_and_shows_a_plot(no_leftover_processes):
    lab = CapstoneLab(fake_comparison(), **{k: v for k, v in SMALL.items()
                                            if k == "repeats"})
    lab.kinds["compute"].value = "threads"
    result = lab.run()
    assert lab.error is None and result is lab.results
    assert result.summary == expected_summary(small_job())
    assert result.plan["compute"][0] == "threads"
    assert lab.figure is not None and "your choice" in lab.words.value
    assert "wrong" not in lab.words.value


def test_lab_shows_a_failure_instead_of_raising(no_leftover_processes):
    lab = CapstoneLab(None, pages=4, latency_ms=900, compute_size=3_000, repeats=1, timeout=0.2)
    lab.kinds["fetch"].value = "serial"
    assert lab.run() is None and lab.results is None
    assert "The run failed" in lab.words.value and isinstance(lab.error, TimeoutError)


# --- self-checks -------------------------------------------------------------------------

def test_bottleneck_check_accepts_the_longest_stage_and_explains_a_wrong_one():
    run = fake_comparison().runs["threads + processes"]
    assert check_bottleneck("compute", run)
    wrong = check_bottleneck("fetch", run)
    assert not wrong and "Hint" in str(wrong) and "fetch took 60 ms" in str(wrong)
    assert not check_bottleneck("download", run) and "Hint" in str(check_bottleneck(3, run))
    assert not check_bottleneck("compute", "not a run")


def test_target_is_halfway_between_baseline_and_fastest():
    comparison = fake_comparison()
    best, base = comparison.fastest.total, comparison.baseline.total
    assert target_time(comparison) == pytest.approx(best + (base - best) / 2)


def test_beat_target_passes_the_reference_and_rejects_all_serial(no_leftover_processes):
    options = {k: v for k, v in SMALL.items()}
    good = check_beat_target(reference_stages(small_job()), 100.0, **options)
    assert good, str(good)
    # 4 serial waits of 60 ms cannot fit; at 10 ms the client's own CPU time per request
    # (urllib, ~2–3 ms on 3.10) made fetch look like computing (0.2+ CPUs busy).
    slow = check_beat_target({}, 0.01, **{**options, "latency_ms": 60})
    assert not slow and "Hint" in str(slow) and "fetch" in str(slow)
    assert "mostly waits" in str(slow)


def test_beat_target_reports_bad_stages_without_raising():
    result = check_beat_target({"fetch": "fibres"}, 1.0, **SMALL)
    assert not result and "Hint" in str(result)
    assert not check_beat_target({}, -1, **SMALL)


def test_tool_guide_check():
    solution = {job: good[0] for job, good in capstone.GUIDE_JOBS.items()}
    assert check_tool_guide(solution)
    wrong = {**solution, next(iter(solution)): "processes"}
    result = check_tool_guide(wrong)
    assert not result and "Hint" in str(result)
    assert not check_tool_guide({**solution, next(iter(solution)): ...})
    assert not check_tool_guide(["asyncio"])


def test_hints_follow_the_tool_and_the_cpus():
    threads_only = fake_run("all threads", ["threads"] * 4, [0.06, 0.001, 1.0, 0.001],
                            [0.02, 0.001, 1.0, 0.001])
    passed_text = str(check_bottleneck("compute", threads_only))
    assert "threads removed most of the waiting" in passed_text
    if capstone.gil_enabled():
        assert "processes could use your 2 effective CPUs" in passed_text
    reference = fake_comparison().runs["threads + processes"]
    assert "already runs on processes" in capstone.target_hint(reference, "compute")
    one_cpu = fake_comparison(effective_cpus=1).runs["threads + processes"]
    assert "no pool can speed it up" in capstone.target_hint(one_cpu, "compute")
    assert "no tool can shrink it" in str(check_bottleneck("compute", one_cpu))
    assert "overlap the waits" in capstone.target_hint(fake_comparison().baseline, "fetch")


def test_a_measured_baseline_is_reused_not_run_again(no_leftover_processes):
    serial = run_pipeline({}, label="all serial", **SMALL)
    choices = {"all serial": {}, "threads fetch": {"fetch": ("threads", 4)}}
    comparison = compare_pipelines(choices, baseline=serial, **SMALL)
    assert comparison.baseline is serial and list(comparison.runs) == list(choices)
    with pytest.raises(ValueError, match="baseline must be a PipelineRun of the same job"):
        compare_pipelines(choices, baseline=serial, **{**SMALL, "pages": 5})
