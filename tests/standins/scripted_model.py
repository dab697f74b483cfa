"""A Claude stand-in that answers like a model would: from the notes in the request, not from a queue.

Passes extract deals concurrently, so replies cannot be queued in order. Each request's notes are found by
their id in the user message and the findings scripted for those notes are returned as a `record_findings`
tool call, through the real anthropic client.
"""

from __future__ import annotations

import re
from typing import Any

import httpx2

from engine.extract.claude import ClaudeExtractor
from tests.standins.anthropic_api import AnthropicStandIn, message, usage_body

_NOTE_ID = re.compile(r'<<note id="([^"]+)"')


class ScriptedModel(AnthropicStandIn):
    def __init__(self, script: dict[str, list[dict[str, Any]]]):
        super().__init__()
        self.script = script  # note id -> tool-input findings the "model" proposes when it sees that note
        self.calls = 0

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if self.pending:  # explicit queued replies (errors) first
            return super().handle(request)
        body = super().handle(request)  # records the request; 599 since nothing is queued
        if request.url.path != "/v1/messages":
            return body
        payload = self.requests[-1].json
        text = payload["messages"][0]["content"]
        text = text if isinstance(text, str) else "".join(b.get("text", "") for b in text)
        findings = [f for note_id in _NOTE_ID.findall(text) for f in self.script.get(note_id, [])]
        self.calls += 1
        block = {"type": "tool_use", "id": f"toolu_{self.calls}", "name": "record_findings",
                 "input": {"findings": findings}}
        return httpx2.Response(200, json=message(f"msg_{self.calls}", [block], "tool_use",
                                                 model=payload["model"], usage=usage_body()))

    def extractor(self, model: str = "claude-sonnet-4-6") -> ClaudeExtractor:
        return ClaudeExtractor(self.client(max_retries=0), model=model, max_tokens=1024)
