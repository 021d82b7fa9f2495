"""nbclient's ``NotebookClient``, made to look for kernel messages at least once a second.

Seen here (nbclient 0.11, jupyter_client 8, pyzmq, ipykernel 7): now and then, after a cell
whose widgets updated while it ran (notebook 08's lab, with Dask's threads in the kernel),
nbclient waited for that cell's execute reply until the cell's whole timeout was over, then
went on as if nothing had happened: the kernel had sent the reply at once (its timestamp
says so). Most likely the asyncio poll of the shell socket missed the wake-up: pyzmq's poll
looks at the socket once more when its timeout ends, which would explain why the run then
carried on (not proven: the stall comes about once in a few runs). Polling in slices of
:data:`SLICE` seconds bounds such a missed wake-up to one slice. JupyterLab does not use nbclient: learners are not
affected; our tests and ``make bench`` are (a 300 s cell timeout became a 322 s notebook).
"""
from __future__ import annotations

import time
from queue import Empty
from typing import Any

from nbclient import NotebookClient

SLICE = 1.0  # s: the longest a missed wake-up can delay a message


def sliced(get_msg: Any) -> Any:
    """``get_msg(timeout)`` that polls in slices of :data:`SLICE`, the same deadline."""
    async def get_msg_in_slices(timeout: float | None = None, **kwargs: Any) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SLICE if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=min(SLICE, left), **kwargs)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


class PollingNotebookClient(NotebookClient):
    """A ``NotebookClient`` whose shell and iopub channels are polled in slices."""

    async def async_start_new_kernel_client(self) -> Any:
        client = await super().async_start_new_kernel_client()
        for channel in (client.shell_channel, client.iopub_channel):
            channel.get_msg = sliced(channel.get_msg)
        return client
