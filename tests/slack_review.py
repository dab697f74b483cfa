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
from tests.standins.slack_api import SlackStandIn, button_click

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
    """The deal's thread message holding the suggestion for `field`."""
    return next(m for m in slack.messages.values() if "thread_ts" in m and f"{field} = " in m["text"])


def posted_id(message: dict, field: str) -> int:
    """The suggestion for `field` in a deal message: its value section, then its status line and buttons."""
    at = next(i for i, b in enumerate(message["blocks"])
              if b["type"] == "section" and f"`{field}`" in b["text"]["text"])
    return int(message["blocks"][at + 1]["block_id"].split(":")[1])


def field_click(message: dict, field: str, action: str, **kw) -> str:
    """The click on the Promote or Dismiss button of the suggestion for `field` in a deal message."""
    return button_click(message, action, block_id=f"scout_review:{posted_id(message, field)}", **kw)


def status(message: dict, field: str) -> str | None:
    sid = posted_id(message, field)
    block = next((b for b in message["blocks"] if b.get("block_id") == f"scout_status:{sid}"), None)
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
