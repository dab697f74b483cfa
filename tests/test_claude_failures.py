"""The Claude path never fails silently: cut-short and garbage replies are failed deals a user can see, a plain
pass never pays twice for a pending batch, and an unknown model's cost says "unpriced"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from engine.commands import EXIT_PARTIAL
from engine.jobs import run_job
from engine.models import ActionKind, Note
from engine.provenance import ProvenanceStore
from engine.summary import format_summary
from tests.standins.anthropic_api import message, usage_body
from tests.standins.model_server import ScriptedServer, user_text
from tests.pipeline import GOOD_SCRIPT, T0, seed, small_pipeline
from tests.standins.http_server import StandInServer


class CuttingServer(ScriptedServer):
    """Answers like ScriptedServer, except that a request carrying one of `cut`'s notes stops the way a real
    model sometimes does: at max_tokens, with a refusal, or in prose without the tool call."""

    def __init__(self, cut: dict[str, str], **kwargs: Any):
        super().__init__(GOOD_SCRIPT, **kwargs)
        self.cut = cut

    def reply_to(self, params: dict[str, Any]) -> dict[str, Any]:
        text = user_text(params)
        for note_id, stop in self.cut.items():
            if f'<<note id="{note_id}"' in text:
                content = [{"type": "text", "text": "I would rather not."}]
                return message(f"msg_cut_{self.calls}", content, stop, model=params["model"],
                               usage=usage_body(input_tokens=900, output_tokens=1024))
        return super().reply_to(params)


async def log(settings) -> tuple[list, dict[str, str]]:
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        runs = await store.list_runs(50)
        rows = [r for run in runs for r in await store.actions_for_run(run.id)]
        return rows, await store.last_scanned(dry_run=True)
    finally:
        await store.aclose()


async def test_cut_short_replies_fail_the_deal_and_it_leads_the_next_run(make_settings):
    settings = make_settings(SCOUT_CONCURRENCY="1")
    await seed(settings.workspace, small_pipeline())

    summary, _ = await run_job(settings, apply=False,
                               extractor=CuttingServer({"n3": "refusal", "n5": "end_turn"}).extractor())

    rows, scanned = await log(settings)
    failed = {r.deal_id: (r.reason, r.error) for r in rows if r.action is ActionKind.FAILED}
    assert failed == {
        "d2": ("extraction failed", "Claude gave no findings: the model refused"),
        "d5": ("extraction failed", "Claude gave no findings: the model answered without calling record_findings"),
    }
    assert not [r for r in rows if r.deal_id in ("d2", "d5") and r.action is ActionKind.DROPPED]  # not "dropped"
    assert set(scanned) == {"d1", "d3", "d4"}  # d2 and d5 are not marked scanned
    assert summary.failed == 2 and summary.usage.output_tokens >= 2 * 1024  # the cut-short tokens are counted
    assert "2 failed" in format_summary(summary).splitlines()[0]

    second, _ = await run_job(settings, apply=False, cap=2, extractor=CuttingServer({}).extractor())
    rows, scanned = await log(settings)
    assert {r.deal_id for r in rows if r.run_id == second.run_id} == {"d2", "d5"}  # they came first
    assert set(scanned) == {"d1", "d2", "d3", "d4", "d5"}


async def test_cut_short_replies_count_toward_the_halt(make_settings):
    settings = make_settings(SCOUT_CONCURRENCY="1")
    data = small_pipeline(extra_deals=6)
    for i in range(6):
        data.notes.append(Note(id=f"xn{i}", deal_id=f"x{i:03d}", created_at=T0, text="Budget owner unknown."))
    await seed(settings.workspace, data)
    everything = {n.id: "max_tokens" for n in data.notes}

    summary, _ = await run_job(settings, apply=False, extractor=CuttingServer(everything).extractor())

    rows, _ = await log(settings)
    assert [r.action for r in rows if r.deal_id != "d4"] == [ActionKind.FAILED] * 5
    assert summary.errors[0].startswith("stopped extracting after 5 failures in a row (last: Claude gave no "
                                        "findings: reply cut short at max_tokens")


async def test_a_max_tokens_reply_in_a_batch_fails_only_its_deal(make_settings):
    settings = make_settings(SCOUT_BATCH_POLL_SECONDS="0")
    await seed(settings.workspace, small_pipeline())

    summary, _ = await run_job(settings, apply=False, batch=True, extractor=CuttingServer({"n3": "max_tokens"}).extractor())

    rows, scanned = await log(settings)
    assert [(r.deal_id, r.error) for r in rows if r.action is ActionKind.FAILED] == [
        ("d2", "Claude gave no findings: reply cut short at max_tokens (1024, SCOUT_MAX_TOKENS)")]
    assert "d2" not in scanned and summary.would_write > 0


# ---- garbage behind a 200, through the CLI as a user meets it -------------------------------------------

GARBAGE = [
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "Claude sent a reply that is not a message (str "),
    ({"id": "m", "type": "message", "role": "assistant", "model": "x", "content": None, "stop_reason": "tool_use",
      "usage": {"input_tokens": 1, "output_tokens": 1}}, "Claude sent a malformed message: content"),
    ([1, 2, 3], "Claude sent a reply that is not a message (list)"),
    ({"type": "message", "content": [{"type": "tool_use"}], "stop_reason": "tool_use"},
     "Claude sent a malformed message: usage"),
]


@pytest.mark.parametrize(("body", "error"), GARBAGE)
def test_a_garbage_200_is_one_failed_deal_with_a_one_line_reason(make_settings, scout, monkeypatch, caplog, body,
                                                                error):
    settings = make_settings(SCOUT_CONCURRENCY="1", ANTHROPIC_API_KEY="sk-ant-test")
    server = CuttingServer({})
    server.queue(body, method="POST", path="/v1/messages")  # the first deal's reply; the rest answer well
    with StandInServer(server.handle) as http:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", http.url)
        asyncio.run(seed(settings.workspace, small_pipeline()))
        code, out, err = scout("run")
        _, log_out, _ = scout("log", "1", "--action", "failed")

    assert code == EXIT_PARTIAL
    # No traceback on stderr, nor logged by Scout (asyncio may log other tests' leftovers here).
    assert err == "" and not [r for r in caplog.records if r.exc_info and r.name.startswith("scout")]
    assert ", 1 failed;" in out.splitlines()[0]  # Acme failed; the other deals went on
    assert f"1 error(s), first: Acme Corp — Platform: {error}" in out
    [row] = [line for line in log_out.splitlines() if " failed " in line]
    assert "Acme Corp" in row and error in row


# ---- batches: a plain pass never pays twice ----------------------------------------------------------


class ProcessDied(BaseException):
    """Stands for the process being killed while it waits for its batch."""


async def test_a_plain_pass_collects_a_pending_batch_instead_of_paying_again(make_settings):
    from engine.extract.batch import BatchOptions
    from engine.crm.local import LocalCRM
    from engine.gate import open_gate
    from engine.runner import run_pass

    settings = make_settings(SCOUT_BATCH_POLL_SECONDS="0")
    await seed(settings.workspace, small_pipeline())
    server = ScriptedServer(GOOD_SCRIPT, polls=2)

    async def killed_while_waiting(seconds: float) -> None:
        raise ProcessDied

    store = await ProvenanceStore.open(settings.log_db)
    crm = await LocalCRM.open(settings.workspace)
    with pytest.raises(ProcessDied):
        await run_pass(crm=crm, writer=None, store=store, extractor=server.extractor(), field_map=settings.field_map,
                       gate=open_gate(False, settings), cap=50, concurrency=4,
                       batch=BatchOptions(poll_seconds=60, sleep=killed_while_waiting))
    await crm.aclose()
    await store.aclose()
    paid = server.calls

    summary, _ = await run_job(settings, apply=False, extractor=server.extractor())  # a plain pass, no --batch

    assert ("POST", "/v1/messages") not in server.routes()  # nothing extracted again at full price
    assert server.calls == paid == 4
    assert (summary.batch_id, summary.batch_resumed, summary.would_write) == ("msgbatch_0001", True, 6)
    assert summary.notices[0].startswith("Message Batch msgbatch_0001 from an interrupted batch pass was still "
                                         "pending: this pass collected it")


# ---- price -----------------------------------------------------------------------------------------------


async def test_an_unknown_model_shows_unpriced_in_the_summary_and_the_log(make_settings):
    settings = make_settings()
    await seed(settings.workspace, small_pipeline())

    summary, _ = await run_job(settings, apply=False, extractor=ScriptedServer(GOOD_SCRIPT).extractor("claude-nova-9"))

    text = format_summary(summary)
    assert summary.cost_usd is None
    assert "est. unpriced (claude-nova-9 is not in engine/extract/pricing.py)" in text and "$0.00" not in text
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    run = await store.get_run(summary.run_id)
    await store.aclose()
    assert run.cost_usd is None and "unpriced" in run.summary


def test_scout_eval_shows_unpriced_for_an_unknown_model(make_settings, scout, monkeypatch, tmp_path: Path):
    from tests.samples import write_tiny_set

    make_settings(ANTHROPIC_API_KEY="sk-ant-test", SCOUT_MODEL="claude-nova-9")
    write_tiny_set(tmp_path)
    with StandInServer(ScriptedServer({}).handle) as http:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", http.url)
        code, out, err = scout("eval", "--extractor", "claude", "--data-dir", str(tmp_path))
        _, as_json, _ = scout("eval", "--extractor", "claude", "--data-dir", str(tmp_path), "--json")

    assert code == 0, err
    assert "estimated cost unpriced (claude-nova-9 is not in engine/extract/pricing.py)" in out
    assert "estimated unpriced (claude-nova-9" in out and "$0.0000" not in out
    assert json.loads(as_json)["cost_usd"] is None
