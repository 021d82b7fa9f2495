"""Task granularity: chunks carry the same work, the sweep is correct, words follow numbers."""
import pytest

from helpers.core.runner import RunResult, TaskRecord
from helpers.processes_in_depth import granularity as g
from helpers.processes_in_depth.exercises import check_crossover


def fake(executor, wall, tasks):
    records = [TaskRecord(i, 1, 0, 0.0, wall, wall) for i in range(tasks)]
    return RunResult("count_each", executor, 2, tasks, None, None, [wall], [wall], records,
                     [0] * tasks)


def fake_sweep(walls, cpus=2, items=1024, serial=1.0):
    sweep = g.GranularitySweep(items, 1000, 2, "processes", cpus, fake("serial", serial, 1))
    for size, wall in walls.items():
        sweep.runs[size] = fake("processes", wall, -(-items // size))
    return sweep


def test_split_keeps_every_item_in_order():
    items = list(range(10))
    chunks = g.split(items, 4)
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert sum(chunks, []) == items


def test_default_chunk_sizes_end_with_one_chunk_per_worker():
    assert g.default_chunk_sizes(1024, 2) == [1, 4, 16, 64, 256, 512]
    assert g.default_chunk_sizes(10, 4) == [1, 3]
    assert g.default_chunk_sizes(1, 8) == [1]


@pytest.mark.parametrize("call, name", [
    (lambda: g.sweep_chunk_sizes(0), "items"),
    (lambda: g.sweep_chunk_sizes(g.MAX_ITEMS + 1), "items"),
    (lambda: g.sweep_chunk_sizes(16, 0), "iterations"),
    (lambda: g.sweep_chunk_sizes(16, 10, workers=0), "workers"),
    (lambda: g.sweep_chunk_sizes(16, 10, chunk_sizes=[17]), "chunk size"),
    (lambda: g.sweep_chunk_sizes(16, 10, executor="serial"), "executor"),
    (lambda: g.split([1, 2], 0), "chunk_size"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("executor", ["processes", "threads"])
def test_sweep_does_the_same_work_at_every_chunk_size(executor, no_leftover_processes):
    seen = []
    sweep = g.sweep_chunk_sizes(64, 200, chunk_sizes=[1, 8, 32], workers=2, executor=executor,
                                repeats=1, on_result=lambda s: seen.append(sorted(s.runs)))
    assert seen == [[1], [1, 8], [1, 8, 32]]
    assert sweep.serial.results == [64 * 200]
    for size, run in sweep.runs.items():
        assert sum(run.results) == 64 * 200
        assert run.tasks == -(-64 // size)
    assert sweep.best() in sweep.runs and sweep.seconds_per_item() > 0


def test_progress_reaches_the_end_once_per_step():
    progress = []
    g.sweep_chunk_sizes(32, 100, chunk_sizes=[4, 16], workers=2, executor="threads", repeats=1,
                        on_progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (3000, 3000)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_crossover_needs_every_larger_chunk_to_win():
    sweep = fake_sweep({1: 4.0, 4: 0.9, 16: 1.2, 64: 0.6, 256: 0.55})
    assert sweep.crossover() == 64  # 16 lost, so 4 does not count
    assert sweep.best() == 256
    assert fake_sweep({1: 4.0, 16: 1.5}).crossover() is None
    assert fake_sweep({1: 4.0, 16: 0.99}).crossover() is None  # within noise: no win


def test_overhead_per_task_from_the_two_extremes():
    sweep = fake_sweep({1: 2.048, 512: 0.5}, items=1024)  # 1024 vs 2 tasks
    assert sweep.overhead_per_task() == pytest.approx((2.048 - 0.5) / 1022)


def test_words_follow_the_measurement():
    win = g.describe_granularity(fake_sweep({1: 4.0, 16: 0.9, 256: 0.55})).text
    assert "From chunks of **16**" in win and "Rule of thumb" in win
    lose = g.describe_granularity(fake_sweep({1: 4.0, 256: 1.4})).text
    assert "No chunk size made the pool faster" in lose
    one_cpu = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.9}, cpus=1)).text
    assert "1 effective CPU" in one_cpu and "noise" in one_cpu and "Rule" not in one_cpu
    noisy = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.6, 512: 1.2})).text
    assert "Chunks of 256 were the fastest" in noisy and "No chunk size" not in noisy
    above_ideal = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.4})).text
    assert "2.5× faster" in above_ideal and "run-to-run noise" in above_ideal
    assert "noise" not in win
    slight = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.9})).text
    assert "only slightly faster" in slight


def test_crossover_self_check_accepts_only_the_right_chunk():
    sweep = fake_sweep({1: 4.0, 4: 1.2, 16: 0.9, 256: 0.55})
    assert check_crossover(16, sweep)
    assert not check_crossover(4, sweep)
    assert not check_crossover(256, sweep)
    assert not check_crossover(17, sweep)
    assert not check_crossover(..., sweep)
    assert not check_crossover(None, sweep)
    never = fake_sweep({1: 4.0, 256: 1.5})
    assert check_crossover(None, never) and not check_crossover(256, never)


def test_plot_has_title_and_units():
    fig = g.plot_granularity(fake_sweep({1: 4.0, 16: 0.9, 256: 0.55}))
    ax = fig.axes[0]
    assert ax.get_title() and "ms" in ax.get_ylabel() and "chunk" in ax.get_xlabel()


def test_chunk_lab_runs_headless(no_leftover_processes):
    lab = g.ChunkLab(items=64, iterations=100, workers=2)
    lab.items.value = 48
    lab.run_button.click()
    assert lab.error is None, lab.error
    assert lab.sweep is not None and lab.sweep.items == 48
    assert lab.progress.value == lab.progress.max and lab.figure is not None
    assert "serial loop" in lab.words.value
    assert all(not s.continuous_update for s in (lab.items, lab.iterations, lab.workers))
    assert lab.items.max == g.MAX_ITEMS and lab.iterations.max == g.MAX_ITERATIONS
