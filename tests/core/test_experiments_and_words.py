import pytest

from helpers.core.experiments import Comparison, compare, sweep_workers
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.words import describe, describe_sweep, describe_turn_taking, speedup_phrase


def fake_run(executor, wall, cpu, workload="count", workers=2, tasks=4):
    records = [TaskRecord(i, 1, i % workers, 0.0, wall, cpu / tasks) for i in range(tasks)]
    return RunResult(workload, executor, workers, tasks, 1, None, [wall], [cpu], records,
                     [1] * tasks)


def fake_comparison(cpus, workload="count", threads=(1.0, 1.0), processes=(0.52, 1.0)):
    runs = {"serial": fake_run("serial", 1.0, 1.0, workload, workers=1),
            "threads": fake_run("threads", *threads, workload),
            "processes": fake_run("processes", *processes, workload)}
    return Comparison(runs, effective_cpus=cpus)


def test_compare_calls_back_after_each_executor():
    seen, progress = [], []
    result = compare("count", ("serial", "threads"), tasks=2, size=10_000, repeats=1,
                     on_result=lambda c: seen.append(list(c.runs)),
                     on_progress=lambda d, t: progress.append((d, t)))
    assert seen == [["serial"], ["serial", "threads"]]
    assert progress[-1] == (4, 4) and [d for d, _ in progress] == [1, 2, 3, 4]
    assert result.speedup("serial") == 1.0
    assert {row["executor"] for row in result.rows()} == {"serial", "threads"}
    assert "<table>" in result._repr_html_()


def test_compare_shows_each_repeat_as_it_arrives():
    """The first plot can appear after one repeat of the baseline, not after all of them."""
    seen = []
    result = compare("count", ("serial", "threads"), tasks=2, size=10_000, repeats=3,
                     on_result=lambda c: seen.append({n: len(r.walls) for n, r in c.runs.items()}))
    assert seen == [{"serial": 1}, {"serial": 2}, {"serial": 3},
                    {"serial": 3, "threads": 1}, {"serial": 3, "threads": 2},
                    {"serial": 3, "threads": 3}]
    assert len(result.runs["threads"].walls) == 3 and len(result.runs["serial"].records) == 2


def test_compare_needs_an_executor():
    with pytest.raises(ValueError, match="executors"):
        compare("count", ())


def test_sweep_always_includes_one_worker():
    runs = sweep_workers("count", "threads", [2, 3], size=10_000, repeats=1)
    assert sorted(runs) == [1, 2, 3]
    assert all(run.tasks == 6 for run in runs.values())


def test_phrases():
    assert speedup_phrase(1.9) == "1.9× faster than serial"
    assert speedup_phrase(0.5) == "2.0× slower than serial"
    assert "about as fast" in speedup_phrase(1.02)
    assert "slightly" in speedup_phrase(1.2)


def test_words_for_the_gil_on_two_cpus():
    text = describe(fake_comparison(2)).text
    assert "did not compute in parallel" in text and "GIL" in text
    assert "1.9× on 2 effective CPUs (96% of the ideal 2×" in text
    above = describe(fake_comparison(2, processes=(0.4, 1.0))).text
    assert "2.50×, more than 2 workers on 2 effective CPUs can give" in above
    assert "**disturbed**" in above and "GIL" not in above.splitlines()[-1]


def test_words_for_one_cpu_promise_no_speedup():
    text = describe(fake_comparison(1, processes=(1.02, 1.0))).text
    assert "1 effective CPU" in text and "no parallel speedup can be expected" in text
    assert "faster than serial" not in text


def test_words_when_cpus_busy_but_no_gain():
    text = describe(fake_comparison(2, processes=(0.9, 1.62))).text
    assert "1.8 CPUs busy" in text and "something else" in text


def test_words_when_processes_do_not_run_in_parallel():
    text = describe(fake_comparison(2, processes=(1.0, 1.0))).text
    assert "did not run in parallel" in text


def test_words_for_waiting_and_gil_release():
    assert "Waiting" in describe(fake_comparison(2, "sleep", (0.5, 0.0))).text
    text = describe(fake_comparison(2, "zlib", (0.55, 1.8))).text
    assert "releases the GIL" in text


def test_markdown_and_html():
    verdict = describe(fake_comparison(2))
    assert verdict._repr_markdown_().startswith("- **serial**")
    assert "<b>serial</b>" in verdict._repr_html_()


def test_sweep_words():
    runs = {1: fake_run("processes", 1.0, 1.0), 2: fake_run("processes", 0.5, 1.0),
            4: fake_run("processes", 0.55, 1.0)}
    text = describe_sweep("processes", runs, 2)
    assert "best 2.0× with 2 workers" in text and "more workers than CPUs" in text
    flat = {1: fake_run("threads", 1.0, 1.0), 2: fake_run("threads", 1.0, 1.0)}
    assert "no worker count" in describe_sweep("threads", flat, 2)


def test_turn_taking_words():
    taking_turns = fake_run("threads", 1.0, 1.0)  # 4 tasks each 1 s long, 0.25 s of CPU
    assert "took turns" in describe_turn_taking(taking_turns)
    parallel = fake_run("processes", 1.0, 4.0)
    assert "same time" in describe_turn_taking(parallel)


def test_words_when_the_machine_is_busy():
    comparison = fake_comparison(2)
    comparison.runs["serial"] = fake_run("serial", 1.0, 0.6, workers=1)
    text = describe(comparison).text
    assert "**disturbed**" in text and "other work" in text
    assert "GIL" not in text and "parallel" not in text  # no mechanism for noise


def test_sweep_words_above_what_the_cpus_allow():
    runs = {1: fake_run("threads", 1.0, 1.0), 2: fake_run("threads", 0.65, 0.65)}
    text = describe_sweep("threads", runs, 1)
    assert "best 1.5×" in text and "The run with 2 workers was **disturbed**" in text
    assert "faster than their workers and CPUs allow" in text
