"""Part 5 · the convoy effect: round trips, the switch interval, words and plot.

Counts and ratios only, never absolute wall times: the machine is shared.
"""
import os
import sys

import psutil
import pytest

from helpers.core.noise import MachineLoad
from helpers.io_bound import convoy as cv

IDLE = MachineLoad(others=0.0, allowed=2)
BUSY_ONE_CPU = MachineLoad(others=0.8, allowed=1)  # a hog took most of the only CPU


@pytest.mark.parametrize(("call", "name"), [
    (lambda: cv.convoy(-1), "cpu_threads"),
    (lambda: cv.convoy(1, switch_interval=5), "switch_interval"),
    (lambda: cv.convoy(0, round_trips=0), "round_trips"),
    (lambda: cv.EchoDevice(delay=-1), "delay"),
])
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_convoy_restores_the_switch_interval_and_counts_trips():
    original = sys.getswitchinterval()
    result = cv.convoy(1, switch_interval=0.002, round_trips=5)
    assert sys.getswitchinterval() == original
    assert len(result.round_trips) == 5
    assert result.switch_interval == pytest.approx(0.002)  # read back, not assumed
    assert all(t > 0 for t in result.round_trips)
    assert result.burn_steps >= 0 and result.seconds > 0


def test_convoy_restores_the_interval_on_error(monkeypatch):
    original = sys.getswitchinterval()

    def broken(self):
        raise OSError("no socket today")

    monkeypatch.setattr(cv.EchoDevice, "connect", broken)
    with pytest.raises(OSError):
        cv.convoy(1, switch_interval=0.002, round_trips=2)
    assert sys.getswitchinterval() == original


def test_the_echo_device_is_another_process_and_is_gone_afterwards():
    with cv.EchoDevice() as device:
        pid = device.pid
        assert pid != os.getpid() and psutil.pid_exists(pid)
        with device.connect() as sock:
            sock.sendall(b"ab")
            assert sock.recv(2) == b"ab"
    try:
        assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass


def test_measured_round_trips_grow_with_a_cpu_thread_under_the_gil():
    if not cv.gil_enabled():
        pytest.skip("the convoy needs the GIL")
    alone, busy = cv.measure_convoy((0, 1), (0.005,), round_trips=15)
    # A ratio, not a time: one CPU thread costs the I/O thread the GIL's switch interval
    # (5 ms against a round trip of about 1 ms alone) — unless other programs took the CPU.
    assert busy.median > 1.5 * alone.median or busy.disturbance()


def fake(cpu_threads, interval, seconds, load=IDLE, gil=True, steps=100):
    return cv.ConvoyResult(cpu_threads, interval, [seconds], steps if cpu_threads else 0,
                           1.0, load if cpu_threads else None, gil)


def idle_results():
    return [fake(0, 0.005, 0.001), fake(1, 0.005, 0.006), fake(2, 0.005, 0.012),
            fake(0, 0.001, 0.001), fake(1, 0.001, 0.002), fake(2, 0.001, 0.003, steps=80)]


def test_words_on_an_idle_machine_give_the_arithmetic_from_the_measurement():
    text = cv.describe_convoy(idle_results(), effective_cpus=2)
    assert "5.00 ms more, 1.0 switch intervals" in text  # (6 - 1) / 5
    assert "11.0 ms more, 2.2 switch intervals" in text
    assert "about **one switch interval**" in text and "1.0 switch intervals more" in text
    assert "own process" in text and "disturbed" not in text
    assert "4.0× faster" in text and "80% as much counting" in text


def test_words_on_a_busy_machine_say_disturbed_and_give_no_mechanism():
    results = [fake(0, 0.005, 0.001), fake(1, 0.005, 0.009, load=BUSY_ONE_CPU)]
    text = cv.describe_convoy(results, effective_cpus=1)
    assert "**disturbed**" in text
    assert "switch interval runs out" not in text and "GIL" not in text


def test_words_on_one_cpu_idle_still_explain_the_gil():
    one_cpu = MachineLoad(others=0.0, allowed=1)
    results = [fake(0, 0.005, 0.001), fake(1, 0.005, 0.006, load=one_cpu)]
    text = cv.describe_convoy(results, effective_cpus=1)
    assert "disturbed" not in text and "about **one switch interval**" in text


def test_words_without_the_gil_do_not_blame_it():
    results = [fake(0, 0.005, 0.001, gil=False), fake(1, 0.005, 0.0011, gil=False)]
    text = cv.describe_convoy(results, effective_cpus=2)
    assert "GIL is off" in text and "did not slow it down" in text
    assert "switch interval runs out" not in text


def test_no_convoy_under_the_gil_is_reported_as_unexpected_not_explained():
    results = [fake(0, 0.005, 0.001), fake(1, 0.005, 0.001)]
    text = cv.describe_convoy(results, effective_cpus=2)
    assert "run it again" in text and "switch interval runs out" not in text


def test_plot_draws_the_least_the_gil_adds():
    fig = cv.plot_convoy(idle_results())
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "alone + one switch interval (5 ms)" in labels
    no_gil = cv.plot_convoy([fake(0, 0.005, 0.001, gil=False), fake(1, 0.005, 0.001, gil=False)])
    assert "GIL off" in no_gil.axes[0].get_title()
    assert "GIL off" not in ax.get_title()


def test_measure_convoy_reports_progress_after_each_combination():
    seen = []
    results = cv.measure_convoy((0, 1), (0.005, 0.001), round_trips=3,
                                on_progress=lambda done, total: seen.append((done, total)))
    assert len(results) == 4
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
