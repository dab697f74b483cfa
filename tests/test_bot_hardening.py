"""Review findings on the Slack faces, each through bolt's real request handling or the Web API stand-in."""

from __future__ import annotations

import json

import aiosqlite
import pytest

from bot.app import build_app
from bot.post import post_run_summary
from engine.jobs import run_job
from engine.models import ActionKind, Deal
from tests.pipeline import GOOD_SCRIPT, T0, file_digest, seed, small_pipeline, snapshot
from tests.scripted_model import ScriptedModel
from tests.slack_standin import standin_on_a_thread, CHANNEL, SIGNING_SECRET, SlackStandIn, button_click, dispatch, slash_command
from tests.test_bot_post import FakeTime
from tests.test_bot_review import REVIEWER, log_rows, message_for, runs, status, posted_id, field_click

BOT_LIMITS = {"blocks": 50, "section_text": 3000, "fields": 10, "field_text": 2000, "context_elements": 10,
              "header": 150}


@pytest.fixture
def env(make_settings, slack):
    def make(**extra: str):
        return make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                             SLACK_API_URL=slack.base_url, SCOUT_SUMMARY_CHANNEL=CHANNEL,
                             SCOUT_REVIEWERS=REVIEWER, **extra)

    return make


async def posted_pass(settings, *, apply: bool, data=None, script=GOOD_SCRIPT):
    await seed(settings.workspace, data or small_pipeline())
    summary, _ = await run_job(settings, apply=apply, extractor=ScriptedModel(script).extractor())
    await post_run_summary(settings, summary.run_id, pacer=FakeTime().pacer())
    return summary


def app_for(settings, script=GOOD_SCRIPT):
    return build_app(settings, extractor=ScriptedModel(script).extractor())


def forged(message: dict, value: str) -> dict:
    """The message as Slack would hold it if its Promote/Dismiss buttons carried `value`."""
    out = json.loads(json.dumps(message))
    for block in out["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                element["value"] = value
    return out


async def suggestion_id(settings, deal_id: str, field: str) -> int:
    return next(r.id for r in await log_rows(settings, ActionKind.WRITTEN, ActionKind.WOULD_WRITE)
                if r.deal_id == deal_id and r.field == field)


# -- Promote / Dismiss: the button's value ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["not a number", "zero", "negative", "too big for SQLite", "skipped row",
                                  "unknown id", "another deal's suggestion"])
@pytest.mark.parametrize("action", ["scout_promote", "scout_dismiss"])
async def test_a_button_value_that_does_not_name_this_messages_suggestion_is_refused_politely(
        env, slack, kind, action):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    skipped = next(r.id for r in await log_rows(settings, ActionKind.SKIPPED))
    other = await suggestion_id(settings, "d5", "scout_paper_process")  # Hooli's, posted in its own message
    value = {"not a number": "12abc", "zero": "0", "negative": "-3", "too big for SQLite": "9" * 30,
             "skipped row": str(skipped), "unknown id": "987654", "another deal's suggestion": str(other)}[kind]
    message = forged(message_for(slack, "scout_competition"), value)
    crm_before, rows_before, runs_before = file_digest(settings.workspace), await log_rows(settings), await runs(settings)

    await dispatch(app_for(settings), field_click(message, "scout_competition", action, user=REVIEWER, action_ts="1790000400.000001",
                                                   response_url=slack.response_url()))

    (note,) = slack.of("chat.postEphemeral")
    assert note.args["user"] == REVIEWER
    assert note.args["text"].endswith("nothing was done.") or note.args["text"].endswith("nothing was done")
    assert "could not record" not in note.args["text"]
    assert slack.of("chat.update") == []
    assert file_digest(settings.workspace) == crm_before
    assert await log_rows(settings) == rows_before and await runs(settings) == runs_before


# -- Promote: a fault nobody planned for -----------------------------------------------------------------------


