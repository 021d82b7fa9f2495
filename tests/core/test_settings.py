"""helpers.core.settings: quick mode and the start method, read from the environment."""
import multiprocessing

import pytest

from helpers.core import settings


@pytest.mark.parametrize("text,expected", [("1", True), ("yes", True), ("0", False),
                                           ("", False), ("off", False), ("False", False)])
def test_quick_mode_reads_one_variable(monkeypatch, text, expected):
    monkeypatch.setenv(settings.QUICK_ENV, text)
    assert settings.quick_mode() is expected
    assert settings.default(100, 1) == (1 if expected else 100)


def test_start_method_forced_and_default(monkeypatch):
    monkeypatch.delenv(settings.START_METHOD_ENV, raising=False)
    assert settings.start_method() in multiprocessing.get_all_start_methods()
    monkeypatch.setenv(settings.START_METHOD_ENV, "spawn")
    assert settings.start_method() == "spawn"
    monkeypatch.setenv(settings.START_METHOD_ENV, "teleport")
    with pytest.raises(ValueError, match="LAB_START_METHOD"):
        settings.start_method()


def test_reading_the_start_method_does_not_fix_it(monkeypatch):
    monkeypatch.delenv(settings.START_METHOD_ENV, raising=False)
    before = multiprocessing.get_start_method(allow_none=True)
    settings.start_method()
    assert multiprocessing.get_start_method(allow_none=True) == before
