"""A local stand-in for the Anthropic API, served through the real SDK's own HTTP seam.

    standin = AnthropicStandIn()
    standin.queue_tool_use("record_findings", {"findings": []})
    client = standin.client(max_retries=0)          # a real anthropic.AsyncAnthropic
    ...
    standin.requests[0].json["tool_choice"]         # what the SDK actually sent

Responses are served in the order they were queued; a response may be tied to a route (method and path)
so that, e.g., batch tests can queue `POST /v1/messages/batches` and `GET /v1/messages/batches/...`
answers side by side. A request with no matching queued response fails the test loudly (HTTP 599 with
`x-should-retry: false`, so the SDK does not retry it and the message names the request).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2

# Retry headers that make the SDK retry at once: it ignores `retry-after: 0` (falls back to its 0.5 s
# exponential backoff) but honours any positive value, and `retry-after-ms` is read before `retry-after`.
NO_WAIT = {"retry-after-ms": "1"}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: httpx2.Headers
    json: Any
    timeout: dict[str, float] | None = None  # the client's per-request timeouts (connect, read, write, pool)


@dataclass
class _Queued:
    status: int
    body: Any
    headers: dict[str, str]
    method: str | None
    path: str | None

    def matches(self, request: httpx2.Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or request.url.path == self.path


@dataclass
class AnthropicStandIn:
    requests: list[RecordedRequest] = field(default_factory=list)
    _queue: deque[_Queued] = field(default_factory=deque)
    _ids: int = 0

    # ---- the seam -------------------------------------------------------------------------------------

    def client(self, max_retries: int = 0, **kwargs: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key="sk-ant-test", max_retries=max_retries, http_client=self.http_client(), **kwargs
        )

    def http_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(RecordedRequest(request.method, request.url.path, request.headers, body,
                                             request.extensions.get("timeout")))
        for queued in self._queue:
            if queued.matches(request):
                self._queue.remove(queued)
                reply = queued.body
                if isinstance(reply, bytes):  # a raw body, e.g. a proxy's HTML error page served with 200
                    return httpx2.Response(queued.status, content=reply, headers=queued.headers)
                if isinstance(reply, dict) and reply.get("type") == "message" and reply.get("model") is None:
                    reply = {**reply, "model": (body or {}).get("model")}  # the API echoes the model asked for
                return httpx2.Response(queued.status, json=reply, headers=queued.headers)
        return httpx2.Response(
            599,
            json=error_body("api_error", f"stand-in has no queued response for {request.method} {request.url.path}"),
            headers={"x-should-retry": "false"},
        )

    # ---- queueing -------------------------------------------------------------------------------------

    def queue(
        self,
        body: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self._queue.append(_Queued(status, body, dict(headers or {}), method, path))

    def queue_message(
        self,
        content: list[dict[str, Any]],
        stop_reason: str,
        *,
        model: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        self._ids += 1
        self.queue(message(f"msg_standin_{self._ids:04d}", content, stop_reason, model=model, usage=usage),
                   method="POST", path="/v1/messages")

    def queue_tool_use(
        self,
        name: str,
        tool_input: Any,
        *,
        model: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        self._ids += 1
        block = {"type": "tool_use", "id": f"toolu_standin_{self._ids:04d}", "name": name, "input": tool_input}
        self.queue_message([block], "tool_use", model=model, usage=usage)

    def queue_error(
        self,
        status: int,
        error_type: str,
        message_text: str,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        for _ in range(times):
            self._ids += 1
            request_id = f"req_standin_{self._ids:04d}"
            # The API names the failing request in a `request-id` header (the SDK reads it from there).
            self.queue(error_body(error_type, message_text, request_id), status,
                       {"request-id": request_id, **(headers or {})}, method=method, path=path)

    @property
    def pending(self) -> int:
        return len(self._queue)


# ---- payload shapes (as the Messages API returns them) ----------------------------------------------------


def usage_body(
    input_tokens: int = 1200,
    output_tokens: int = 180,
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_creation_input_tokens,
        "cache_read_input_tokens": cache_read_input_tokens,
        "cache_creation": {"ephemeral_5m_input_tokens": cache_creation_input_tokens, "ephemeral_1h_input_tokens": 0},
        "service_tier": "standard",
    }


def message(
    message_id: str,
    content: list[dict[str, Any]],
    stop_reason: str,
    *,
    model: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage if usage is not None else usage_body(),
    }


def error_body(error_type: str, message_text: str, request_id: str = "req_standin") -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message_text}, "request_id": request_id}
