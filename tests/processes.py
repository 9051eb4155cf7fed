"""Real processes for the delivery tests: a redis-server of the test's own and `python worker.py`."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from tests.mailbox import free_port

ROOT = Path(__file__).resolve().parent.parent


class RedisServer:
    """A throwaway redis-server on a free port: stop, start, pause and resume it at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the delivery tests (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def pause(self):
        """Hang it: connections are accepted but nothing is answered."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)


class Worker:
    """`python worker.py` (or another command) in its own process group, as a PaaS runs it.
    A variable given as None is left out of the worker's environment."""

    def __init__(self, env: dict, command: list[str] | None = None):
        self.env = {key: value for key, value in {**os.environ, **env}.items() if value is not None}
        self.command = command or [sys.executable, "worker.py"]
        self.log = tempfile.NamedTemporaryFile(prefix="ats-worker-", suffix=".log", delete=False)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def _tree(self) -> list[int]:
        """The worker and every process under it (wherever in sessions they are)."""
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        tree = [self.process.pid]
        for pid in tree:
            tree += [child for child, parent in parents.items() if parent == pid]
        return tree

    def signal_all(self, signum):
        """Signal every process of the worker, as a PaaS does when it stops a container."""
        for pid in self._tree():
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def kill(self):
        """SIGKILL the worker and its work horse at once."""
        self.signal_all(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30):
        if self.process is not None and self.process.poll() is None:
            self.signal_all(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")
