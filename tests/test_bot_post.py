"""The run summary and its threaded suggestions, as the run-summary channel shows them."""

from __future__ import annotations

import asyncio

import aiosqlite
import pytest

from bot import blocks
from bot.config import MissingSetting, web_client
from engine.models import ActionKind
from engine.provenance import ActionRow
from bot.pacing import Pacer
from bot.post import PostFailed, post_run_summary
from engine.jobs import run_job
from engine.models import Deal
from tests.pipeline import GOOD_SCRIPT, T0, seed, small_pipeline, snapshot
from tests.slack_review import REVIEWER, app_for, message_for, posted_id, posted_pass, status
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


async def test_a_rehearsal_is_posted_as_an_unmistakable_dry_run_with_one_threaded_message_per_deal(
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
    assert f"run {summary.run_id}" in shown
    assert ":thread: 6 new suggestion(s): 3 deal(s) posted in the thread, one message each" in shown

    assert (result.posted, result.deals, result.waiting) == (6, 3, 0) and len(replies) == 3
    assert all(r["thread_ts"] == result.ts and r["channel"] == CHANNEL for r in replies)
    deals = [d for d, _, _ in SUGGESTED]
    assert [r["text"] for r in replies] == [
        f"{deals.count(d)} suggestion(s) for {d}: " + "; ".join(f"{f} = {v}" for dd, f, v in SUGGESTED if dd == d)
        for d in dict.fromkeys(deals)]
    acme = replies[0]["blocks"]
    assert acme[0]["text"]["text"] == "<https://crm.example/deals/d1|Acme Corp — Platform> · 4 suggestion(s)"
    (every,) = acme[1]["elements"]
    assert every["text"]["text"] == "Promote all" and every["confirm"]["text"]["text"] == (
        "Writes `economic_buyer`, `decision_criteria`, `identified_pain`, `competition`, each only if still empty.")
    assert acme[2]["text"]["text"] == (
        "*Economic buyer*: *Dana Ruiz, CFO*  _rehearsal: not written to `scout_economic_buyer`_\n"
        "> “Dana Ruiz, the CFO, holds the budget and signs off”\nnote of 2026-09-01 · by Alex Rep")
    buttons = acme[4]
    assert buttons["type"] == "actions" and buttons["block_id"] == acme[3]["block_id"].replace("status", "review")
    assert [(b["action_id"], b["text"]["text"]) for b in buttons["elements"]] == [
        ("scout_promote", "Promote"), ("scout_edit", "Edit & promote"), ("scout_dismiss", "Dismiss")]
    ids = {b["value"] for b in buttons["elements"]}
    assert len(ids) == 1 and ids.pop().isdigit()  # both carry the suggestion's action row id
    assert len(acme) == 2 + 3 * 4
    # One message a second per channel: a wait before every reply, none before the first post.
    assert clock.waits == [1.1] * 3


async def test_a_newer_suggestion_shows_what_it_replaces(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url,
                      SCOUT_SUMMARY_CHANNEL=CHANNEL)
    await seed(s.workspace, small_pipeline())
    await run_job(s, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    async with aiosqlite.connect(s.workspace) as db:  # an older suggestion Scout filed meanwhile
        await db.execute("INSERT INTO deal_values (deal_id, field, value) VALUES ('d1', 'scout_competition', ?)",
                         ('"Adaptive"',))
        await db.commit()
    summary, _ = await run_job(s, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await post_run_summary(s, summary.run_id, pacer=FakeTime().pacer())

    assert "*Competition*: Adaptive → *Blackline*  _rehearsal: not written to `scout_competition`_" in flat(
        slack.posts()[1])


async def test_the_thread_posts_at_most_the_deal_cap_and_the_summary_counts_the_rest(make_settings, slack):
    s = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url,
                      SCOUT_SUMMARY_CHANNEL=CHANNEL, SCOUT_THREAD_DEALS="2")
    await seed(s.workspace, small_pipeline())
    summary, _ = await run_job(s, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    result = await post_run_summary(s, summary.run_id, pacer=FakeTime().pacer())

    head, *replies = slack.posts()
    assert ":thread: 6 new suggestion(s): 2 deal(s) posted in the thread, one message each with Promote and " \
        "Dismiss; 1 more in the review queue (Scout's Home tab)." in flat(head)
    assert (result.deals, result.waiting, len(replies)) == (2, 1, 2)


async def test_a_deal_with_more_suggestions_than_one_message_holds_continues_in_a_second(settings, slack):
    rows = [ActionRow(id=i, run_id=1, deal_id="d1", deal_name="Acme", concept="metrics", field="scout_metrics",
                      action=ActionKind.WOULD_WRITE, new=f"value {i}", note_id="n1", excerpt=f"value {i}",
                      dry_run=True) for i in range(1, 21)]

    messages = blocks.deal_messages(rows, rep_fields={"metrics": "metrics"}, url=None, notes={})

    assert [len(r) for r, _ in messages] == [16, 4]
    assert all(len(b) <= 50 for _, b in messages)
    assert [b[0]["text"]["text"] for _, b in messages] == ["*Acme* (part 1 of 2) · 16 suggestion(s)",
                                                           "*Acme* (part 2 of 2) · 4 suggestion(s)"]
    assert [r.id for r, _ in zip(rows, range(20))] == [r.id for chunk, _ in messages for r in chunk]


async def test_a_live_run_is_posted_as_live(settings, make_settings, slack):
    settings = make_settings(LIVE_WRITES="1")
    summary, _ = await run_job(settings, apply=True, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    await post_run_summary(settings, summary.run_id, pacer=FakeTime().pacer())

    head, *replies = slack.posts()
    assert header(head) == ":white_check_mark: LIVE — 6 suggestion(s) written to scout_* fields"
    assert head["text"].startswith("LIVE. LIVE: 6 written, 0 would-write")
    assert "DRY RUN" not in flat(head) and "Why a dry run" not in flat(head)
    assert len(replies) == 3
    assert "_written to `scout_economic_buyer`_" in flat(replies[0])


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
    assert len(slack.posts()) == 1 + 3 + 1


async def test_a_rate_limited_post_waits_as_told_and_is_not_lost(settings, slack):
    summary, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    slack.fail("chat.postMessage", 429, headers={"Retry-After": "7"}, after=1)  # the first reply is refused
    clock = FakeTime()

    # slack_sdk's retry handler waits out the 429; the pacer only spaces the messages. One clock sees both.
    client = web_client(settings, sleep=clock.sleep)
    result = await post_run_summary(settings, summary.run_id, client=client, pacer=clock.pacer())

    assert result.posted == 6
    assert len(slack.of("chat.postMessage")) == 5  # 1 summary + 3 deal replies + the refused attempt
    assert len(slack.messages) == 4
    assert [m["text"] for m in slack.messages.values()][1].startswith(f"4 suggestion(s) for {SUGGESTED[0][0]}: "
                                                                      f"{SUGGESTED[0][1]} = {SUGGESTED[0][2]}")
    assert clock.waits == [1.1, 7.0] + [1.1] * 2  # paced, then Retry-After honoured, then paced again


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
        assert replies[0]["text"].startswith("1 suggestion(s) for Hooli — Renewal: scout_paper_process = ")


@pytest.mark.parametrize("live", [False, True], ids=["rehearsal", "live"])
async def test_a_thread_cut_short_is_finished_by_the_next_runs_post(settings, make_settings, slack, live):
    settings = make_settings(LIVE_WRITES="1") if live else settings
    model = ScriptedModel(GOOD_SCRIPT)
    first, _ = await run_job(settings, apply=live, extractor=model.extractor())
    slack.fail("chat.postMessage", 200, error="fatal_error", after=2)  # summary and Acme posted, then Slack fails
    with pytest.raises(PostFailed, match="after 1 of 3 deal"):
        await post_run_summary(settings, first.run_id, pacer=FakeTime().pacer())
    second, _ = await run_job(settings, apply=live, extractor=model.extractor())  # live: logs them as already held

    result = await post_run_summary(settings, second.run_id, pacer=FakeTime().pacer())

    posts = slack.posts()  # summary, Acme, Hooli (refused), then the second summary and what it carries
    assert [p["text"].split(":")[0] for p in posts[4:]] == ["1 suggestion(s) for Hooli — Renewal",
                                                            "1 suggestion(s) for Initech — Pilot"]
    assert result.posted == 2 and "2 new suggestion(s): 2 deal(s) posted" in flat(posts[3])


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


def test_a_live_demo_pass_with_post_sends_one_thread_message_per_deal_with_suggestions(make_settings, scout):
    """The issue's resolution check: `scout run --apply --post` on the demo, live, against the Slack stand-in."""
    with standin_on_a_thread() as slack:
        settings = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url,
                                 SCOUT_SUMMARY_CHANNEL=CHANNEL, SCOUT_EXTRACTOR="offline", LIVE_WRITES="1")
        assert scout("demo", "--deals", "8")[0] == 0
        assert scout("setup", "--apply")[0] == 0

        code, out, err = scout("run", "--apply", "--post")

        assert code == 0, err
        assert out.startswith("LIVE")
        rows = asyncio.run(_written(settings))
        deals = {r.deal_id for r in rows}
        head, *replies = slack.posts()
        assert "thread_ts" not in head and header(head).startswith(":white_check_mark: LIVE")
        assert len(replies) == len(deals) >= 3  # at most one thread message per deal with suggestions
        assert sorted(r["text"].split(" for ", 1)[1].split(": ", 1)[0] for r in replies) == sorted(
            {r.deal_name for r in rows})
        assert sum(int(r["text"].split(" ", 1)[0]) for r in replies) == len(rows)  # every suggestion, once


async def _written(settings) -> list[ActionRow]:
    from engine.provenance import ProvenanceStore

    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        (run,) = [r for r in await store.list_runs() if r.kind == "pass"]
        return await store.run_suggestions(run.id)
    finally:
        await store.aclose()
