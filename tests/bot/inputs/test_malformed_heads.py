"""A request whose head aiohttp's parser refuses gets the JSON 400 and one WARNING line."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlsplit

import pytest

from tests.bot.inputs.conftest import InputHarness

HEADS = {
    "a duplicate Content-Type": (
        b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"
    ),
    "a header line of 20,000 bytes": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n"
    ),
}


async def raw_request(url: str, head: bytes) -> tuple[int, dict[str, str], bytes]:
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(head)
        await writer.drain()
        answer = await reader.read()  # the answer closes the connection
    finally:
        writer.close()
    top, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = top.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("name", sorted(HEADS))
async def test_a_head_aiohttp_refuses_is_a_json_400_logged_once_without_traceback(
    inputs: InputHarness, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = await inputs.stored()
    status, headers, body = await raw_request(inputs.server.url, HEADS[name])
    assert status == 400, body[:300]
    assert headers["content-type"].startswith("application/json"), headers
    answer = json.loads(body)
    assert answer["error"] == "bad_request", answer
    assert answer["message"].startswith("cxbot could not read the request: "), answer
    refusals = [r for r in caplog.records if "could not read" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in refusals] == [(logging.WARNING, None)], refusals
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await inputs.stored() == before
