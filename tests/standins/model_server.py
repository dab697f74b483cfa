"""A local stand-in of the Messages and Message Batches endpoints, answering from each request's own text.

    server = ScriptedServer(GOOD_SCRIPT, polls=2)      # or ReadingServer(cues, context_chars=30_000)
    extractor = server.extractor()                     # a real ClaudeExtractor on a real AsyncAnthropic
    ...
    server.posted_batches()                             # what `batches.create` really sent

Both paths share `reply_to(params)`, so a batch pass and a synchronous pass meet the same "model".
A batch is answered as the API does: `POST /v1/messages/batches` returns it `in_progress`; each
`GET /v1/messages/batches/{id}` counts down `polls` before it reports `ended` with a `results_url`; the
results are JSON Lines (`{"custom_id", "result": {"type": "succeeded", "message": ...}}`, or `errored`,
`expired`, `canceled`), read by the SDK from that URL. The server's state outlives any one client, so a
"restarted process" (a new extractor) can poll a batch an earlier one submitted. Replies queued on the
base stand-in (tests/standins/anthropic_api.py) are served first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx2

from engine.extract.claude import TOOL_NAME, ClaudeExtractor
from tests.standins.anthropic_api import AnthropicStandIn, RecordedRequest, error_body, message, usage_body

_NOTE_ID = re.compile(r'<<note id="([^"]+)"')
_BATCH = re.compile(r"^/v1/messages/batches/([^/]+)$")
_RESULTS = re.compile(r"^/v1/messages/batches/([^/]+)/results$")
T0 = "2026-09-01T09:00:00Z"


class Refuse(Exception):
    """Raised by reply_to: the request is answered with this API error instead of a message."""

    def __init__(self, status: int, error_type: str, text: str):
        super().__init__(text)
        self.status, self.error_type, self.text = status, error_type, text


@dataclass
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    polls_left: int
    results: list[dict[str, Any]] = field(default_factory=list)
    gone: bool = False


def user_text(params: dict[str, Any]) -> str:
    content = params["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


class ModelServer(AnthropicStandIn):
    def __init__(self, *, polls: int = 1, fates: dict[str, str] | None = None, expire_all: bool = False,
                 first_batch: int = 1):
        super().__init__()
        self.first_batch = first_batch  # batch ids are unique per organisation: a second server must not reuse them
        self.polls = polls  # GETs answered `in_progress` before a batch ends
        self.fates = dict(fates or {})  # custom_id -> "errored" | "expired" | "canceled"
        self.expire_all = expire_all  # the batch ran past 24 h: every request expired
        self.batches: dict[str, _Batch] = {}
        self.calls = 0  # model replies produced, through either endpoint

    def reply_to(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def extractor(self, model: str = "claude-sonnet-4-6", **kwargs: Any) -> ClaudeExtractor:
        return ClaudeExtractor(self.client(max_retries=0), model=model, max_tokens=1024, **kwargs)

    # ---- what was sent --------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def posted_batches(self) -> list[list[dict[str, Any]]]:
        return [r.json["requests"] for r in self.requests if (r.method, r.path) == ("POST", "/v1/messages/batches")]

    def message_texts(self) -> list[str]:
        """The user text of every synchronous request and every batched request, in the order sent."""
        texts = []
        for r in self.requests:
            if (r.method, r.path) == ("POST", "/v1/messages"):
                texts.append(user_text(r.json))
            elif (r.method, r.path) == ("POST", "/v1/messages/batches"):
                texts.extend(user_text(item["params"]) for item in r.json["requests"])
        return texts

    # ---- the endpoints --------------------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if any(q.matches(request) for q in self._queue):
            return super().handle(request)
        body = json.loads(request.content) if request.content else None
        self.requests.append(RecordedRequest(request.method, request.url.path, request.headers, body,
                                             request.extensions.get("timeout")))
        path = request.url.path
        if (request.method, path) == ("POST", "/v1/messages"):
            try:
                return httpx2.Response(200, json=self._answer(body))
            except Refuse as exc:
                return httpx2.Response(exc.status, json=error_body(exc.error_type, exc.text),
                                       headers={"x-should-retry": "false"})
        if (request.method, path) == ("POST", "/v1/messages/batches"):
            return self._create(body["requests"])
        if request.method == "GET" and (m := _RESULTS.match(path)):
            return self._results(m.group(1))
        if request.method == "GET" and (m := _BATCH.match(path)):
            return self._status(m.group(1))
        return httpx2.Response(599, json=error_body("api_error", f"no route for {request.method} {path}"),
                               headers={"x-should-retry": "false"})

    def _answer(self, params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return self.reply_to(params)

    def _create(self, requests: list[dict[str, Any]]) -> httpx2.Response:
        number = self.first_batch + len(self.batches)
        batch = _Batch(id=f"msgbatch_{number:04d}", requests=requests, polls_left=self.polls)
        for item in requests:
            fate = "expired" if self.expire_all else self.fates.get(item["custom_id"], "succeeded")
            if fate == "succeeded":
                try:
                    result = {"type": "succeeded", "message": self._answer(item["params"])}
                except Refuse as exc:
                    result = {"type": "errored", "error": error_body(exc.error_type, exc.text, "req_batch")}
            elif fate == "errored":
                result = {"type": "errored", "error": error_body("invalid_request_error", "prompt is too long",
                                                                 "req_batch_err")}
            else:
                result = {"type": fate}
            batch.results.append({"custom_id": item["custom_id"], "result": result})
        self.batches[batch.id] = batch
        return httpx2.Response(200, json=self._batch_body(batch, ended=False))

    def _status(self, batch_id: str) -> httpx2.Response:
        batch = self.batches.get(batch_id)
        if batch is None or batch.gone:
            return httpx2.Response(404, json=error_body("not_found_error", f"batch {batch_id} not found"),
                                   headers={"request-id": "req_gone"})
        if batch.polls_left > 0:
            batch.polls_left -= 1
            return httpx2.Response(200, json=self._batch_body(batch, ended=False))
        return httpx2.Response(200, json=self._batch_body(batch, ended=True))

    def _results(self, batch_id: str) -> httpx2.Response:
        batch = self.batches[batch_id]
        lines = "\n".join(json.dumps(r) for r in batch.results) + "\n"
        return httpx2.Response(200, content=lines.encode(), headers={"content-type": "application/binary"})

    def _batch_body(self, batch: _Batch, *, ended: bool) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for r in batch.results:
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        return {
            "id": batch.id, "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": T0, "expires_at": "2026-09-02T09:00:00Z",
            "ended_at": T0 if ended else None, "archived_at": None, "cancel_initiated_at": None,
            "results_url": f"https://api.anthropic.com/v1/messages/batches/{batch.id}/results" if ended else None,
        }


def tool_reply(params: dict[str, Any], findings: list[dict[str, Any]], usage: dict[str, Any], n: int) -> dict:
    block = {"type": "tool_use", "id": f"toolu_{n}", "name": TOOL_NAME, "input": {"findings": findings}}
    return message(f"msg_{n}", [block], "tool_use", model=params["model"], usage=usage)


class ScriptedServer(ModelServer):
    """Proposes the findings scripted for each note id it sees (as tests/standins/scripted_model.py does)."""

    def __init__(self, script: dict[str, list[dict[str, Any]]], **kwargs: Any):
        super().__init__(**kwargs)
        self.script = script

    def reply_to(self, params: dict[str, Any]) -> dict[str, Any]:
        ids = dict.fromkeys(_NOTE_ID.findall(user_text(params)))
        findings = [f for note_id in ids for f in self.script.get(note_id, [])]
        return tool_reply(params, findings, usage_body(), self.calls)


class ReadingServer(ModelServer):
    """Reads: proposes a cue's finding only when the cue's whole text is inside a note block of the request,
    and refuses (400, like the API's context limit) a request whose text is longer than `context_chars`.
    Usage is one input token per 4 characters sent and 100 output tokens."""

    def __init__(self, cues: dict[str, tuple[str, Any]], context_chars: int = 30_000, **kwargs: Any):
        super().__init__(**kwargs)
        self.cues = cues  # excerpt -> (concept, value)
        self.context_chars = context_chars

    def reply_to(self, params: dict[str, Any]) -> dict[str, Any]:
        text = user_text(params)
        if len(text) > self.context_chars:
            raise Refuse(400, "invalid_request_error", f"prompt is too long: {len(text)} > {self.context_chars}")
        delim = re.search(r"delim=([0-9a-f]{16})>>", text).group(1)
        blocks = re.findall(rf'<<note id="([^"]+)"[^\n]* delim={delim}>>\n(.*?)\n<<end {delim}>>', text, re.DOTALL)
        findings = [
            {"concept": concept, "value": value, "note_id": note_id, "excerpt": excerpt}
            for excerpt, (concept, value) in self.cues.items()
            for note_id, body in blocks
            if excerpt in body
        ]
        return tool_reply(params, findings, usage_body(input_tokens=len(text) // 4, output_tokens=100), self.calls)
