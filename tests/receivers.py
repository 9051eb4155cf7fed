"""Real HTTP receivers for the webhook tests and benchmark: an `http.server` in a thread that
records every POST and answers as its mode (or a script of modes) says (200, 500, 410, a
redirect, or a hang)."""
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERS = {"ok": 200, "fail": 500, "hang": 200, "gone": 410, "redirect": 302}


@dataclass
class Received:
    headers: dict
    body: bytes
    at: float

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """An HTTP server in a thread that records every POST and answers as its mode says."""

    def __init__(self, mode: str = "ok", hang_seconds: float = 4.0):
        self.mode, self.hang_seconds, self.redirect_to = mode, hang_seconds, "http://127.0.0.1:9/"
        self.requests: list[Received] = []
        self.script: list[str] = []  # modes for the next requests, in order, before mode
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a sender may reuse its connection
            disable_nagle_algorithm = True  # the headers and the body, each sent at once

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(Received(dict(self.headers.items()), body, time.monotonic()))
                mode = receiver.script.pop(0) if receiver.script else receiver.mode
                if mode == "hang":
                    time.sleep(receiver.hang_seconds)
                answer = b"thanks" if mode == "ok" else b"no " * 2000  # more than is ever read
                try:
                    self.send_response(ANSWERS[mode])
                    if mode == "redirect":
                        self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
