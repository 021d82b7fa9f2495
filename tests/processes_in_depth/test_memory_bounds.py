"""Issue 20, point 7: memory bounds of :func:`measure_data_movement`.

512 MiB peaked at 2.6 GiB of summed RSS (Binder has 2 GB): the size is bounded by the
memory this machine has, and every argument is checked before the array is made.
Available memory is injected; nothing here allocates much.
"""
from __future__ import annotations

import pytest

from helpers.core import memory
from helpers.core.memory import GIB
from helpers.processes_in_depth import data_movement as dm


def test_data_movement_size_is_bounded_by_available_memory():
    assert 2.5 * GIB < dm.memory_needed(512) < 2.8 * GIB  # measured: 2.56 GiB beyond the kernel
    assert dm.check_mebibytes(512, available=3 * GIB) == 512
    with pytest.raises(ValueError) as raised:
        dm.check_mebibytes(512, available=int(1.9 * GIB))
    message = str(raised.value)
    for words in ("mebibytes must be from 1 to 376 on this machine", "got 512",
                  "512 MiB would need about 2.6 GiB", "1.9 GiB available"):
        assert words in message


@pytest.mark.parametrize("call, name", [
    ({"mebibytes": 512}, "mebibytes"),  # too big for the (injected) 1 GiB
    ({"mebibytes": 2, "repeats": 0}, "repeats"),
    ({"mebibytes": dm.MAX_MEBIBYTES + 1}, "mebibytes"),
])
def test_data_movement_checks_every_argument_before_allocating(monkeypatch, call, name):
    monkeypatch.setattr(memory, "available_memory", lambda: GIB)
    monkeypatch.setattr(dm, "make_array", lambda size: pytest.fail("allocated first"))
    with pytest.raises(ValueError, match=name):
        dm.measure_data_movement(**call)
