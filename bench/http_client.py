"""A lean HTTP/1.1 keep-alive client for load generation.

httpx spends more CPU per request than the server under test (docs/performance.md): on a 2-core
machine the load generator would be the bottleneck. This client writes the request bytes and
reads the status line, headers and a Content-Length body; nothing else (no chunked bodies, no TLS).
"""

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


def request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_head(head: bytes) -> tuple[int, int]:
    """(status, content length) from a response head without the final blank line."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, length


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port, self.headers = host, port, headers
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> "Connection":
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def request(self, method: str, path: str, body: bytes = b"") -> Reply:
        assert self._reader and self._writer
        host = f"{self.host}:{self.port}"
        self._writer.write(request_bytes(method, path, host, self.headers, body))
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length = parse_head(head[:-4])
        return Reply(status, await self._reader.readexactly(length))
