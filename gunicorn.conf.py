"""gunicorn settings for `web` (read automatically from the working directory)."""
import ctypes
import os

from gunicorn.http.body import ChunkedReader

from ats.config import Defaults

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20  # a PaaS sends SIGTERM, then SIGKILL after about 30 s
keepalive = 5
# Request heads are bounded before the app sees them (gunicorn answers 414 or 431 itself):
# unbounded, one 50 MB request line kept a worker at 100% CPU for minutes. The longest URL
# the API takes (a 200-character search of 4-byte characters, a cursor) is under 3 KiB
# percent-encoded, so over-long parameters within 8 KiB still get the app's 422.
limit_request_line = 8190  # gunicorn's largest
limit_request_field_size = 8190  # one header: a token is under 1 KiB
limit_request_fields = 50  # a client and a platform router send about 20
preload_app = True  # one app build, shared by the forked workers
# no control socket in $HOME: nothing uses it, and servers sharing a home would share its path
control_socket_disable = True


def _return_large_blocks_to_the_system() -> None:
    """Each login's argon2 hash takes 19 MiB; glibc's sliding mmap threshold soon keeps such
    blocks in the heap for good (a worker grew from 84 to 159 MB over a login run). A fixed
    threshold of 128 KiB gives them back when freed. Inherited by the forked workers.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 128 * 1024)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: its allocator has its own policy


_return_large_blocks_to_the_system()


def pre_request(worker, req):
    """A body over the app's limit gets a 413 before it is read to its end, and gunicorn then
    drains at most 64 KiB of what is left before dropping the connection its answer said it
    would keep (a `Connection: close` from the app is not heeded): mark it to close instead."""
    limit = Defaults.MAX_CONTENT_LENGTH
    if Defaults.UPLOAD_PATHS.fullmatch(req.path):  # what ats.common.api.Request allows a file
        limit = Defaults.MAX_UPLOAD_BYTES + Defaults.UPLOAD_ENVELOPE_BYTES
    length = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), None)
    if length is not None:
        if int(length) > limit:  # gunicorn has checked it is a number
            req.force_close()
    elif isinstance(getattr(req.body, "reader", None), ChunkedReader):  # sized as it is read
        req.body = _ClosingPastLimit(req, limit)


class _ClosingPastLimit:
    """A request body that marks its connection to close once more than limit bytes are read."""

    def __init__(self, req, limit: int):
        self._req, self._body, self._limit, self._read = req, req.body, limit, 0

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            self._req.force_close()
        return data

    def read(self, size=None) -> bytes:
        return self._count(self._body.read(size))

    def readline(self, size=None) -> bytes:
        return self._count(self._body.readline(size))

    def readlines(self, size=None) -> list[bytes]:
        return [self._count(line) for line in self._body.readlines(size)]

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name):  # what gunicorn itself asks of its body (failed, getsize)
        return getattr(self._body, name)
