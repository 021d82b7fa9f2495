"""Fixtures of notebook 07's tests: the free-threaded Python they measure in."""
import os

import pytest

from helpers.core.other_pythons import Interpreter, find_free_threaded

FOUND = find_free_threaded()  # asked once for the whole folder


@pytest.fixture
def free_threaded() -> Interpreter:
    """The free-threaded Python found here; skipped without one — except under CI=true,
    where the free-threaded path must run."""
    if FOUND is None:
        message = "no free-threaded Python: run `make free-threaded` (or set LAB_FT_PYTHON)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the free-threaded path must run")
        pytest.skip(message)
    return FOUND
