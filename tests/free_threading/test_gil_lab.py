"""Notebook 07's lab widget: partial plots as results arrive, the learner's guess drawn and
compared in words (or nothing changed without one), and the notebook's key points."""
import pytest

from helpers.core.experiments import Comparison
from helpers.core.guess import GUESS_STYLE
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult, TaskRecord
from helpers.free_threading import gil_lab as gl
from helpers.free_threading import key_points as kp
from helpers.free_threading.gil_off import GIL_OFF, GIL_ON, this_python
from helpers.shared_state.races import Race

KERNEL, OFF, ON = this_python(), f"Python 3.13.5t, {GIL_OFF}", f"Python 3.13.5t, {GIL_ON}"


def run(executor, wall, cpu, workers, load=None):
    records = [TaskRecord(i, 1, i, 0.0, wall, cpu / 2) for i in range(2)]
    return RunResult("count", executor, workers, 2, 1, None, [wall], [cpu], records, [1, 1],
                     load)


def fake(wall_threads, cpu_threads, load=None):
    """Serial 1 s on one CPU, then 2 threads."""
    return Comparison({"serial": run("serial", 1.0, 1.0, 1, load),
                       "threads": run("threads", wall_threads, cpu_threads, 2, load)}, 2)


MEASURED = {KERNEL: fake(1.0, 1.0), OFF: fake(0.52, 1.9), ON: fake(1.0, 1.0)}
BUSY = MachineLoad(others=1.5, allowed=2)


def guess_lines(figure):
    return [line for line in figure.axes[0].get_lines()
            if line.get_linestyle() == ":" and line.get_label().startswith("your guess")]


def test_without_a_guess_the_plot_and_words_are_unchanged():
    assert gl.guess_words(MEASURED, None) == ""
    assert gl.gil_verdict(MEASURED, None).lines == gl.describe_gil_modes(MEASURED).lines
    assert not guess_lines(gl.plot_gil_modes(MEASURED))


def test_a_guess_is_drawn_and_compared_with_the_gil_off_speedup():
    figure = gl.plot_gil_modes(MEASURED, guess=1.8)
    (line,) = guess_lines(figure)
    assert line.get_ydata()[0] == 1.8 and line.get_color() == GUESS_STYLE["color"]
    said = gl.gil_verdict(MEASURED, 1.8).lines[-1]
    assert "You guessed 1.80×" in said and "measured 1.92×" in said and "close" in said
    assert "less than you guessed" in gl.guess_words(MEASURED, 3.0)


def test_a_disturbed_gil_off_run_cannot_settle_the_guess():
    busy = {**MEASURED, OFF: fake(0.52, 1.9, load=BUSY)}
    said = gl.guess_words(busy, 1.8)
    assert "**disturbed**" in said and "cannot settle your guess" in said


def test_with_nothing_measured_gil_off_the_guess_has_nothing_to_compare_with():
    alone = {KERNEL: fake(1.0, 1.0)}
    assert "nothing to compare with" in gl.guess_words(alone, 1.8)
    assert not guess_lines(gl.plot_gil_modes(alone, guess=1.8))


def test_a_guess_out_of_range_names_the_parameter():
    with pytest.raises(ValueError, match="guess"):
        gl.GilLab(None, "count", guess=50)
    with pytest.raises(ValueError, match="guess"):
        gl.GilLab(None, "count", guess="fast")
    assert gl.GilLab(None, "count", guess=...).guess is None


def test_a_partial_plot_keeps_every_planned_setting_in_its_place():
    half = Comparison({"serial": run("serial", 1.25, 1.25, 1)}, 2)
    figure = gl.plot_gil_modes({KERNEL: half}, [KERNEL, OFF, ON], workload="count", threads=2)
    ax = figure.axes[0]
    texts = [text.get_text() for text in ax.texts]
    assert "serial: 1.25 s\n(1 repeat)\nthreads: measuring…" in texts
    assert texts.count("waiting") == 2 and len(ax.get_xticks()) == 3
    assert "GIL off and on" in ax.get_title() and ax.get_ylabel() and ax.get_xlabel()


def test_the_lab_shows_itself_then_draws_before_the_run_ends(monkeypatch):
    lab = gl.GilLab(None, "count", guess=1.5)
    lab.throttle.interval = 0  # draw every partial result
    shown = []
    monkeypatch.setattr(lab, "show", lambda figure: shown.append(figure))
    lab.scale.value = 1
    lab.run()
    assert lab.error is None and len(shown) >= 3  # each repeat, then the whole run
    said = lab.words.value  # this kernel's GIL on: nothing ran with it off; else compared
    assert "nothing to compare with" in said or "You guessed 1.50×" in said


def test_key_points_say_what_was_measured_and_the_rules():
    races = (Race("plain +=", 4, 10, 31, 0.1), Race("plain +=", 4, 10, 40, 0.1))
    text = kp.key_points(MEASURED, races, None).data
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 6
    assert "Only with the GIL off" in bullets[0]
    assert "lost 9 of 40 updates with the GIL off here (0 with it on)" in text
    assert "RuntimeWarning" in text and "not measured" in bullets[-1]
    assert "lost" not in kp.key_points(None, None, None).data.split("\n")[0]
    none_lost = (Race("plain +=", 4, 10, 40, 0.1),) * 2
    assert "lost no update here this time" in kp.key_points(None, none_lost, None).data


def test_another_pythons_partials_are_drawn_only_while_a_cpu_is_free():
    one = Comparison({"serial": run("serial", 1.0, 1.0, 1)}, 2)
    assert gl.quiet_moment(one, repeats=3)
    assert not gl.quiet_moment(one, repeats=1)  # its last serial repeat: threads come next
    assert not gl.quiet_moment(fake(0.5, 1.0), repeats=3)  # threads running
    assert not gl.quiet_moment(Comparison(one.runs, 1), repeats=3)  # no CPU to spare
