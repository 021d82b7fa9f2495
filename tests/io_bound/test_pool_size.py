"""Part 2 · pool size: the throughput sweep, its words, plot and widget.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import pytest

from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult
from helpers.io_bound import pool_size as ps


@pytest.mark.parametrize(("call", "name"), [
    (lambda: ps.measure_throughput([], 50, 4), "workers"),
    (lambda: ps.measure_throughput([1], 0, 4), "latency_ms"),
    (lambda: ps.measure_throughput([1], 50, 4, mode="forking"), "mode"),
    (lambda: ps.PoolSizeLab(latency_ms=5), "latency_ms"),
    (lambda: ps.PoolSizeLab(max_threads=5), "max_threads"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_throughput_sweep_rates_and_ideal():
    result = ps.measure_throughput([1, 4], latency_ms=20, requests=8)
    assert sorted(result.runs) == [1, 4]
    assert all(run.tasks == 8 for run in result.runs.values())
    assert result.ideal(4) == pytest.approx(4 * result.ideal(1))
    assert result.ideal(16) == result.ideal(8)  # no more requests to overlap
    assert result.rate(4) > result.rate(1)  # waits overlap: a ratio, not a time
    assert "requests/s" in ps.describe_throughput(result)
    fig = ps.plot_throughput(result)
    assert fig.axes[0].get_xlabel() == "threads in the pool"


def test_describe_throughput_names_the_single_server_as_the_limit():
    result = ps.measure_throughput([1, 4], latency_ms=20, requests=8, mode="single")
    text = ps.describe_throughput(result)
    assert result.rate(4) < 2 * result.rate(1)  # one at a time: more threads barely help
    # On a busy machine the words say disturbed instead of explaining.
    assert "one request at a time" in text or "**disturbed**" in text


def test_pool_size_lab_runs_and_draws():
    lab = ps.PoolSizeLab(latency_ms=20, requests=4, max_threads=4)
    lab.throttle.interval = 0  # draw every partial result
    result = lab.run()
    assert result is not None and sorted(result.runs) == [1, 2, 4]
    assert not lab.run_button.disabled
    assert lab.run_button.description == "Run"
    assert lab.figure is not None
    assert lab.figure.axes[0].get_ylabel() == "throughput (requests/s)"
    shown = [tick.get_text() for tick in lab.figure.axes[0].get_xticklabels()]
    assert shown == ["1", "2", "4"]  # the last plot shows every pool size measured
    assert lab.throttle.drawn == 3  # once per pool size, as the sweep went
    assert "requests/s" in lab.words.value


# --- the words, from fakes: idle, busy, one CPU -----------------------------------------


IDLE = MachineLoad(0.0, 2)
BUSY = MachineLoad(1.9, 2)  # other programs left a tenth of a CPU


def fake(latency_s, requests, walls, cpu=0.005, server=0.005, load=IDLE, mode="threading"):
    runs = {w: RunResult("fetch", "threads", w, requests, None, None, [wall], [cpu], load=load)
            for w, wall in walls.items()}
    return ps.Throughput(latency_s, requests, mode, runs, {w: server for w in walls})


def test_words_when_every_pool_size_kept_up():
    result = fake(0.05, 16, {1: 0.85, 4: 0.21, 16: 0.055})
    text = ps.describe_throughput(result)
    assert "within 70 %" in text and "disturbed" not in text


def test_words_at_the_bend_set_the_extra_time_against_the_measured_cpu_time():
    # 16 requests at once: ideal 50 ms, measured 100 ms, 30 + 25 ms of CPU: accounts for it.
    result = fake(0.05, 16, {1: 0.85, 16: 0.1}, cpu=0.03, server=0.025)
    text = ps.describe_throughput(result)
    assert "100 ms instead of 50 ms" in text
    assert "this process used 30 ms of CPU and the server's process 25 ms" in text
    assert "no longer hides inside the waits" in text
    small = fake(0.05, 16, {1: 0.85, 16: 0.2}, cpu=0.003, server=0.002)
    assert "does not account for it" in ps.describe_throughput(small)


def test_words_on_a_busy_machine_say_disturbed_and_no_mechanism():
    result = fake(0.05, 16, {1: 0.85, 16: 0.2}, cpu=0.03, server=0.03, load=BUSY)
    text = ps.describe_throughput(result)
    assert "**disturbed**" in text and "hides" not in text and "GIL" not in text


def test_words_on_one_cpu_idle_are_not_disturbed():
    result = fake(0.05, 8, {1: 0.42, 8: 0.06}, load=MachineLoad(0.0, 1))
    assert "disturbed" not in ps.describe_throughput(result)


def test_single_server_words_name_the_server_as_the_limit():
    result = fake(0.05, 8, {1: 0.42, 4: 0.41}, mode="single")
    assert "one request at a time" in ps.describe_throughput(result)


def test_the_sweep_measures_the_server_process_cpu_time():
    result = ps.measure_throughput([1, 2], latency_ms=10, requests=4)
    assert set(result.server_cpu) == {1, 2} and all(c >= 0 for c in result.server_cpu.values())


# --- feedback at once: the largest pool first --------------------------------------------


def test_the_largest_pool_is_measured_first_and_the_result_is_in_order():
    seen = []
    result = ps.measure_throughput([1, 2, 4], latency_ms=10, requests=4,
                                   on_result=lambda runs: seen.append(list(runs)))
    assert seen == [[4], [4, 2], [4, 2, 1]]  # the quick point first, one thread last
    assert list(result.runs) == [1, 2, 4]


def test_a_partial_plot_already_shows_every_planned_pool_size():
    result = fake(0.05, 16, {16: 0.06})
    fig = ps.plot_throughput(result, planned=[1, 2, 4, 8, 16])
    shown = [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
    assert shown == ["1", "2", "4", "8", "16"]


def test_the_dropdowns_show_their_whole_description():
    lab = ps.PoolSizeLab(latency_ms=20, requests=4, max_threads=4)
    for dropdown in (lab.max_threads, lab.mode):
        assert dropdown.style.description_width == "initial"  # as wide as its text
    assert "threads" in lab.max_threads.description


# --- predict, then measure: the guess of the fastest pool size --------------------------


def test_without_a_guess_the_words_and_plot_are_unchanged():
    result = fake(0.05, 16, {1: 0.85, 4: 0.21, 16: 0.055})
    assert ps.describe_throughput(result) == ps.describe_throughput(result, None)
    assert "guessed" not in ps.describe_throughput(result)
    labels = [line.get_label() for line in ps.plot_throughput(result).axes[0].get_lines()]
    assert not any("guess" in label for label in labels)


def test_a_guess_is_drawn_and_compared_with_the_best_pool_size():
    result = fake(0.05, 16, {1: 0.85, 4: 0.21, 16: 0.055})
    text = ps.describe_throughput(result, guess=4)
    assert "You guessed 4 for the number of threads in the fastest pool" in text
    assert "measured 16: more than you guessed" in text
    assert "Your 4 threads fetched 26% as many requests per second" in text
    ax = ps.plot_throughput(result, guess=4).axes[0]
    guess_line = next(line for line in ax.get_lines() if "guess" in line.get_label())
    assert list(guess_line.get_xdata()) == [4, 4]  # vertical, at 4 threads
    assert "close to your guess" in ps.describe_throughput(result, guess=16)


def test_a_guess_on_a_disturbed_run_cannot_be_settled():
    result = fake(0.05, 16, {1: 0.85, 16: 0.2}, cpu=0.03, server=0.03, load=BUSY)
    text = ps.describe_throughput(result, guess=1)
    assert "**disturbed**, so it cannot settle your guess" in text
    assert "as many requests per second" not in text


@pytest.mark.parametrize("guess", [0, 65, "eight"])
def test_a_guess_out_of_range_names_the_parameter(guess):
    result = fake(0.05, 16, {1: 0.85, 16: 0.055})
    for call in (lambda: ps.describe_throughput(result, guess),
                 lambda: ps.plot_throughput(result, guess),
                 lambda: ps.PoolSizeLab(guess=guess)):
        with pytest.raises(ValueError, match="guess"):
            call()


def test_the_lab_draws_the_guess_and_says_how_it_compares():
    lab = ps.PoolSizeLab(latency_ms=20, requests=4, max_threads=4, guess=2)
    lab.run()
    assert "You guessed 2" in lab.words.value
    assert any("guess" in line.get_label() for line in lab.figure.axes[0].get_lines())
