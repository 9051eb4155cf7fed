"""A small HTTP/1.1 load generator for loopback benchmarks.

Each of `concurrency` keep-alive connections sends its next request as soon as the answer to
the last one has arrived (a closed loop), until the time is up or the requests run out.
Latency is measured from writing a request to having read its whole answer.

    python bench/load.py http://127.0.0.1:5000/api/jobs [--duration 10] [--concurrency 16]
"""
import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
REQUEST_TIMEOUT = 30.0  # seconds; a request still unanswered by then counts as an error


@dataclass(frozen=True)
class Request:
    """One request, rendered once into the bytes sent on the wire."""

    data: bytes
    expect: frozenset

    @classmethod
    def build(cls, method: str, path: str, headers: dict | None = None, body=None,
              expect=(200,), host: str = "127.0.0.1") -> "Request":
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return cls(("\r\n".join(lines) + "\r\n\r\n").encode() + payload, frozenset(expect))


@dataclass
class Result:
    latencies: list = field(default_factory=list)  # seconds, answers with an expected status
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # timeouts, dropped connections
    unexpected: list = field(default_factory=list)  # (status, start of the body), the first few
    seconds: float = 0.0  # wall time
    cpu_seconds: float = 0.0  # this process's CPU time while it ran
    exhausted: bool = False  # the requests ran out before the time did

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> bool:
        return not self.unexpected and not self.errors and self.completed > 0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency in ms below which fraction of the answers came (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def cpu_share(self) -> float:
        """How busy the generator was: 1.0 is one core for the whole run."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0


async def _read_answer(reader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    elif status in (204, 304) or status < 200:
        body = b""
    else:  # the answer ends when the server closes the connection
        return status, await reader.read(), True
    return status, body, headers.get("connection", "").lower() == "close"


async def _connection(host: str, port: int, requests, deadline: float, result: Result) -> None:
    writer = None
    try:
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:
                result.exhausted = True
                return
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            writer.write(request.data)
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, body, close = await _read_answer(reader)
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as error:
                result.errors[type(error).__name__] += 1
                writer.close()
                writer = None
                continue
            elapsed = time.perf_counter() - started
            result.statuses[status] += 1
            if status in request.expect:
                result.latencies.append(elapsed)
            elif len(result.unexpected) < 5:
                result.unexpected.append((status, body[:300].decode("utf-8", "replace")))
            if close:
                writer.close()
                writer = None
    finally:
        if writer is not None:
            writer.close()


def run(url: str, requests, duration: float, concurrency: int = 16) -> Result:
    """Send requests (an iterable of Request, shared by all connections) to url's host for at
    most duration seconds; itertools.cycle([...]) repeats them."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        raise ValueError("the load generator only targets loopback addresses")
    shared = iter(requests)
    result = Result()

    async def main():
        deadline = time.perf_counter() + duration
        await asyncio.gather(*(_connection(parts.hostname, parts.port or 80, shared, deadline, result)
                               for _ in range(concurrency)))

    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(main())
    result.seconds = time.perf_counter() - wall
    result.cpu_seconds = time.process_time() - cpu
    return result


def describe(result: Result) -> str:
    return (f"{result.per_second:.0f} req/s, p50 {result.percentile(0.5):.1f} ms, "
            f"p99 {result.percentile(0.99):.1f} ms, statuses {dict(result.statuses)}, "
            f"errors {dict(result.errors)}, generator CPU {100 * result.cpu_share:.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a loopback URL, e.g. http://127.0.0.1:5000/api/jobs")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(header.split(":", 1) for header in args.header)
    request = Request.build("GET", path or "/", {k.strip(): v.strip() for k, v in headers.items()})
    result = run(args.url, itertools.repeat(request), args.duration, args.concurrency)
    print(describe(result))
    for status, body in result.unexpected:
        print(f"unexpected {status}: {body}")
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
