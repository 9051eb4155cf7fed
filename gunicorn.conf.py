"""gunicorn settings for `web` (read automatically from the working directory)."""
import ctypes
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20  # a PaaS sends SIGTERM, then SIGKILL after about 30 s
keepalive = 5
# no cap of gunicorn's own (its largest, 8190, answers long query strings with an HTML 414):
# the platform router bounds the line, and the app answers every over-long parameter with 422
limit_request_line = 0
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