async def test_an_unexpected_fault_during_the_write_is_settled_at_once_by_asking_the_crm(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    async with aiosqlite.connect(settings.workspace) as db:  # the CRM's own storage fails on this one field
        await db.execute("CREATE TRIGGER boom BEFORE INSERT ON deal_values WHEN NEW.field = 'competition' "
                         "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        await db.commit()

    await dispatch(app_for(settings), field_click(message_for(slack, "scout_competition"), "scout_competition", "scout_promote",
                                                   user=REVIEWER, action_ts="1790000500.000001",
                                                   response_url=slack.response_url()))

    promote_run = next(r for r in await runs(settings) if r.kind == "promote")
    assert promote_run.status == "finished" and promote_run.failed == 1
    # Not a CRMError, so the CRM was read back: the value is not there, so the write failed, on record now.
    (settled,) = [r for r in await log_rows(settings, ActionKind.FAILED) if r.actor == REVIEWER]
    assert settled.status == "failed" and settled.error == "IntegrityError: disk on fire"
    assert await log_rows(settings, ActionKind.PROMOTED) == []
    (update,) = slack.of("chat.update")  # the message says so, and keeps its buttons for another try
    assert "Not written" in update.args["text"] and "disk on fire" in update.args["text"]
    assert "competition" not in (await snapshot(settings.workspace))["d1"]


# -- note text and CRM data are data ---------------------------------------------------------------------------


def _mrkdwn_sent(slack: SlackStandIn) -> str:
    """Every text Slack parses for mentions and links: top-level `text` and mrkdwn objects (not plain_text)."""
    out = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for call in slack.calls:
        if isinstance(call.args.get("text"), str):
            out.append(call.args["text"])
        walk(call.args.get("blocks"))
    return "\n".join(out)


async def test_note_text_and_deal_data_cannot_ping_or_link_from_the_channel(env, slack):
    settings = env(LIVE_WRITES="1", SCOUT_DEAL_URL="https://crm.example/deals/{id}")
    data = small_pipeline()
    data.deals = [d for d in data.deals if d.id != "d5"] + [
        Deal(id="h|<!here>", name="Hooli <!channel> <https://evil.example|Renewal>", created_at=T0, updated_at=T0,
             values={"stage": "Negotiation"})]
    note = next(n for n in data.notes if n.id == "n5")
    note.deal_id = "h|<!here>"
    note.text = "Hooli: <!channel> legal review starts next week, see <https://evil.example|the MSA> & sign."
    quote = "<!channel> legal review starts next week, see <https://evil.example|the MSA>"
    script = {"n5": [{"concept": "identified_pain", "value": quote, "note_id": "n5", "excerpt": quote}]}
    await posted_pass(settings, apply=True, data=data, script=script)
    message = message_for(slack, "scout_identified_pain")

    await dispatch(app_for(settings, script), button_click(
        message, "scout_promote", user=REVIEWER, action_ts="1790000600.000001", response_url=slack.response_url(),
        block_id=f"scout_review:{posted_id(message, 'scout_identified_pain')}"))
    await dispatch(app_for(settings, script), slash_command("hooli", slack.response_url()))

    assert status(message_for(slack, "scout_identified_pain"), "scout_identified_pain").startswith(
        ":white_check_mark: Promoted")
    sent = _mrkdwn_sent(slack)
    for raw in ("<!channel>", "<!here>", "<https://evil", "|Renewal>", "|MSA>"):
        assert raw not in sent
    assert "&lt;!channel&gt; legal review" in sent  # shown as text, not dropped


async def test_markup_in_values_and_excerpts_shows_as_written_not_as_slack_formatting(env, slack):
    settings = env(LIVE_WRITES="1")
    data = small_pipeline()
    note = next(n for n in data.notes if n.id == "n5")
    quote = "pain is *manual* _re-keying_ of `orders` and ~late~ invoices"
    note.text = f"Hooli: {quote}."
    script = {"n5": [{"concept": "identified_pain", "value": quote, "note_id": "n5", "excerpt": quote}]}
    await posted_pass(settings, apply=True, data=data, script=script)

    # Stored as text, exactly as quoted.
    assert (await snapshot(settings.workspace))["d5"]["scout_identified_pain"] == quote
    sent = _mrkdwn_sent(slack)
    for markup in ("*manual*", "_re-keying_", "`orders`", "~late~"):
        assert markup not in sent, markup
    assert "pain is ∗manual∗ ˍre-keyingˍ of ˋordersˋ and ∼late∼ invoices" in sent  # value and excerpt alike
    assert "scout_identified_pain" in sent  # an underscore inside a word cannot format and stays


# -- Block Kit limits ------------------------------------------------------------------------------------------


def assert_within_limits(blocks: list[dict]) -> None:
    assert len(blocks) <= BOT_LIMITS["blocks"]
    for b in blocks:
        if b["type"] == "header":
            assert 0 < len(b["text"]["text"]) <= BOT_LIMITS["header"]
        if b["type"] == "section":
            assert "text" in b or "fields" in b
            if "text" in b:
                assert 0 < len(b["text"]["text"]) <= BOT_LIMITS["section_text"]
            assert len(b.get("fields", [])) <= BOT_LIMITS["fields"]
            assert all(0 < len(f["text"]) <= BOT_LIMITS["field_text"] for f in b.get("fields", []))
        if b["type"] == "context":
            assert 0 < len(b["elements"]) <= BOT_LIMITS["context_elements"]
            assert all(len(e["text"]) <= BOT_LIMITS["section_text"] for e in b["elements"])
        for text in [b.get("text", {}).get("text", "")] + [f["text"] for f in b.get("fields", [])] + \
                [e.get("text", "") for e in b.get("elements", []) if isinstance(e.get("text"), str)]:
            tail = text[-6:]
            assert "&" not in tail or tail.endswith((";", "…")) or ";" in tail[tail.index("&"):], text[-20:]


async def test_long_values_and_excerpts_stay_within_block_kit_limits(env, slack):
    settings = env(SCOUT_DEAL_URL="https://crm.example/deals/{id}")
    data = small_pipeline()
    long_text = " ".join(["<Reconciliation> & <close>"] * 400)  # escaping grows it 2-4x
    acme = next(d for d in data.deals if d.id == "d1")
    acme.name = "Acme " + "<Platform> " * 40
    for field in ("metrics", "decision_criteria", "identified_pain", "champion", "paper_process", "competition"):
        acme.values[field] = long_text if field not in ("decision_criteria",) else acme.values.get(field)
    n1 = next(n for n in data.notes if n.id == "n1")
    n1.text = long_text + " " + n1.text
    script = {"n1": [{"concept": "economic_buyer", "value": "Dana Ruiz, CFO", "note_id": "n1",
                      "excerpt": " ".join(["<Reconciliation> & <close>"] * 300)}]}
    await seed(settings.workspace, data)
    await run_job(settings, apply=False, extractor=ScriptedModel(script).extractor())

    await dispatch(app_for(settings, script), slash_command("acme", slack.response_url()))
    await dispatch(app_for(settings, script), slash_command("", slack.response_url()))

    for call in slack.of("response_url"):
        assert_within_limits(call.args["blocks"])
    assert len(slack.of("response_url")) == 2


async def test_a_missing_workspace_is_a_clear_answer(env, slack):
    settings = env()  # nothing seeded: no CRM workspace, no log

    await dispatch(app_for(settings), slash_command("acme", slack.response_url()))

    (call,) = slack.of("response_url")
    assert call.args["response_type"] == "ephemeral"
    assert call.args["text"] == "Scout cannot read the CRM"
    assert "embedded workspace not found" in call.args["blocks"][0]["text"]["text"]
    assert not settings.workspace.exists() and not settings.log_db.exists()


# -- scout run --post without a channel ------------------------------------------------------------------------


def test_scout_run_post_without_a_channel_is_one_line_not_a_traceback(make_settings, capsys):
    import asyncio

    from scout_app import cli

    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SCOUT_EXTRACTOR="offline")
    asyncio.run(seed(s.workspace, small_pipeline()))

    code = cli.main(["run", "--post"])

    err = capsys.readouterr().err
    assert code != 0
    assert err.strip().splitlines() == [
        "scout: SCOUT_SUMMARY_CHANNEL is not set: the ID of the run-summary channel (e.g. C0123ABCD); invite the bot"]


def test_scout_run_post_that_slack_refuses_is_one_line_naming_slacks_error(make_settings, capsys):
    """`scout run --post` against a stand-in that does not know the channel: the pass is logged, one line says why
    nothing was posted."""
    import asyncio

    from scout_app import cli

    with standin_on_a_thread() as slack:
        slack.fail("chat.postMessage", status=200, error="channel_not_found")
        make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url,
                      SCOUT_SUMMARY_CHANNEL="C0WRONG", SCOUT_EXTRACTOR="offline")
        s = make_settings()
        asyncio.run(seed(s.workspace, small_pipeline()))

        code = cli.main(["run", "--post"])

        captured = capsys.readouterr()
        assert code != 0
        assert captured.out.startswith("DRY RUN")  # the pass ran and said so
        assert captured.err.strip().splitlines() == [
            "scout: Slack refused the run summary (chat.postMessage: channel_not_found); nothing was posted. "
            "Check SCOUT_SUMMARY_CHANNEL (a channel ID) and that the bot is in that channel."]


