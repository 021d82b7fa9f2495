"""Races counted, not timed: the paused read-modify-write loses updates, the locked one
never does, and the words about += follow what this interpreter did."""
import sys

import pytest

from helpers.core.system import gil_enabled
from helpers.shared_state import races as r


def fake(name, lost, expected=1000, seconds=0.1):
    return r.Race(name, 4, expected // 4, expected - lost, seconds)


def test_the_paused_race_loses_updates_every_time():
    for result in r.races("read, pause, write", repeats=3, threads=4, times=300):
        assert result.lost > 0 and result.actual < result.expected


@pytest.mark.parametrize("name", ["read, pause, write + lock", "+= with a lock"])
def test_the_locked_versions_never_lose(name):
    for result in r.races(name, repeats=3, threads=4, times=300):
        assert result.lost == 0 and result.actual == result.expected == 1200


def test_one_thread_has_nobody_to_race_with():
    assert r.race("read, pause, write", threads=1, times=200).lost == 0


@pytest.mark.skipif(sys.version_info < (3, 10) or not gil_enabled(),
                    reason="only with the GIL on 3.10+ is plain += uninterrupted")
def test_plain_add_loses_nothing_with_the_gil_on_310_plus():
    results = r.races("plain +=", repeats=3, threads=4, times=50_000)
    assert all(x.lost == 0 for x in results)
    assert "No update was lost" in r.describe_plain(results)


def test_words_about_plain_add_follow_the_count():
    assert "No update was lost" in r.describe_plain([fake("plain +=", 0)])
    lost = r.describe_plain([fake("plain +=", 37), fake("plain +=", 3)])
    assert "40 of 2,000 updates were lost" in lost and "No update" not in lost


def test_describe_and_plot_races():
    by = {"a": [fake("a", 0), fake("a", 0)], "b": [fake("b", 10), fake("b", 30)]}
    text = r.describe_races(by).text
    assert "**a**: lost 0 of 1,000" in text and "lost 10–30 of 1,000" in text
    fig = r.plot_races(by)
    assert fig.axes[0].get_title() and "%" in fig.axes[0].get_ylabel()
    assert "2.0× as long" in r.lock_cost([fake("p", 0, seconds=0.1)], [fake("l", 0, seconds=0.2)])


@pytest.mark.parametrize("call, name", [
    (lambda: r.race("teleport"), "increment"),
    (lambda: r.race("plain +=", threads=0), "threads"),
    (lambda: r.race("plain +=", threads=r.MAX_THREADS + 1), "threads"),
    (lambda: r.race("plain +=", times=0), "times"),
    (lambda: r.races("plain +=", repeats=0), "repeats"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_guess_self_check(monkeypatch):
    assert r.check_guesses({2: True, 1: False})
    assert not r.check_guesses({2: False, 1: False})
    assert not r.check_guesses({2: True, 1: True})
    assert not r.check_guesses({2: ..., 1: ...})
    assert not r.check_guesses([True, False])
