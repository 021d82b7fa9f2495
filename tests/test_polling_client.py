"""tools.polling_client: kernel messages are looked for in slices, the deadline kept."""
import asyncio
import time
from queue import Empty

import pytest

from tools import polling_client
from tools.polling_client import sliced


class Channel:
    """A channel whose message is there only after ``ready_after`` seconds; it records the
    timeouts it was asked to wait."""

    def __init__(self, ready_after: float) -> None:
        self.ready_at = time.monotonic() + ready_after
        self.asked: list[float] = []

    async def get_msg(self, timeout=None):
        self.asked.append(timeout)
        if time.monotonic() >= self.ready_at:
            return {"msg": "reply"}
        await asyncio.sleep(min(timeout, max(0.0, self.ready_at - time.monotonic()) + 0.5))
        raise Empty


def test_a_long_wait_is_asked_in_slices_and_returns_the_message(monkeypatch):
    monkeypatch.setattr(polling_client, "SLICE", 0.05)
    channel = Channel(ready_after=0.12)
    got = asyncio.run(sliced(channel.get_msg)(timeout=5))
    assert got == {"msg": "reply"}
    assert len(channel.asked) >= 3 and max(channel.asked) <= 0.05


def test_the_deadline_still_holds(monkeypatch):
    monkeypatch.setattr(polling_client, "SLICE", 0.05)
    channel = Channel(ready_after=60)
    with pytest.raises(Empty):
        asyncio.run(sliced(channel.get_msg)(timeout=0.2))
    assert sum(channel.asked) <= 0.2 + 1e-6  # the slices add up to the deadline, no more
