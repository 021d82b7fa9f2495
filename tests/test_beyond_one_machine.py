"""Notebook 08's measurements and self-checks."""
import dataclasses

import pytest

from helpers import beyond_one_machine as bom
from helpers.core import memory
from helpers.core.dask_session import start_dask
from helpers.core.noise import MachineLoad
from helpers.core.workloads import count_primes


@pytest.fixture(scope="module")
def study():
    return bom.measure_overhead(2, tiny_tasks=40, large_tasks=2, repeats=1)


@pytest.fixture(scope="module")
def session():
    with start_dask(2) as running:
        yield running


def test_overhead_study_measures_every_kind(study):
    for comparison in (study.tiny, study.large):
        assert list(comparison.runs) == list(bom.OVERHEAD_KINDS)
        assert len({tuple(run.results) for run in comparison.runs.values()}) == 1
    assert study.tiny.baseline.tasks == 40 and study.tiny.baseline.size == bom.TINY_SIZE
    for kind in bom.OVERHEAD_KINDS:
        assert study.per_task_ms(kind) > 0 and study.overhead_ms(kind) >= 0
    assert study.overhead_ms("serial") == 0
    assert study.large_task_ms() > study.per_task_ms("serial")


def test_overhead_words_and_plot(study):
    text = bom.describe_overhead(study).text
    assert "ms per task" in text and "Large tasks" in text
    figure = bom.plot_overhead(study)
    for ax in figure.axes:
        assert ax.get_title() and "(" in ax.get_ylabel() and ax.get_xlabel()


def test_no_speedup_is_explained_by_the_cpu_count(study):
    one_cpu = dataclasses.replace(study.large, effective_cpus=1)
    assert "1 effective CPU" in bom.why_no_speedup(one_cpu)
    four = bom.why_no_speedup(dataclasses.replace(study.large, effective_cpus=4))
    assert "4 effective CPUs" in four and "cannot say why" in four  # no mechanism guessed


def with_large_speedup(study, speedup: float, cpus: int):
    """The study, with the process pool's large tasks ``speedup``× faster than serial."""
    large = dataclasses.replace(study.large, effective_cpus=cpus)
    fast = dataclasses.replace(large.runs["processes"], walls=[large.baseline.wall / speedup])
    return dataclasses.replace(study, large=dataclasses.replace(
        large, runs={**large.runs, "processes": fast}))


def quiet(study):
    """The study as if measured on an idle machine, every repeat alike."""
    def calm(comparison):
        return dataclasses.replace(comparison, runs={
            kind: dataclasses.replace(run, load=MachineLoad(0.0, 2), walls=[run.wall],
                                      cpus=[max(run.cpu, run.wall) if run.workers == 1
                                            else run.cpu])  # one worker: a whole CPU
            for kind, run in comparison.runs.items()})
    return dataclasses.replace(study, tiny=calm(study.tiny), large=calm(study.large))


def test_a_speedup_beyond_the_cpus_is_called_disturbed(study):
    text = bom.describe_overhead(with_large_speedup(quiet(study), 1.7, cpus=1)).text
    assert "1.7× faster" in text and "more than 1 CPU can give" in text
    assert "**disturbed**" in text  # one CPU cannot give 1.7×
    ok = with_large_speedup(quiet(study), 1.7, cpus=2)
    assert "more than" not in bom.describe_overhead(ok).text


def test_overhead_on_a_busy_machine_is_called_disturbed(study):
    busy = quiet(study)
    busy = dataclasses.replace(busy, tiny=dataclasses.replace(busy.tiny, runs={
        kind: dataclasses.replace(run, load=MachineLoad(1.6, 2))
        for kind, run in busy.tiny.runs.items()}))
    text = bom.describe_overhead(busy).text
    assert "**disturbed**" in text and "goes through the scheduler" not in text
    assert "**disturbed**" in bom.key_points(busy, bom.ScatterResult(1, 2, 0.1, 0.1), {})
    idle = bom.describe_overhead(quiet(study)).text
    assert "goes through the scheduler" in idle


