"""An HTTP-level stand-in for an OpenAI-compatible server, for fault injection only (500s, 429
with Retry-After, 422 on unknown fields, malformed JSON, slow answers, dropped connections).
The real-server tests use `transformers serve`; this one exists to fail on demand."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REASONING = "I look at the page."
Fault = Callable[[dict[str, Any]], "tuple[int, dict[str, str], bytes] | None"]


@dataclass
class FakeServer:
    models: list[str] = field(default_factory=lambda: ["exaone-fake"])
    refuse_fields: set[str] = field(default_factory=set)  # answered with 422 like transformers serve
    faults: list[str] = field(default_factory=list)  # one per chat request: 500, 429, context, bad-json, drop, slow
    delay: Callable[[dict[str, Any]], float] = lambda body: 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    reasoning_parser: bool = False
    # (status, body) for every request that carries response_format: a server that cannot compile
    # the schema (vLLM: 400 or 500 "Grammar error: ...", without naming the field)
    refuse_schema: tuple[int, str] | None = None
    finish_reason: str = "stop"  # "length": every answer ended at the token limit
    max_model_len: int | None = None  # the context /v1/models reports, as vLLM does
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                headers = {"Content-Type": "application/json", **(headers or {})}
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                data = [{"id": name, "object": "model", "created": 0, "owned_by": "test"} for name in fake.models]
                if fake.max_model_len is not None:
                    data = [entry | {"max_model_len": fake.max_model_len} for entry in data]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                refused = fake.refuse_fields & set(body)
                if refused:
                    detail = f"Unexpected fields in the request: {refused}"
                    self._send(422, json.dumps({"detail": detail}).encode())
                    return
                if fake.refuse_schema is not None and "response_format" in body:
                    self._send(fake.refuse_schema[0], fake.refuse_schema[1].encode())
                    return
                fault = fake.faults.pop(0) if fake.faults else None
                if fault == "500":
                    self._send(500, b'{"error": {"message": "boom"}}')
                    return
                if fault == "429":
                    self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0.2"})
                    return
                if fault == "context":  # vLLM's answer to a prompt longer than --max-model-len
                    message = "This model's maximum context length is 8192 tokens. However, you requested 15928 tokens"
                    self._send(400, json.dumps({"object": "error", "message": message, "code": 400}).encode())
                    return
                if fault == "bad-json":
                    self._send(200, b'{"choices": [ {"message": ')
                    return
                if fault == "drop":
                    self.connection.close()
                    return
                time.sleep(fake.delay(body) + (5.0 if fault == "slow" else 0.0))
                if body.get("stream"):
                    self._send(200, server_sent_events(fake.answer(body)), {"Content-Type": "text/event-stream"})
                    return
                self._send(200, json.dumps(fake.answer(body)).encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """Echo which page it saw, so tests can check order: the text of the user message."""
        text = next(part["text"] for part in body["messages"][-1]["content"] if part["type"] == "text")
        images = sum(1 for part in body["messages"][-1]["content"] if part["type"] == "image_url")
        thinking = body.get("chat_template_kwargs", {}).get("enable_thinking", True)
        message: dict[str, Any] = {"role": "assistant", "content": f"saw {images} image(s): {text}"}
        if thinking and self.reasoning_parser:
            message["reasoning_content"] = REASONING
        elif thinking:
            message["content"] = f"{REASONING}</think>\n\n{message['content']}"
        return {
            "id": f"chatcmpl-{random.randrange(10**6)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }


def server_sent_events(reply: dict[str, Any]) -> bytes:
    """A chat completion as a streamed answer: the reasoning, then the content in two pieces, the
    finish reason, and the usage in a last chunk (what `stream_options.include_usage` asks for)."""
    choice = reply["choices"][0]
    message = choice["message"]
    head = {key: reply[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    content = message.get("content") or ""
    deltas = [{"reasoning_content": message["reasoning_content"]}] if message.get("reasoning_content") else []
    deltas += [{"content": content[: len(content) // 2]}, {"content": content[len(content) // 2 :]}]
    chunks = [{**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]})
    chunks.append({**head, "choices": [], "usage": reply["usage"]})
    return b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks) + b"data: [DONE]\n\n"


if __name__ == "__main__":  # a stand-in server for scripts/install_check.sh: prints its URL, serves until killed
    with FakeServer() as fake:
        print(fake.url, flush=True)
        threading.Event().wait()
