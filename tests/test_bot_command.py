"""`/scout NAME` through bolt's real request handling, against a local Slack stand-in."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app import build_app
from engine.jobs import run_job
from tests.pipeline import GOOD_SCRIPT, file_digest, seed, small_pipeline
from tests.standins.scripted_model import ScriptedModel
from tests.standins.slack_api import SIGNING_SECRET, SlackStandIn, dispatch, signed_headers, slash_command
from tests.slack_review import app_for


@pytest.fixture
async def settings(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=slack.base_url, SCOUT_DEAL_URL="https://crm.example/deals/{id}")
    await seed(s.workspace, small_pipeline())
    return s


def ephemeral(slack: SlackStandIn) -> dict:
    (call,) = slack.of("response_url")
    assert call.args["response_type"] == "ephemeral"
    return call.args


def text_of(blocks: list[dict]) -> str:
    """Everything a user reads in the blocks, flattened."""
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out.extend(f["text"] for f in b.get("fields", []))
        out.extend(e["text"] for e in b.get("elements", []) if "text" in e and isinstance(e["text"], str))
    return "\n".join(out)


@pytest.mark.parametrize("how", ["forged", "stale", "unsigned", "other secret"])
async def test_bad_signatures_are_refused_and_nothing_reaches_slack_or_the_crm(settings, slack, how):
    app = build_app(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    body = slash_command("acme", slack.response_url())
    headers = signed_headers(body)
    if how == "forged":
        headers["x-slack-signature"] = ["v0=" + "0" * 64]
    elif how == "stale":  # signed correctly, but six minutes old: a replay
        headers = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    elif how == "unsigned":
        headers = {"content-type": ["application/x-www-form-urlencoded"]}
    else:
        headers = signed_headers(body, secret="someone-elses-secret")

    response = await dispatch(app, body, headers)

    assert response.status == 401
    assert slack.calls == []  # not even auth.test: the request was refused before anything ran


async def test_scout_shows_the_deal_side_by_side_with_suggestions_and_a_fresh_look(settings, slack):
    model = ScriptedModel(GOOD_SCRIPT)
    await run_job(settings, apply=False, extractor=model.extractor())  # a rehearsal logged suggestions
    app = build_app(settings, extractor=model.extractor())

    response = await dispatch(app, slash_command("  acme  ", slack.response_url()))

    assert response.status == 200 and response.body == ""  # ack() at once, empty: the answer comes later
    answer = ephemeral(slack)
    blocks = answer["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Acme Corp — Platform",
                                                      "emoji": True}}
    assert "Discovery · last scanned 20" in blocks[1]["elements"][0]["text"]
    assert "<https://crm.example/deals/d1|open in CRM>" in blocks[1]["elements"][0]["text"]
    eb = next(b for b in blocks if b["type"] == "section" and "rep `economic_buyer`" in b["fields"][0]["text"])
    rep_cell, scout_cell = (f["text"] for f in eb["fields"])
    assert rep_cell == "*Economic buyer* · rep `economic_buyer`\n_empty_"
    assert scout_cell == ("*Scout* · `scout_economic_buyer`\n_not written (rehearsal)_\n"
                          "> “Dana Ruiz, the CFO, holds the budget and signs off” — note of 2026-09-01")
    shown = text_of(blocks)
    assert "Fresh read now: *Dana Ruiz, CFO* — “Dana Ruiz, the CFO, holds the budget and signs off”" in shown
    assert "Fresh read now: nothing found" in shown  # e.g. champion: nothing in Acme's notes
    assert answer["text"].startswith("Acme Corp — Platform:")


async def test_scout_shows_the_reps_value_when_the_rep_filled_the_field(settings, slack):
    app = build_app(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await dispatch(app, slash_command("Globex", slack.response_url()))

    blocks = ephemeral(slack)["blocks"]
    eb = next(b for b in blocks if b["type"] == "section" and "rep `economic_buyer`" in b["fields"][0]["text"])
    assert eb["fields"][0]["text"] == "*Economic buyer* · rep `economic_buyer`\nSam Lee"
    assert "never scanned" in blocks[1]["elements"][0]["text"]


async def test_an_ambiguous_name_lists_the_best_matches(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=slack.base_url)
    await seed(s.workspace, small_pipeline(extra_deals=3))  # Extra 000, Extra 001, Extra 002
    app = build_app(s, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await dispatch(app, slash_command("extra", slack.response_url()))

    answer = ephemeral(slack)
    shown = text_of(answer["blocks"])
    assert "*extra* matches 3 deals. Which one?\n• `x000` Extra 000\n• `x001` Extra 001\n• `x002` Extra 002" in shown
    assert "…and" not in shown
    assert "Type `/scout x000` (an id from the list) or more of the name." in shown
    assert answer["text"] == "'extra' matches 3 deals"


async def test_a_name_shared_by_many_deals_says_how_many_more_and_an_id_picks_one(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=slack.base_url)
    await seed(s.workspace, small_pipeline(extra_deals=12))
    app = build_app(s, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await dispatch(app, slash_command("EXTRA", slack.response_url()))
    shown = text_of(ephemeral(slack)["blocks"])
    assert "*EXTRA* matches 12 deals. Which one?\n• `x000` Extra 000\n" in shown and "• `x004` Extra 004\n" in shown
    assert "Extra 005" not in shown and "…and 7 more" in shown

    slack.calls.clear()
    await dispatch(app, slash_command("x007", slack.response_url()))
    assert ephemeral(slack)["blocks"][0]["text"]["text"] == "Extra 007"


async def test_no_match_says_so(settings, slack):
    app = build_app(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await dispatch(app, slash_command("Zyxwv Industries", slack.response_url()))

    answer = ephemeral(slack)
    assert answer["text"] == "No deal matches 'Zyxwv Industries'"
    assert "No deal matches *Zyxwv Industries*" in text_of(answer["blocks"])


async def test_an_empty_command_shows_usage(settings, slack):
    model = ScriptedModel(GOOD_SCRIPT)
    app = build_app(settings, extractor=model.extractor())

    await dispatch(app, slash_command("   ", slack.response_url()))

    answer = ephemeral(slack)
    assert answer["text"] == "Usage: /scout DEAL NAME"
    assert text_of(answer["blocks"]).startswith("*Usage:* `/scout DEAL NAME`")
    assert model.calls == 0


async def test_note_text_cannot_ping_or_link_from_the_answer(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=slack.base_url)
    data = small_pipeline()
    note = next(n for n in data.notes if n.id == "n5")
    note.text = "Hooli: <!channel> legal review starts next week, see <https://evil.example|the MSA> & sign."
    await seed(s.workspace, data)
    script = {"n5": [{"concept": "paper_process", "value": "Legal review", "note_id": "n5",
                      "excerpt": "<!channel> legal review starts next week, see <https://evil.example|the MSA>"}]}
    app = build_app(s, extractor=ScriptedModel(script).extractor())

    await dispatch(app, slash_command("hooli", slack.response_url()))

    shown = text_of(ephemeral(slack)["blocks"])
    assert "&lt;!channel&gt; legal review starts next week, see &lt;https://evil.example|the MSA&gt;" in shown
    assert "<!channel>" not in shown and "<https://evil" not in shown


async def test_a_full_scout_round_trip_leaves_the_crm_and_the_log_byte_for_byte_unchanged(settings, slack):
    model = ScriptedModel(GOOD_SCRIPT)
    await run_job(settings, apply=False, extractor=model.extractor())
    files = [settings.workspace, settings.log_db]
    before = {p: file_digest(p) for p in files}
    app = build_app(settings, extractor=model.extractor())

    for query in ("acme", "Globex", "Hooli — Renewal", "extra", "nothing like it", ""):
        await dispatch(app, slash_command(query, slack.response_url()))

    assert len(slack.of("response_url")) == 6
    assert {p: file_digest(p) for p in files} == before
    wal = settings.log_db.with_name(settings.log_db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # SQLite's read-only WAL reader wrote no log content
    assert model.calls > 4  # the fresh extractions really ran (uncached) on top of the pass's four


async def test_the_command_is_acknowledged_before_the_slow_work_is_done(settings, slack):
    release = asyncio.Event()
    inner = ScriptedModel(GOOD_SCRIPT).extractor()

    class SlowExtractor:
        model, prompt_version = inner.model, inner.prompt_version

        async def extract(self, deal, notes, field_map):
            await release.wait()  # a slow model: nothing returns until the test says so
            return await inner.extract(deal, notes, field_map)

    app = build_app(settings, extractor=SlowExtractor())
    body = slash_command("acme", slack.response_url())
    before = asyncio.all_tasks()

    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=signed_headers(body)))

    assert response.status == 200  # acknowledged while the extraction is still waiting
    assert slack.of("response_url") == []
    release.set()
    listener = [t for t in asyncio.all_tasks() - before if not t.done()]
    await asyncio.wait(listener, timeout=15)
    assert ephemeral(slack)["blocks"][0]["text"]["text"] == "Acme Corp — Platform"


async def test_a_missing_workspace_is_a_clear_answer(env, slack):
    settings = env()  # nothing seeded: no CRM workspace, no log

    await dispatch(app_for(settings), slash_command("acme", slack.response_url()))

    (call,) = slack.of("response_url")
    assert call.args["response_type"] == "ephemeral"
    assert call.args["text"] == "Scout cannot read the CRM"
    assert "embedded workspace not found" in call.args["blocks"][0]["text"]["text"]
    assert not settings.workspace.exists() and not settings.log_db.exists()
