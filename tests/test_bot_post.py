"""The run summary and its threaded suggestions, as the run-summary channel shows them."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import MissingSetting, web_client
from bot.post import post_run_summary
from engine.jobs import run_job
from engine.models import Deal
from tests.pipeline import GOOD_SCRIPT, T0, seed, small_pipeline, snapshot
from tests.slack_review import REVIEWER, app_for, posted_pass, status
from tests.standins.clock import FakeTime
from tests.standins.scripted_model import ScriptedModel
from tests.standins.slack_api import (CHANNEL, SIGNING_SECRET, SlackStandIn, button_click, dispatch, slash_command,
                                      standin_on_a_thread)

SUGGESTED = [  # (deal, scout field, value) the good script yields on the small pipeline, as posted
    ("Acme Corp — Platform", "scout_economic_buyer", "Dana Ruiz, CFO"),
    ("Acme Corp — Platform", "scout_decision_criteria", "Integrations, Security"),
    ("Acme Corp — Platform", "scout_identified_pain", "Month-end close takes 12 days (manual reconciliation)"),
    ("Acme Corp — Platform", "scout_competition", "Blackline"),
    ("Hooli — Renewal", "scout_paper_process", "Legal review"),
    ("Initech — Pilot", "scout_champion", "Tom Becker, controller"),
]


@pytest.fixture
async def settings(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_URL=slack.base_url, SCOUT_SUMMARY_CHANNEL=CHANNEL,
                      SCOUT_DEAL_URL="https://crm.example/deals/{id}")
    await seed(s.workspace, small_pipeline())
    return s


def header(post: dict) -> str:
    return post["blocks"][0]["text"]["text"]


def flat(post: dict) -> str:
    out = []
    for b in post["blocks"]:
        if "text" in b:
            out.append(b["text"]["text"])
        out.extend(e["text"] for e in b.get("elements", []) if isinstance(e.get("text"), str))
    return "\n".join(out)


async def test_a_rehearsal_is_posted_as_an_unmistakable_dry_run_with_one_threaded_message_per_suggestion(
        settings, slack):
    summary, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    clock = FakeTime()

    result = await post_run_summary(settings, summary.run_id, pacer=clock.pacer())

    head, *replies = slack.posts()
    assert head["channel"] == CHANNEL and "thread_ts" not in head
    assert header(head) == ":rotating_light: DRY RUN — nothing was written"
    assert head["text"].startswith("DRY RUN — nothing was written. DRY RUN (--apply was not given and "
                                   "LIVE_WRITES is not set): 0 written, 6 would-write")
    shown = flat(head)
    assert "*0 written, 6 would-write, 2 skipped, 0 dropped* · scanned 5/5 (cap 50)" in shown
    assert "Why a dry run: --apply was not given and LIVE_WRITES is not set. Nothing changed in the CRM" in shown
    assert f"run {summary.run_id}" in shown and "6 new suggestion(s) in the thread" in shown

    assert result.posted == 6 and len(replies) == 6
    assert all(r["thread_ts"] == result.ts and r["channel"] == CHANNEL for r in replies)
    seen = [(r["text"]) for r in replies]
    assert seen == [f"Suggestion for {d}: {f} = {v}" for d, f, v in SUGGESTED]
    first = replies[0]["blocks"]
    assert first[0]["text"]["text"] == ("<https://crm.example/deals/d1|Acme Corp — Platform> · Economic buyer\n"
                                        "*Dana Ruiz, CFO*  _rehearsal: not written to `scout_economic_buyer`_")
    assert first[1]["text"]["text"] == "> “Dana Ruiz, the CFO, holds the budget and signs off”"
    buttons = first[-1]
    assert buttons["type"] == "actions" and buttons["block_id"] == "scout_review"
    assert [(b["action_id"], b["text"]["text"]) for b in buttons["elements"]] == [
        ("scout_promote", "Promote"), ("scout_dismiss", "Dismiss")]
    ids = {b["value"] for b in buttons["elements"]}
    assert len(ids) == 1 and ids.pop().isdigit()  # both carry the suggestion's action row id
    # One message a second per channel: a wait before every reply, none before the first post.
    assert clock.waits == [1.1] * 6


async def test_a_live_run_is_posted_as_live(settings, make_settings, slack):
    settings = make_settings(LIVE_WRITES="1")
    summary, _ = await run_job(settings, apply=True, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await post_run_summary(settings, summary.run_id, pacer=FakeTime().pacer())

    head, *replies = slack.posts()
    assert header(head) == ":white_check_mark: LIVE — 6 suggestion(s) written to scout_* fields"
    assert head["text"].startswith("LIVE. LIVE: 6 written, 0 would-write")
    assert "DRY RUN" not in flat(head) and "Why a dry run" not in flat(head)
    assert len(replies) == 6
    assert "_written to `scout_economic_buyer`_" in replies[0]["blocks"][0]["text"]["text"]


async def test_suggestions_already_posted_are_not_posted_again(settings, slack):
    model = ScriptedModel(GOOD_SCRIPT)
    first, _ = await run_job(settings, apply=False, extractor=model.extractor())
    await post_run_summary(settings, first.run_id, pacer=FakeTime().pacer())
    second, _ = await run_job(settings, apply=False, extractor=model.extractor())  # logs the same would-writes

    result = await post_run_summary(settings, second.run_id, pacer=FakeTime().pacer())

    assert result.posted == 0
    head = slack.posts()[-1]
    assert header(head) == ":rotating_light: DRY RUN — nothing was written"
    assert "No new suggestions this run." in flat(head)
    assert len(slack.posts()) == 1 + 6 + 1


async def test_a_rate_limited_post_waits_as_told_and_is_not_lost(settings, slack):
    summary, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    slack.fail("chat.postMessage", 429, headers={"Retry-After": "7"}, after=1)  # the first reply is refused
    clock = FakeTime()

    # slack_sdk's retry handler waits out the 429; the pacer only spaces the messages. One clock sees both.
    client = web_client(settings, sleep=clock.sleep)
    result = await post_run_summary(settings, summary.run_id, client=client, pacer=clock.pacer())

    assert result.posted == 6
    assert len(slack.of("chat.postMessage")) == 8  # 1 summary + 6 replies + the refused attempt
    assert len(slack.messages) == 7
    assert [m["text"] for m in slack.messages.values()][1] == f"Suggestion for {SUGGESTED[0][0]}: " \
        f"{SUGGESTED[0][1]} = {SUGGESTED[0][2]}"
    assert clock.waits == [1.1, 7.0] + [1.1] * 5  # paced, then Retry-After honoured, then paced again


async def test_posting_needs_the_summary_channel(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url)
    await seed(s.workspace, small_pipeline())
    summary, _ = await run_job(s, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    with pytest.raises(MissingSetting, match="^SCOUT_SUMMARY_CHANNEL is not set: the ID of the run-summary channel"):
        await post_run_summary(s, summary.run_id)
    assert slack.calls == []


def test_scout_run_post_posts_the_summary_from_the_command_line(make_settings, monkeypatch, capsys):
    """`scout run --post` end to end: its own event loop, so the stand-in runs on a thread of its own."""
    from scout_app import cli

    with standin_on_a_thread() as slack:
        s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url,
                          SCOUT_SUMMARY_CHANNEL=CHANNEL, SCOUT_EXTRACTOR="offline")
        data = small_pipeline()
        data.notes = [n.model_copy(update={"text": "Hooli: procurement has the MSA; legal review starts next week."})
                      for n in data.notes if n.id == "n5"]  # one suggestion: one paced reply
        asyncio.run(seed(s.workspace, data))

        assert cli.main(["run", "--post"]) == 0

        out = capsys.readouterr().out
        assert out.startswith("DRY RUN (--apply was not given and LIVE_WRITES is not set)")
        head, *replies = slack.posts()
        assert head["blocks"][0]["text"]["text"] == ":rotating_light: DRY RUN — nothing was written"
        assert len(replies) == 1
        assert replies[0]["text"].startswith("Suggestion for Hooli — Renewal: scout_paper_process = ")


@pytest.fixture
def reviewers() -> str:
    return REVIEWER


BOT_LIMITS = {"blocks": 50, "section_text": 3000, "fields": 10, "field_text": 2000, "context_elements": 10,
              "header": 150}


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
    message = next(m for m in slack.messages.values() if "scout_identified_pain" in m["text"])

    await dispatch(app_for(settings, script), button_click(message, "scout_promote", user=REVIEWER,
                                                           action_ts="1790000600.000001",
                                                           response_url=slack.response_url()))
    await dispatch(app_for(settings, script), slash_command("hooli", slack.response_url()))

    assert status(next(m for m in slack.messages.values() if "scout_identified_pain" in m["text"])).startswith(
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
