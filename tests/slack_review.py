"""Helpers for tests of the Slack review face: a posted pass, its messages, the log it leaves."""

from __future__ import annotations

from bot.app import build_app
from bot.post import post_run_summary
from engine.jobs import run_job
from engine.models import ActionKind
from engine.provenance import ProvenanceStore
from tests.pipeline import GOOD_SCRIPT, seed, small_pipeline
from tests.standins.clock import FakeTime
from tests.standins.scripted_model import ScriptedModel
from tests.standins.slack_api import SlackStandIn

REVIEWER = "U0REVIEWER"


async def posted_pass(settings, *, apply: bool, data=None, script=GOOD_SCRIPT):
    """Seed, run a pass, post it: the channel as a reviewer finds it in the morning."""
    await seed(settings.workspace, data or small_pipeline())
    model = ScriptedModel(script)
    summary, _ = await run_job(settings, apply=apply, extractor=model.extractor())
    await post_run_summary(settings, summary.run_id, pacer=FakeTime().pacer())
    return summary, model


def app_for(settings, script=GOOD_SCRIPT):
    return build_app(settings, extractor=ScriptedModel(script).extractor())


def message_for(slack: SlackStandIn, field: str) -> dict:
    return next(m for m in slack.messages.values() if f": {field} = " in m["text"])


def status(message: dict) -> str | None:
    block = next((b for b in message["blocks"] if b.get("block_id") == "scout_status"), None)
    return block["elements"][0]["text"] if block else None


async def log_rows(settings, *kinds: ActionKind):
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        rows = []
        for run in reversed(await store.list_runs(100)):
            rows += [r for r in await store.actions_for_run(run.id) if not kinds or r.action in kinds]
        return rows
    finally:
        await store.aclose()


async def runs(settings):
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        return list(reversed(await store.list_runs(100)))
    finally:
        await store.aclose()
