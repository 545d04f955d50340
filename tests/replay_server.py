"""An OpenAI-compatible stand-in that answers with recorded bodies, byte for byte.

For the answers real servers sent that broke exaone (tests/cases/: a lone surrogate, an error with
HTTP 200, empty choices, content parts, ...): each chat request gets the body `pick` chooses for
it, sent exactly as recorded, so JSON escapes such as a lone `\\ud83d` reach the client as the
server wrote them. A streamed request gets the same answer as server-sent events (one chunk with
the message, then the finish reason), its strings re-escaped by `json.dumps` (ASCII escapes, so
a lone surrogate stays an escape); a body that already is events (`data: ...`) is sent as it is.
tests/fake_openai.py is the fault injector for HTTP failures.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CASES = Path(__file__).parent / "cases"


def case(name: str) -> bytes:
    """A recorded body from tests/cases/ (copied from the shared re-creations of bug reports)."""
    return (CASES / name).read_bytes()


def image_width(body: dict[str, Any]) -> int:
    """The pixel width of the first image of a chat request (tests tell pages apart by it)."""
    from PIL import Image

    part = next(p for p in body["messages"][0]["content"] if p["type"] == "image_url")
    data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    return int(Image.open(io.BytesIO(data)).width)


class ReplayServer:
    """`with ReplayServer(pick) as server:` serves at `server.url`; `pick(request body) -> bytes`."""

    def __init__(self, pick: Callable[[dict[str, Any]], bytes], model: str = "fake-exaone") -> None:
        self.pick = pick
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ReplayServer:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, body: bytes, kind: str = "application/json") -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                model = {"id": replay.model, "object": "model", "created": 0, "owned_by": "test"}
                self._send(json.dumps({"object": "list", "data": [model]}).encode())

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                replay.requests.append(request)
                body = replay.pick(request)
                if request.get("stream"):
                    self._send(body if body.startswith(b"data:") else _as_events(body), "text/event-stream")
                else:
                    self._send(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def _as_events(body: bytes) -> bytes:
    """A recorded answer as a stream: the message as one delta, then its finish reason."""
    answer = json.loads(body)
    events = []
    if "choices" not in answer:  # an error body: streamed as it is
        events.append(answer)
    for choice in answer.get("choices") or []:
        delta = {k: v for k, v in choice.get("message", {}).items() if k != "role"}
        events.append({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}]})
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()
