"""The key points: results written from the measurements, disturbed ones called so.

Fakes only: the words are what is tested, not the machine.
"""
from helpers.core.noise import MachineLoad
from helpers.core.runner import RunResult
from helpers.io_bound import key_points as kp
from helpers.io_bound.convoy import ConvoyResult, describe_convoy
from helpers.io_bound.scraping import describe_scrape
from helpers.io_bound.waiting import WaitResult

IDLE = MachineLoad(0.0, 2)
BUSY = MachineLoad(1.9, 2)  # other programs left a tenth of a CPU


def scrape(load=IDLE, threads_wall=0.35, cpu=0.05):
    def run(executor, workers, wall):
        return RunResult("fetch", executor, workers, 50, None, None, [wall], [cpu], load=load)
    return {"serial": run("serial", 1, 2.6), "threads": run("threads", 8, threads_wall)}


def waits(load=IDLE):
    return [WaitResult("event", 500, 0.5, 0.002, load), WaitResult("queue", 500, 0.5, 0.002, load),
            WaitResult("spin", 1, 0.5, 0.49, load)]


def convoy(busy_ms=6.0, gil=True, load=IDLE, more=1.5):
    return [ConvoyResult(n, 0.005, [ms / 1000] * 5, 10, 0.5, load, gil)
            for n, ms in ((0, 1.1), (1, busy_ms), (2, busy_ms * more))]


def test_the_key_points_state_what_was_measured():
    text = kp.key_points(scrape(), 0.05, waits(), convoy())
    lines = text.splitlines()
    assert 3 <= len(lines) <= 6 and all(line.startswith("- ") for line in lines)
    assert "8 threads fetched 50 pages in 0.35 s, 7.4× faster than one page after another" in text
    assert ("500 threads waiting on an Event for 0.50 s used 2.0 ms of CPU between them, "
            "one spinning thread 490 ms in 0.50 s") in text
    assert "2 CPU-bound threads made the I/O thread's round trip 8.2× longer" in text
    assert "disturbed" not in text


def test_a_disturbed_measurement_is_called_disturbed_as_under_its_section():
    runs = scrape(load=BUSY, cpu=0.3)  # needed 0.9 CPUs, had 0.1
    assert "**disturbed**" in describe_scrape(runs, 0.05)
    assert kp.scrape_point(runs, 0.05).startswith("The scrape (§1) was **disturbed**")
    point = kp.waiting_point(waits(load=BUSY))  # only spinning wants a CPU
    assert "used 2.0 ms of CPU" in point
    assert "spinning thread's measurement was **disturbed**" in point
    busy_convoy = convoy(load=BUSY)
    assert "**disturbed**" in describe_convoy(busy_convoy)
    point = kp.convoy_point(busy_convoy)
    assert "**disturbed**" in point and "GIL" not in point


def test_the_convoy_point_agrees_with_the_section_when_nothing_slowed_down():
    flat = convoy(busy_ms=1.1, more=1)
    assert "did not slow" in describe_convoy(flat) and "did not slow" in kp.convoy_point(flat)
    no_gil = convoy(busy_ms=1.1, gil=False, more=1)
    assert "GIL is off" in kp.convoy_point(no_gil) and "did not slow" in kp.convoy_point(no_gil)
    assert "sharing the CPUs" in kp.convoy_point(convoy(gil=False))
