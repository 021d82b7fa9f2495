"""helpers.core.arguments: bad input is refused with the parameter's name and range."""
import pytest

from helpers.core.arguments import require_choice, require_float, require_int


@pytest.mark.parametrize("value", [-1, 11, 2.5, True, "3", None])
def test_require_int_rejects_with_name_and_range(value):
    with pytest.raises(ValueError, match=r"workers .*0.*10"):
        require_int("workers", value, 0, 10)


def test_require_int_accepts_bounds():
    assert require_int("n", 0, 0, 10) == 0 and require_int("n", 10, 0, 10) == 10


@pytest.mark.parametrize("value", [-0.1, 2.1, float("nan"), "1", False])
def test_require_float_rejects(value):
    with pytest.raises(ValueError, match="seconds"):
        require_float("seconds", value, 0, 2)


def test_require_choice_lists_options():
    with pytest.raises(ValueError, match=r"colour must be one of \['red', 'blue'\]"):
        require_choice("colour", "green", ["red", "blue"])