async def test_a_click_whose_process_died_does_not_stay_running_and_its_intent_is_reconciled(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    # A promotion that logged its intent, then its process died (no outcome, run left 'running') 20 minutes ago.
    from engine.provenance import ActionRow, ProvenanceStore

    store = await ProvenanceStore.open(settings.log_db)
    dead = await store.start_run("promote", dry_run=False, dry_run_reason=None)
    await store.log(ActionRow(run_id=dead, deal_id="d1", concept="competition", field="competition", new="Blackline",
                              action=ActionKind.PROMOTED, status="pending", dry_run=False, actor="U0GONE"))
    await store.aclose()
    async with aiosqlite.connect(settings.log_db) as db:
        await db.execute("UPDATE runs SET started_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (dead,))
        await db.execute("UPDATE actions SET created_at = '2020-01-01T00:00:00+00:00' WHERE run_id = ?", (dead,))
        await db.commit()

    await dispatch(app_for(settings), field_click(message_for(slack, "scout_identified_pain"), "scout_identified_pain", "scout_dismiss",
                                                   user=REVIEWER, action_ts="1790000700.000001",
                                                   response_url=slack.response_url()))
    await run_job(settings, apply=True, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    by_id = {r.id: r for r in await runs(settings)}
    assert by_id[dead].status == "interrupted"
    assert all(r.status != "running" for r in by_id.values())
    (settled,) = [r for r in await log_rows(settings) if r.actor == "U0GONE"]
    assert (settled.status, settled.error) == ("failed", "reconciled: the write did not land before the crash")
