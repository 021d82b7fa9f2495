"""Part 5 · the convoy effect: round trips, the switch interval, words and plot.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import sys

import pytest

from helpers.io_bound import convoy as cv


@pytest.mark.parametrize(("call", "name"), [
    (lambda: cv.convoy(-1), "cpu_threads"),
    (lambda: cv.convoy(1, switch_interval=5), "switch_interval"),
    (lambda: cv.convoy(0, round_trips=0), "round_trips"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_convoy_restores_the_switch_interval_and_counts_trips():
    original = sys.getswitchinterval()
    result = cv.convoy(1, switch_interval=0.002, round_trips=5)
    assert sys.getswitchinterval() == original
    assert len(result.round_trips) == 5 and result.switch_interval == 0.002
    assert all(t > 0 for t in result.round_trips)


def test_convoy_restores_the_interval_on_error(monkeypatch):
    original = sys.getswitchinterval()

    def broken(*args):
        raise OSError("no socket today")

    monkeypatch.setattr(cv.socket, "socketpair", broken)
    with pytest.raises(OSError):
        cv.convoy(1, switch_interval=0.002, round_trips=2)
    assert sys.getswitchinterval() == original


def test_convoy_words_and_plot():
    results = [cv.ConvoyResult(0, 0.005, [0.001]), cv.ConvoyResult(1, 0.005, [0.006]),
               cv.ConvoyResult(0, 0.001, [0.001]), cv.ConvoyResult(1, 0.001, [0.002])]
    text = cv.describe_convoy(results)
    assert "6.0× slower" in text and "3.0× faster" in text
    calm = [cv.ConvoyResult(0, 0.005, [0.001]), cv.ConvoyResult(1, 0.005, [0.001])]
    assert "No convoy" in cv.describe_convoy(calm)
    assert cv.plot_convoy(results).axes[0].get_yscale() == "log"
