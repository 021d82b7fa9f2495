"""Task granularity: chunks carry the same work, the sweep is correct, words follow numbers."""
import pytest

from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.core.selfcheck import STRICT_ENV
from helpers.core.words import speedup_phrase
from helpers.processes_in_depth import granularity as g
from helpers.processes_in_depth.exercises import check_crossover

BUSY = MachineLoad(others=1.0, allowed=2)  # other programs kept one of two CPUs busy
MECHANISMS = ("GIL", "interpreter", "overhead", "handing", "took turns", "in parallel",
              "releases", "Rule")


def fake(executor, wall, tasks, load=None):
    records = [TaskRecord(i, 1, 0, 0.0, wall, wall) for i in range(tasks)]
    return RunResult("count_each", executor, 2, tasks, None, None, [wall], [wall], records,
                     [0] * tasks, load)


def fake_sweep(walls, cpus=2, items=1024, serial=1.0, load=None):
    sweep = g.GranularitySweep(items, 1000, 2, "processes", cpus, fake("serial", serial, 1))
    for size, wall in walls.items():
        sweep.runs[size] = fake("processes", wall, -(-items // size), load)
    return sweep


def assert_no_mechanism(text):
    assert not [word for word in MECHANISMS if word in text], text


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
    assert seen == [[32], [8, 32], [1, 8, 32]]  # the fewest tasks first: a quick first point
    assert sweep.serial.results == [64 * 200]
    for size, run in sweep.runs.items():
        assert sum(run.results) == 64 * 200
        assert run.tasks == -(-64 // size)
    assert sweep.best() in sweep.runs and sweep.seconds_per_item() > 0


def test_a_plot_can_follow_every_repeat_from_the_serial_loop_on(no_leftover_processes):
    """The first partial result is the serial loop's first repeat, then the largest chunk's:
    a plot gets something to draw long before the thousands of one-item tasks have run."""
    seen = []
    sweep = g.sweep_chunk_sizes(64, 200, chunk_sizes=[1, 8, 32], workers=2,
                                executor="threads", repeats=2,
                                on_result=lambda s: seen.append(
                                    (len(s.serial.walls), {k: len(r.walls)
                                                           for k, r in s.runs.items()})))
    assert seen[0] == (1, {}) and seen[1] == (2, {32: 1})
    assert seen[-1] == (2, {1: 2, 8: 2, 32: 2}) and len(seen) == 1 + 3 * 2
    assert sweep.planned == (1, 8, 32) and all(len(r.walls) == 2 for r in sweep.runs.values())


def test_a_partial_sweep_plots_on_the_axis_of_every_planned_chunk():
    loop_only = g.GranularitySweep(1024, 1000, 2, "processes", 2, fake("serial", 1.0, 1),
                                   planned=(1, 16, 256))
    ax = g.plot_granularity(loop_only).axes[0]
    assert list(ax.get_xticks()) == [1, 16, 256] and ax.get_title()
    one = fake_sweep({256: 0.6})
    one.planned = (1, 16, 256)
    assert list(g.plot_granularity(one).axes[0].get_xticks()) == [1, 16, 256]


def guess_lines(fig):
    return [line for line in fig.axes[0].get_lines() if line.get_label() == "your guess"]


def test_without_a_guess_nothing_changes_and_with_one_it_is_drawn_and_compared():
    sweep = fake_sweep({1: 4.0, 16: 0.85, 256: 0.55})
    plain = g.describe_granularity(sweep).text
    assert g.describe_granularity(sweep, None).text == plain and "guess" not in plain
    assert not guess_lines(g.plot_granularity(sweep))
    text = g.describe_granularity(sweep, 64).text
    assert ("You guessed 64 items per task for the fastest chunk size; your machine measured "
            "256 items per task: more than you guessed.") in text
    assert text.replace(g.guess_sentence(64, 256, quantity="the fastest chunk size",
                                         unit=" items per task", digits=0), "") != text
    assert "close to your guess" in g.describe_granularity(sweep, 256).text
    drawn = guess_lines(g.plot_granularity(sweep, 64))
    assert len(drawn) == 1 and list(drawn[0].get_xdata()) == [64, 64]
    low, high = g.plot_granularity(sweep, 4096).axes[0].get_xlim()
    assert low < 1 and high > 4096  # a guess off the measured sizes is still in view


def test_a_guess_against_a_disturbed_sweep_is_not_settled():
    busy = fake_sweep({1: 4.0, 16: 0.9, 256: 0.55}, load=BUSY)
    text = g.describe_granularity(busy, 16).text
    assert "You guessed 16 items per task" in text and "cannot settle your guess" in text
    assert "than you guessed" not in text


@pytest.mark.parametrize("guess", [0, 0.5, g.MAX_ITEMS + 1, "64"])
def test_a_guess_out_of_range_names_the_parameter(guess):
    sweep = fake_sweep({1: 4.0, 256: 0.55})
    for call in (lambda: g.ChunkLab(items=64, iterations=100, guess=guess),
                 lambda: g.describe_granularity(sweep, guess),
                 lambda: g.plot_granularity(sweep, guess)):
        with pytest.raises(ValueError, match="guess"):
            call()


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


def test_beating_the_loop_is_what_the_words_call_faster():
    # the case: 1.17× at 256 read "only slightly faster", 1.07× at 2048 "beat"
    sweep = fake_sweep({1: 4.0, 256: 1 / 1.17, 2048: 1 / 1.07}, items=4096)
    assert sweep.crossover() is None
    assert "about as fast as" in speedup_phrase(sweep.speedup(2048), "the loop")
    text = g.describe_granularity(sweep).text
    assert "only slightly faster than the loop (1.17×)" in text
    assert "did not beat the loop" in text and "From chunks of" not in text
    assert check_crossover(None, sweep) and not check_crossover(2048, sweep)
    for size in sorted(sweep.runs):
        won = sweep.speedup(size) >= g.BEAT
        phrase = speedup_phrase(sweep.speedup(size), "the loop")
        assert won == ("faster" in phrase), (size, phrase)


def test_overhead_per_task_from_the_two_extremes():
    sweep = fake_sweep({1: 2.048, 512: 0.5}, items=1024)  # 1024 vs 2 tasks
    assert sweep.overhead_per_task() == pytest.approx((2.048 - 0.5) / 1022)


def test_words_follow_the_measurement():
    win = g.describe_granularity(fake_sweep({1: 4.0, 16: 0.85, 256: 0.55})).text
    assert "From chunks of **16**" in win and "Rule of thumb" in win
    assert "noise" not in win and "disturbed" not in win
    lose = g.describe_granularity(fake_sweep({1: 4.0, 256: 1.4})).text
    assert "No chunk size made the pool faster" in lose
    one_cpu = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.95}, cpus=1)).text
    assert "1 effective CPU" in one_cpu and "Rule" not in one_cpu
    assert "disturbed" not in one_cpu
    uneven = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.6, 512: 1.2})).text
    assert "Chunks of 256 were the fastest" in uneven and "No chunk size" not in uneven
    slight = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.85})).text
    assert "only slightly faster" in slight and "From chunks of **256**" in slight


