"""A real local HTTP receiver for outbound webhooks: it keeps what it is sent and answers as told."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest


@dataclass
class Receiver:
    """A local HTTP endpoint that keeps what it is sent and answers with the statuses it is told, in turn."""

    url: str
    got: "queue.Queue[dict[str, Any]]"
    answers: list[int] = field(default_factory=list)

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.got.get(timeout=timeout)

    def quiet(self, timeout: float = 1.5) -> bool:
        try:
            extra = self.got.get(timeout=timeout)
        except queue.Empty:
            return True
        raise AssertionError(f"an unexpected delivery: {extra}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got: "queue.Queue[dict[str, Any]]" = queue.Queue()
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.put({"path": self.path, "headers": dict(self.headers), "body": body})
            status = answers.pop(0) if answers else 204
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{http.server_address[1]}/hook", got, answers)
    http.shutdown()
    http.server_close()