def test_scatter_words_idle_and_busy():
    idle = bom.ScatterResult(8, 6, 0.5, 0.1, None, MachineLoad(0.1, 2), (0.5, 0.5, 0.5),
                             (0.1, 0.1, 0.1), workers=2)
    assert "5.0× faster" in bom.describe_scatter(idle, 2)
    busy = dataclasses.replace(idle, load=MachineLoad(1.5, 2))
    said = bom.describe_scatter(busy, 2)
    assert "**disturbed**" in said and "crossed to the workers" not in said
    spread = dataclasses.replace(idle, sent_all=(0.3, 0.5, 0.9))
    assert "**disturbed**" in bom.describe_scatter(spread, 2)


def test_finish_order_words():
    same = bom.describe_finish_order([1, 2, 3], [1, 2, 3], 2)
    assert "That is the submission order" in same
    other = bom.describe_finish_order([1, 2, 3], [2, 1, 3], 2)
    assert "Not the submission order: 2 finished before" in other


@pytest.mark.parametrize("option", [{"tiny_tasks": 5}, {"large_tasks": 0}, {"workers": 0}])
def test_overhead_rejects_bad_sizes(option):
    with pytest.raises(ValueError, match=next(iter(option))):
        bom.measure_overhead(**option)


def with_tiny_costs(study, per_item_ms: float, overhead_ms: float):
    """The quiet study with tiny tasks of ``per_item_ms`` work each, and Dask adding
    ``overhead_ms`` to every one (the process pool 0.1 ms: no speedup beyond the ideal)."""
    calm = quiet(study)
    runs = dict(calm.tiny.runs)
    for kind, per_task in (("serial", per_item_ms), ("processes", per_item_ms + 0.1),
                           ("dask", per_item_ms + overhead_ms)):
        run = runs[kind]
        wall = per_task / 1000 * run.tasks / run.workers
        runs[kind] = dataclasses.replace(run, walls=[wall], cpus=[wall * run.workers])
    return dataclasses.replace(calm, tiny=dataclasses.replace(calm.tiny, runs=runs,
                                                              effective_cpus=2))


def test_chunk_bounds_come_from_the_measurement(study):
    bounds = bom.chunk_bounds(with_tiny_costs(study, 0.5, 2.0), items=4000)
    assert bounds.per_item_ms == pytest.approx(0.5) and bounds.overhead_ms == pytest.approx(2.0)
    assert bounds.fewest == 40 and bounds.most == 4000 // (2 * bounds.workers)
    assert bounds.overhead_share(40) == pytest.approx(0.1)


def test_chunk_check_blank_wrong_and_right(study):
    shaped = with_tiny_costs(study, 0.5, 2.0)
    bounds = bom.chunk_bounds(shaped)
    empty = bom.check_chunk(..., shaped)
    assert empty.state == "unanswered" and not empty.passed and "chunk" in empty.message
    assert bom.check_chunk(bounds.fewest, shaped).passed
    assert bom.check_chunk(bounds.most, shaped).passed
    assert not bom.check_chunk(1, shaped)  # one per task: overhead 4× the work
    too_small = bom.check_chunk(bounds.fewest - 1, shaped)
    assert not too_small and "more than 10" not in too_small.message
    assert "% of the" in too_small.message
    too_large = bom.check_chunk(bounds.most + 1, shaped)
    assert not too_large and "fewer than two" in too_large.message
    assert not bom.check_chunk(bom.EXERCISE_ITEMS, shaped)  # one chunk: one worker busy
    for bad in (0, True, 2.5, "40", bom.EXERCISE_ITEMS + 1):
        assert not bom.check_chunk(bad, shaped)


def test_chunk_check_on_a_disturbed_or_impossible_measurement(study):
    shaped = with_tiny_costs(study, 0.5, 2.0)
    busy = dataclasses.replace(shaped, tiny=dataclasses.replace(shaped.tiny, runs={
        kind: dataclasses.replace(run, load=MachineLoad(1.6, 2))
        for kind, run in shaped.tiny.runs.items()}))
    said = bom.check_chunk(40, busy)  # the reasoning from the numbers is still judged
    assert said.passed and "**disturbed**" in said.message
    assert not bom.check_chunk(1, busy) and "**disturbed**" in bom.check_chunk(1, busy).message
    assert "**disturbed**" not in bom.check_chunk(40, shaped).message
    costly = with_tiny_costs(study, 0.1, 50.0)  # 5,000 per chunk needed; 1,000 at most
    said = bom.check_chunk(1000, costly)
    assert said.state == "inconclusive" and "no chunk" in said.message


