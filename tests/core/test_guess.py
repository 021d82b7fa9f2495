"""helpers.core.guess: a guess is optional, bounded, drawn, and compared in one sentence."""
import matplotlib.pyplot as plt
import pytest

from helpers.core.guess import GUESS_STYLE, check_guess, draw_guess, guess_sentence


def test_no_guess_changes_nothing():
    assert check_guess("my_guess", None, 0, 10) is None
    assert check_guess("my_guess", ..., 0, 10) is None
    assert guess_sentence(None, 1.7, quantity="the speedup") == ""
    fig, ax = plt.subplots()
    draw_guess(ax, None)
    assert not ax.lines
    plt.close(fig)


def test_a_guess_out_of_range_names_the_parameter():
    assert check_guess("my_guess", 2, 0.1, 64) == 2.0
    for wrong in (0, 100, "two", True):
        with pytest.raises(ValueError, match="my_guess"):
            check_guess("my_guess", wrong, 0.1, 64)


def test_the_sentence_compares_the_guess_with_the_measurement():
    close = guess_sentence(1.5, 1.6, quantity="the processes' speedup")
    assert close.startswith("You guessed 1.5× for the processes' speedup") and "close" in close
    more = guess_sentence(1.2, 1.9, quantity="the speedup")
    assert "measured 1.9×: more than you guessed" in more
    less = guess_sentence(16, 4, quantity="the best pool size", unit=" threads", digits=0)
    assert "16 threads" in less and "4 threads: less than you guessed" in less


def test_a_disturbed_measurement_settles_no_guess():
    text = guess_sentence(1.5, 0.8, quantity="the speedup", disturbed=True)
    assert "**disturbed**" in text and "less than" not in text and "again" in text


def test_the_guess_is_drawn_as_a_labelled_dotted_line():
    fig, ax = plt.subplots()
    draw_guess(ax, 1.5)
    draw_guess(ax, 8, along="x", label="your guess: 8 threads")
    horizontal, vertical = ax.lines
    assert horizontal.get_ydata()[0] == 1.5 and vertical.get_xdata()[0] == 8
    assert horizontal.get_linestyle() == ":" and horizontal.get_color() == GUESS_STYLE["color"]
    assert vertical.get_label() == "your guess: 8 threads"
    plt.close(fig)
