"""The pipeline's stage functions: fetch (blocking and async), parse."""
from __future__ import annotations

import pytest

from helpers.capstone.stages import PageInfo, fetch_page, fetch_page_async, parse_page
from helpers.core.latency_server import HTTPStatusError, LatencyServer


def test_fetch_returns_the_page_text_blocking_and_async():
    import asyncio
    with LatencyServer(latency_ms=1, payload_bytes=40, pages=3) as server:
        text = fetch_page(server.page_url(2))
        same = asyncio.run(fetch_page_async(server.page_url(2)))
        with pytest.raises(HTTPStatusError):
            fetch_page(server.url + "page/99")
        with pytest.raises(HTTPStatusError):
            asyncio.run(fetch_page_async(server.url + "page/99"))
    assert text == same and text.startswith("page 2\n") and len(text) == 40
    assert parse_page(text) == PageInfo(2, 3, 40)


def test_parse_rejects_a_page_without_its_header():
    with pytest.raises(ValueError, match="page N"):
        parse_page("no header here")


def test_fetch_refuses_urls_off_this_machine():
    with pytest.raises(ValueError, match="url"):
        fetch_page("http://example.com/page/0")