def test_a_busy_sweep_is_disturbed_and_gives_no_rule():
    busy = fake_sweep({1: 4.0, 16: 0.9, 256: 0.55}, load=BUSY)
    text = g.describe_granularity(busy).text
    assert busy.disturbed() and "**disturbed**" in text
    assert "chunks of 1, 16 and 256 ran" in text  # one sentence for all the runs
    assert_no_mechanism(text)
    assert "disturbed" in g.plot_granularity(busy).axes[0].get_title()


def test_beyond_the_ideal_is_disturbed_on_two_cpus_and_on_one():
    above = g.describe_granularity(fake_sweep({1: 4.0, 256: 0.4})).text
    assert "2.5× faster" in above and "at most 2×" in above and "**disturbed**" in above
    assert_no_mechanism(above)
    one_cpu = fake_sweep({1: 4.0, 256: 0.8}, cpus=1)  # 1.25× on one CPU
    text = g.describe_granularity(one_cpu).text
    assert one_cpu.disturbed() and "**disturbed**" in text and "at most 1×" in text
    assert_no_mechanism(text)


def test_crossover_self_check_accepts_only_the_right_chunk():
    sweep = fake_sweep({1: 4.0, 4: 1.2, 16: 0.85, 256: 0.55})
    assert check_crossover(16, sweep)
    assert not check_crossover(4, sweep)
    assert not check_crossover(256, sweep)
    assert not check_crossover(17, sweep)
    assert not check_crossover(..., sweep)
    assert check_crossover(..., sweep).state == "unanswered"
    assert not check_crossover(None, sweep)
    never = fake_sweep({1: 4.0, 256: 1.5})
    assert check_crossover(None, never) and not check_crossover(256, never)
    assert "1.18×" in str(check_crossover(16, sweep))  # speaks from the measurement
    assert "0.83×" in str(check_crossover(4, sweep))