def test_primes_check_blank(session):
    empty = bom.check_primes_by_limit(..., [100])
    assert empty.state == "unanswered" and not empty.passed


def test_key_points_state_this_run(study):
    shaped = with_tiny_costs(study, 0.5, 2.0)
    moved = bom.ScatterResult(8, 6, 0.5, 0.1, None, MachineLoad(0.1, 2), (0.5,) * 3,
                              (0.1,) * 3, workers=2)
    text = bom.key_points(shaped, moved, {"processes": [], "threads": [], "ports": []})
    assert text.count("\n- ") + 1 == 5 and "2.00 ms" in text and "~20 ms" in text
    assert "5.0× faster" in text and "nothing it started was left" in text
    assert "an 8 MiB array" in text
    assert "disturbed" not in text
    left = bom.key_points(shaped, moved, {"processes": [123], "threads": [], "ports": []})
    assert "still running" in left


def test_scatter_measures_both_ways(session):
    result = bom.measure_scatter(session.client, 2, tasks=3, repeats=1)
    assert result.mebibytes == 2 and result.tasks == 3
    assert result.sent_s > 0 and result.scattered_s > 0 and result.gain > 0
    assert "scattered once" in bom.describe_scatter(result)
    with pytest.raises(ValueError, match="mebibytes"):
        bom.measure_scatter(session.client, 10_000)


def test_memory_bound_scatter_refuses_what_the_machine_cannot_hold(monkeypatch):
    """Issue 20.7: 256 MiB sent with each of 64 tasks passed 8 GiB (measured), so the size
    is checked against the memory here, with the tasks, before the array exists."""
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * memory.GIB)  # a Binder
    monkeypatch.setattr(bom, "make_array", lambda size: pytest.fail("it allocated"))
    with pytest.raises(ValueError) as raised:
        bom.measure_scatter(None, 256, tasks=64)
    assert ("mebibytes must be from 1 to 15 on this machine, got 256: 256 MiB with 64 tasks "
            "would need about 32.5 GiB; this machine has 2.0 GiB available") in str(raised.value)
    assert bom.scatter_memory_needed(32, 6) < 0.5 * memory.GIB  # the notebook's: fits Binder
    assert 3 * memory.GIB < bom.scatter_memory_needed(256, 6) < 4 * memory.GIB  # measured 3.4


def test_scatter_words_follow_the_gain():
    fast = bom.ScatterResult(64, 8, sent_s=2.0, scattered_s=0.5)
    assert "4.0× faster" in bom.describe_scatter(fast)
    assert "no clear gain" in bom.describe_scatter(bom.ScatterResult(1, 8, 0.1, 0.1))


def test_primes_check_right_and_wrong(session):
    limits = [100, 200, 300]
    right = {limit: count_primes(limit) for limit in limits}
    assert bom.check_primes_by_limit(right, limits)
    futures = {limit: session.client.submit(count_primes, limit) for limit in limits}
    assert "futures" in bom.check_primes_by_limit(futures, limits).message
    assert "keys" in bom.check_primes_by_limit({0: 0, 1: 1, 2: 2}, limits).message
    assert "wrong" in bom.check_primes_by_limit({**right, 100: 0}, limits).message
    assert not bom.check_primes_by_limit([25, 46, 62], limits)
    assert not bom.check_primes_by_limit({}, limits)


def test_scatter_quotes_what_dask_said():
    said = bom.ScatterResult(64, 8, 2.0, 0.5, dask_warning="Sending large graph of size 64 MiB.")
    assert "Dask itself warned" in bom.describe_scatter(said)


def test_tiny_tasks_called_disturbed_say_why_below(study):
    """Tiny tasks 'disturbed: see below' must be followed by the why: here the pool ran tiny
    tasks faster than serial beyond what 1 CPU allows (a slow serial baseline)."""
    calm = quiet(study)
    tiny = dataclasses.replace(calm.tiny, effective_cpus=1)
    fast = dataclasses.replace(tiny.runs["processes"], walls=[tiny.baseline.wall / 1.8])
    odd = dataclasses.replace(calm, tiny=dataclasses.replace(
        tiny, runs={**tiny.runs, "processes": fast}))
    lines = bom.describe_overhead(odd).lines
    assert "(disturbed: see below)" in lines[0]
    assert any("**disturbed**" in line for line in lines[1:]), lines
