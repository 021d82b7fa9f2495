import multiprocessing

import pytest

from helpers.core import settings as config
from helpers.core.arguments import require_choice, require_float, require_int


@pytest.mark.parametrize("value", [-1, 11, 2.5, True, "3", None])
def test_check_int_rejects_with_name_and_range(value):
    with pytest.raises(ValueError, match=r"workers .*0.*10"):
        require_int("workers", value, 0, 10)


def test_check_int_accepts_bounds():
    assert require_int("n", 0, 0, 10) == 0 and require_int("n", 10, 0, 10) == 10


@pytest.mark.parametrize("value", [-0.1, 2.1, float("nan"), "1", False])
def test_check_float_rejects(value):
    with pytest.raises(ValueError, match="seconds"):
        require_float("seconds", value, 0, 2)


def test_check_choice_lists_options():
    with pytest.raises(ValueError, match=r"colour must be one of \['red', 'blue'\]"):
        require_choice("colour", "green", ["red", "blue"])


@pytest.mark.parametrize("text,expected", [("1", True), ("yes", True), ("0", False),
                                           ("", False), ("off", False), ("False", False)])
def test_quick_mode_reads_one_variable(monkeypatch, text, expected):
    monkeypatch.setenv(config.QUICK_ENV, text)
    assert config.quick_mode() is expected
    assert config.default(100, 1) == (1 if expected else 100)


def test_start_method_forced_and_default(monkeypatch):
    monkeypatch.delenv(config.START_METHOD_ENV, raising=False)
    assert config.start_method() in multiprocessing.get_all_start_methods()
    monkeypatch.setenv(config.START_METHOD_ENV, "spawn")
    assert config.start_method() == "spawn"
    monkeypatch.setenv(config.START_METHOD_ENV, "teleport")
    with pytest.raises(ValueError, match="LAB_START_METHOD"):
        config.start_method()


def test_reading_the_start_method_does_not_fix_it(monkeypatch):
    monkeypatch.delenv(config.START_METHOD_ENV, raising=False)
    before = multiprocessing.get_start_method(allow_none=True)
    config.start_method()
    assert multiprocessing.get_start_method(allow_none=True) == before