@pytest.mark.parametrize("sweep", [
    fake_sweep({1: 4.0, 16: 0.9, 256: 0.55}, load=BUSY),
    fake_sweep({1: 4.0, 256: 0.4}),  # beyond the ideal
    fake_sweep({1: 4.0, 256: 0.8}, cpus=1),
])
@pytest.mark.parametrize("answer", [None, 1, 16, 256])
def test_a_disturbed_sweep_neither_passes_nor_fails_an_answer(sweep, answer, monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")  # a failed check would raise here
    result = check_crossover(answer, sweep)
    assert result.inconclusive and str(result).startswith("⚠ ")
    assert "disturbed" in str(result) and repr(answer) in str(result)
    assert "✓" not in result._repr_html_()


@pytest.mark.parametrize("sweep", [
    fake_sweep({1: 4.0, 16: 0.9, 256: 0.55}, load=BUSY),  # disturbed
    fake_sweep({1: 4.0, 16: 0.85, 256: 0.55}),
])
def test_an_empty_answer_is_not_answered_even_in_strict_empty_mode(sweep, monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    monkeypatch.setenv("LAB_ANSWERS", "empty")  # anything but "not answered" would raise
    result = check_crossover(..., sweep)
    assert result.state == "unanswered" and not result.passed and not result
    assert str(result).startswith("✎ Not answered yet")
    assert "smallest_winning_chunk" in str(result)


def test_plot_has_title_units_and_the_line_that_beats_the_loop():
    fig = g.plot_granularity(fake_sweep({1: 4.0, 16: 0.9, 256: 0.55}))
    ax = fig.axes[0]
    assert ax.get_title() and "ms" in ax.get_ylabel() and "chunk" in ax.get_xlabel()
    assert "disturbed" not in ax.get_title()
    beat = [line for line in ax.get_lines() if "beats the loop" in line.get_label()]
    assert beat and beat[0].get_ydata()[0] == pytest.approx(1000 / g.BEAT)
    low, high = ax.get_ylim()
    assert low < 550 and high > 4000


def test_chunk_lab_runs_headless(no_leftover_processes):
    lab = g.ChunkLab(items=64, iterations=100, workers=2)
    lab.items.value = 48
    lab.run_button.click()
    assert lab.error is None, lab.error
    assert lab.sweep is not None and lab.sweep.items == 48
    assert lab.progress.value == lab.progress.max and lab.figure is not None
    assert "serial loop" in lab.words.value and "guess" not in lab.words.value
    assert not guess_lines(lab.figure)


def test_chunk_lab_starts_shown_and_compares_a_guess(no_leftover_processes, capsys):
    lab = g.ChunkLab(items=64, iterations=100, workers=2, guess=8)
    lab.start()  # shown first (headless: its text form), then run once
    shown = capsys.readouterr().out
    assert shown.index("ChunkLab object") < shown.index("Figure")  # the panel, then plots
    assert lab.error is None, lab.error
    assert "You guessed 8 items per task" in lab.words.value
    assert len(guess_lines(lab.figure)) == 1
    assert all(not s.continuous_update for s in (lab.items, lab.iterations, lab.workers))
    assert lab.items.max == g.MAX_ITEMS and lab.iterations.max == g.MAX_ITERATIONS


def test_check_crossover_before_the_sweep_exists_says_so():
    """Issue 20, point 6: a self-check called before its input exists answers in words."""
    result = check_crossover(64, None)
    assert not result and "no chunk-size sweep" in result.message
