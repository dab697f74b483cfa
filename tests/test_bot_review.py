"""Promote and Dismiss clicks on posted suggestions, through bolt's real request handling."""

from __future__ import annotations

import asyncio
import json

import aiosqlite
import pytest

from bot.post import post_run_summary
from engine.crm.local import LocalCRM
from engine.jobs import run_job, undo_job
from engine.models import ActionKind, Person
from engine.promote import ReviewOutcome, dismiss, promote
from engine.provenance import ProvenanceStore
from tests.pipeline import GOOD_SCRIPT, file_digest, seed, small_pipeline, snapshot
from tests.slack_review import (REVIEWER, app_for, field_click, log_rows, message_for, posted_id, posted_pass, runs,
                                 status)
from tests.standins.clock import FakeTime
from tests.standins.scripted_model import ScriptedModel
from tests.standins.slack_api import CHANNEL, SIGNING_SECRET, SlackStandIn, button_click, dispatch
from tests.test_bot_post import flat

PAIN = "Month-end close takes 12 days (manual reconciliation)"


@pytest.fixture
def reviewers() -> str:
    return f"U0OTHER, {REVIEWER}"


@pytest.fixture
async def slack():
    standin = await SlackStandIn(groups={"S0REVIEWERS": ["U0GROUPIE"]}).start()
    yield standin
    await standin.stop()


async def click(app, slack, field: str, action: str, *, user: str = REVIEWER, action_ts: str = "1790000100.000001"):
    message = message_for(slack, field)
    body = button_click(message, action, user=user, action_ts=action_ts, response_url=slack.response_url("click"),
                        block_id=f"scout_review:{posted_id(message, field)}")
    return await dispatch(app, body), body


def has_buttons(message: dict, field: str) -> bool:
    sid = posted_id(message, field)
    return any(b.get("block_id") == f"scout_review:{sid}" for b in message["blocks"])


async def test_a_non_reviewer_is_politely_refused_and_nothing_happens(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    crm_before, log_before = file_digest(settings.workspace), len(await log_rows(settings))
    calls_before = len(slack.calls)

    response, _ = await click(app_for(settings), slack, "scout_identified_pain", "scout_promote", user="U0INTRUDER")

    assert response.status == 200
    (note,) = slack.of("chat.postEphemeral")
    assert note.args["user"] == "U0INTRUDER" and note.args["channel"] == CHANNEL
    assert note.args["thread_ts"] == message_for(slack, "scout_identified_pain")["thread_ts"]
    assert note.args["text"].startswith("Sorry <@U0INTRUDER>, only Scout reviewers can promote or dismiss")
    assert slack.of("chat.update") == []
    assert [c.method for c in slack.calls[calls_before:]] == ["auth.test", "chat.postEphemeral"]
    assert file_digest(settings.workspace) == crm_before
    assert len(await log_rows(settings)) == log_before
    assert has_buttons(message_for(slack, "scout_identified_pain"), "scout_identified_pain")


async def test_members_of_the_reviewer_group_may_review_and_others_may_not(make_settings, slack):
    settings = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                             SLACK_API_URL=slack.base_url, SCOUT_SUMMARY_CHANNEL=CHANNEL,
                             SCOUT_REVIEWER_GROUP="S0REVIEWERS")
    await posted_pass(settings, apply=False)
    app = app_for(settings)

    await click(app, slack, "scout_competition", "scout_dismiss", user="U0STRANGER", action_ts="1.1")
    await click(app, slack, "scout_competition", "scout_dismiss", user="U0GROUPIE", action_ts="1.2")

    assert [c.args["usergroup"] for c in slack.of("usergroups.users.list")] == ["S0REVIEWERS", "S0REVIEWERS"]
    (refusal,) = slack.of("chat.postEphemeral")
    assert refusal.args["user"] == "U0STRANGER"
    (dismissed,) = await log_rows(settings, ActionKind.DISMISSED)
    assert dismissed.actor == "U0GROUPIE" and dismissed.field == "scout_competition"
    assert status(message_for(slack, "scout_competition"), "scout_competition").startswith(":no_entry_sign: Dismissed by <@U0GROUPIE>")


async def test_promote_with_live_writes_unset_writes_nothing_and_says_why(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)
    crm_before = file_digest(settings.workspace)

    await click(app_for(settings), slack, "scout_identified_pain", "scout_promote")

    assert file_digest(settings.workspace) == crm_before
    message = message_for(slack, "scout_identified_pain")
    assert status(message, "scout_identified_pain") == (":warning: Not written: LIVE_WRITES is not set; a promotion writes identified_pain "
                               f"only when LIVE_WRITES=1 (<@{REVIEWER}> clicked Promote)")
    assert has_buttons(message, "scout_identified_pain")  # still promotable once the operator opens the lock
    (update,) = slack.of("chat.update")
    assert update.args["channel"] == CHANNEL and update.args["ts"] == message["ts"]
    (row,) = await log_rows(settings, ActionKind.WOULD_PROMOTE)
    assert (row.actor, row.field, row.new, row.dry_run, row.deal_id) == (REVIEWER, "identified_pain", PAIN, True, "d1")
    assert row.reason == "nothing written: LIVE_WRITES is not set"
    promote_run = (await runs(settings))[-1]
    assert (promote_run.kind, promote_run.dry_run, promote_run.dry_run_reason) == ("promote", True,
                                                                                   "LIVE_WRITES is not set")


async def test_promote_live_writes_the_rep_field_logs_who_and_updates_the_message(env, slack):
    settings = env(LIVE_WRITES="1")
    summary, _ = await posted_pass(settings, apply=True)
    before = await snapshot(settings.workspace)

    await click(app_for(settings), slack, "scout_identified_pain", "scout_promote")

    after = await snapshot(settings.workspace)
    assert after["d1"]["identified_pain"] == PAIN
    changed = {(d, f) for d in after for f in set(after[d]) | set(before[d]) if after[d].get(f) != before[d].get(f)}
    assert changed == {("d1", "identified_pain")}  # the rep field, and nothing else
    (row,) = await log_rows(settings, ActionKind.PROMOTED)
    assert (row.actor, row.status, row.dry_run, row.field, row.previous, row.new) == (
        REVIEWER, "applied", False, "identified_pain", None, PAIN)
    assert row.excerpt == "month-end close takes 12 days because of manual reconciliation" and row.note_id == "n1"
    promote_run = (await runs(settings))[-1]
    assert (promote_run.kind, promote_run.target_run, promote_run.written) == ("promote", summary.run_id, 1)
    message = message_for(slack, "scout_identified_pain")
    assert status(message, "scout_identified_pain") == (f":white_check_mark: Promoted by <@{REVIEWER}> — written to `identified_pain`: "
                               f"*{PAIN}* · undo with `scout undo {promote_run.id}`")
    assert not has_buttons(message, "scout_identified_pain")
    assert f"*{PAIN}*" in flat(message)  # the suggestion itself is still shown

    # The promotion is its own run: undoing it restores the empty rep field and leaves the pass's writes.
    gate, result = await undo_job(settings, promote_run.id, apply=True)
    assert gate.live and result.reverted == 1
    undone = await snapshot(settings.workspace)
    assert "identified_pain" not in undone["d1"] and undone["d1"]["scout_identified_pain"] == PAIN


async def test_two_reviewers_clicking_at_once_write_once(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    message = dict(message_for(slack, "scout_competition"))
    clicks = [field_click(message, "scout_competition", "scout_promote", user=user, action_ts=f"1790000200.00000{i}",
                           response_url=slack.response_url()) for i, user in enumerate((REVIEWER, "U0OTHER"))]

    await asyncio.gather(*(dispatch(app, c) for c in clicks))

    promoted = await log_rows(settings, ActionKind.PROMOTED)
    assert len(promoted) == 1 and promoted[0].status == "applied"
    assert (await snapshot(settings.workspace))["d1"]["competition"] == "Blackline"
    winner = promoted[0].actor
    loser = ({REVIEWER, "U0OTHER"} - {winner}).pop()
    (note,) = slack.of("chat.postEphemeral")  # the second click is told; the message is the winner's to update
    assert note.args["user"] == loser
    assert note.args["text"] == f":information_source: Already promoted by <@{winner}>; nothing more was done"
    assert len(slack.of("chat.update")) == 1  # only the winner updates the message
    assert status(message_for(slack, "scout_competition"), "scout_competition").startswith(
        f":white_check_mark: Promoted by <@{winner}> — written to `competition`")


async def test_a_replayed_click_is_answered_as_before_and_writes_nothing_more(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    _, body = await click(app, slack, "scout_competition", "scout_promote", action_ts="1790000300.000001")
    rows_before = await log_rows(settings)

    await dispatch(app, body)  # Slack delivers the very same payload again
    await dispatch(app, body)

    assert await log_rows(settings) == rows_before  # no row, no run: a replay is not a new decision
    assert len(await log_rows(settings, ActionKind.PROMOTED)) == 1
    first, *again = slack.of("chat.update")
    assert len(again) == 2 and all(u.args["blocks"] == first.args["blocks"] for u in again)
    assert slack.of("chat.postEphemeral") == []
    assert status(message_for(slack, "scout_competition"), "scout_competition").startswith(f":white_check_mark: Promoted by <@{REVIEWER}>")


async def test_a_rep_who_filled_the_field_since_wins_and_the_refusal_is_logged(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=False)  # a rehearsal: reviewers see it, the rep gets there first
    crm = await LocalCRM.open(settings.workspace, writable=True)
    await crm.set_field("d1", "identified_pain", "Close takes too long")
    await crm.aclose()

    await click(app_for(settings), slack, "scout_identified_pain", "scout_promote")

    assert (await snapshot(settings.workspace))["d1"]["identified_pain"] == "Close takes too long"
    message = message_for(slack, "scout_identified_pain")
    assert status(message, "scout_identified_pain") == (":x: Not promoted: the rep has filled identified_pain since ('Close takes too long'); "
                               f"the rep's value stands (<@{REVIEWER}>)")
    assert not has_buttons(message, "scout_identified_pain")
    assert await log_rows(settings, ActionKind.PROMOTED) == []
    refused = [r for r in await log_rows(settings, ActionKind.SKIPPED) if r.actor == REVIEWER]
    assert len(refused) == 1 and refused[0].reason.startswith("promote refused: the rep has filled identified_pain")


async def test_a_person_link_takes_the_name_and_a_name_the_crm_does_not_know_is_refused_and_logged(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)  # nobody called Dana Ruiz in this CRM's people

    await click(app_for(settings), slack, "scout_economic_buyer", "scout_promote")

    assert "economic_buyer" not in (await snapshot(settings.workspace))["d1"]
    (failed,) = [r for r in await log_rows(settings, ActionKind.FAILED) if r.actor == REVIEWER]
    assert (failed.field, failed.new, failed.status) == ("economic_buyer", "Dana Ruiz", "failed")
    assert "no single person named 'Dana Ruiz'" in failed.error
    message = message_for(slack, "scout_economic_buyer")
    assert status(message, "scout_economic_buyer").startswith(":x: Not written: the CRM refused economic_buyer = 'Dana Ruiz': ")
    assert has_buttons(message, "scout_economic_buyer")  # fix the CRM (add the person), then click again


async def test_a_person_link_is_promoted_to_the_named_person(env, slack):
    settings = env(LIVE_WRITES="1")
    data = small_pipeline()
    data.people.append(Person(id="p9", name="Dana Ruiz", title="CFO"))
    await posted_pass(settings, apply=True, data=data)

    await click(app_for(settings), slack, "scout_economic_buyer", "scout_promote")

    assert (await snapshot(settings.workspace))["d1"]["economic_buyer"] == "Dana Ruiz"
    assert status(message_for(slack, "scout_economic_buyer"), "scout_economic_buyer").startswith(
        f":white_check_mark: Promoted by <@{REVIEWER}> — written to `economic_buyer`: *Dana Ruiz*")


async def test_a_rehearsed_promotion_does_not_block_the_real_one(env, slack):
    dry = env()
    await posted_pass(dry, apply=False)
    await click(app_for(dry), slack, "scout_competition", "scout_promote", action_ts="1.1")
    live = env(LIVE_WRITES="1")

    await click(app_for(live), slack, "scout_competition", "scout_promote", action_ts="1.2")

    assert (await snapshot(live.workspace))["d1"]["competition"] == "Blackline"
    kinds = [r.action for r in await log_rows(live, ActionKind.WOULD_PROMOTE, ActionKind.PROMOTED)]
    assert kinds == [ActionKind.WOULD_PROMOTE, ActionKind.PROMOTED]


async def test_dismiss_is_logged_shown_and_remembered_across_runs(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)

    await click(app_for(settings), slack, "scout_competition", "scout_dismiss")

    (row,) = await log_rows(settings, ActionKind.DISMISSED)
    assert (row.actor, row.field, row.new, row.deal_id) == (REVIEWER, "scout_competition", "Blackline", "d1")
    message = message_for(slack, "scout_competition")
    assert status(message, "scout_competition") == f":no_entry_sign: Dismissed by <@{REVIEWER}> — it will not be posted again"
    assert not has_buttons(message, "scout_competition")
    # A replayed or second Promote on a dismissed suggestion changes nothing.
    result = await promote(posted_id(message, "scout_competition"), REVIEWER, env(LIVE_WRITES="1"))
    assert result.outcome is ReviewOutcome.ALREADY and result.decided_by == REVIEWER
    assert "competition" not in (await snapshot(settings.workspace))["d1"]


async def test_a_dismissed_suggestion_is_not_posted_by_a_later_run(env, slack):
    settings = env()
    await seed(settings.workspace, small_pipeline())
    model = ScriptedModel(GOOD_SCRIPT)
    first, _ = await run_job(settings, apply=False, extractor=model.extractor())
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    competition = next(r for r in await store.run_suggestions(first.run_id) if r.field == "scout_competition")
    await store.aclose()
    assert (await dismiss(competition.id, REVIEWER, settings)).outcome is ReviewOutcome.DISMISSED  # never posted
    second, _ = await run_job(settings, apply=False, extractor=model.extractor())

    result = await post_run_summary(settings, second.run_id, pacer=FakeTime().pacer())

    assert result.posted == 5
    assert not any("scout_competition" in p["text"] for p in slack.posts())


async def test_a_suggestion_replaced_by_a_newer_one_is_no_longer_promotable(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    newer = dict(GOOD_SCRIPT, n2=[{"concept": "competition", "value": "evaluating Blackline", "note_id": "n2",
                                   "excerpt": "Also evaluating Blackline."}])
    # Another model (so the extraction cache does not answer) reads the same note differently.
    await run_job(settings, apply=True, extractor=ScriptedModel(newer).extractor(model="claude-opus-4-6"))

    await click(app_for(settings), slack, "scout_competition", "scout_promote")

    assert "competition" not in (await snapshot(settings.workspace))["d1"]
    assert status(message_for(slack, "scout_competition"), "scout_competition") == (
        ":x: Not promoted: scout_competition now holds 'evaluating Blackline': this suggestion is no longer "
        f"current (<@{REVIEWER}>)")


async def suggestion_ids(settings, run_id: int) -> dict[str, int]:
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        return {r.field: r.id for r in await store.run_suggestions(run_id) if r.deal_id == "d1"}
    finally:
        await store.aclose()


async def test_a_rehearsed_suggestion_a_newer_rehearsal_replaced_is_refused(env):
    settings = env(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    first, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    newer = dict(GOOD_SCRIPT, n2=[{"concept": "competition", "value": "evaluating Blackline", "note_id": "n2",
                                   "excerpt": "Also evaluating Blackline."}])
    second, _ = await run_job(settings, apply=False, extractor=ScriptedModel(newer).extractor(model="claude-opus-4-6"))

    result = await promote((await suggestion_ids(settings, first.run_id))["scout_competition"], REVIEWER, settings)

    assert result.outcome is ReviewOutcome.REFUSED and result.final
    assert result.detail == (f"not promoted: a newer suggestion ('evaluating Blackline', run {second.run_id}) "
                             "replaced this one")
    assert "competition" not in (await snapshot(settings.workspace))["d1"]


async def test_a_note_edited_since_no_longer_supports_the_suggestion(env):
    import aiosqlite

    settings = env(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    run, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    async with aiosqlite.connect(settings.workspace) as db:  # the rep rewrote the call note
        await db.execute("UPDATE notes SET text = 'Follow-up. Security matters most.' WHERE id = 'n2'")
        await db.commit()

    result = await promote((await suggestion_ids(settings, run.run_id))["scout_competition"], REVIEWER, settings)

    assert result.outcome is ReviewOutcome.REFUSED
    assert result.detail == "not promoted: note n2 no longer holds the quoted excerpt"
    assert "competition" not in (await snapshot(settings.workspace))["d1"]


async def test_only_a_suggestion_can_be_promoted_or_dismissed(env):
    settings = env(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    run, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    skipped = next(r for r in await log_rows(settings, ActionKind.SKIPPED) if r.run_id == run.run_id)
    rows_before = await log_rows(settings)

    for act in (promote, dismiss):
        for action_id in (skipped.id, 999_999):
            result = await act(action_id, REVIEWER, settings)
            assert result.outcome is ReviewOutcome.NOT_FOUND
            assert result.detail == f"no suggestion {action_id} in the provenance log; nothing was done"

    assert await log_rows(settings) == rows_before


async def test_the_claim_on_a_suggestion_is_atomic_across_connections(env):
    """What makes a double click write once: the second connection finds the first claim, in one transaction."""
    from engine.provenance import ActionRow

    settings = env(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    run, _ = await run_job(settings, apply=True, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    first = await ProvenanceStore.open(settings.log_db)
    second = await ProvenanceStore.open(settings.log_db)
    try:
        suggestion = next(r for r in await first.run_suggestions(run.run_id) if r.field == "scout_competition")

        def intent(actor: str) -> ActionRow:
            return ActionRow(run_id=run.run_id, deal_id="d1", field="competition", new="Blackline", actor=actor,
                             action=ActionKind.PROMOTED, status="pending", dry_run=False)

        won = await first.record_review(intent("U1"), suggestion=suggestion, decision="promote", click_id="c1",
                                        exclusive=True)
        lost = await second.record_review(intent("U2"), suggestion=suggestion, decision="promote", click_id="c2",
                                          exclusive=True)
        replayed = await second.record_review(intent("U1"), suggestion=suggestion, decision="promote",
                                              click_id="c1", exclusive=False)
    finally:
        await first.aclose()
        await second.aclose()

    assert won.action_id is not None and not won.replay
    assert lost.action_id is None and not lost.replay and lost.earlier.actor == "U1"
    assert replayed.action_id is None and replayed.replay and replayed.earlier.id == won.action_id
    assert [r.actor for r in await log_rows(settings, ActionKind.PROMOTED)] == ["U1"]


# -- Promote all ------------------------------------------------------------------------------------------------

ACME = ("scout_economic_buyer", "scout_decision_criteria", "scout_identified_pain", "scout_competition")


async def test_promote_all_writes_each_suggestion_of_the_deal_once_even_when_the_click_is_replayed(env, slack):
    settings = env(LIVE_WRITES="1")
    data = small_pipeline()
    data.people.append(Person(id="p9", name="Dana Ruiz", title="CFO"))  # a person the CRM knows: every one lands
    await posted_pass(settings, apply=True, data=data)
    message = message_for(slack, "scout_competition")
    body = button_click(message, "scout_promote_all", block_id="scout_promote_all", user=REVIEWER,
                        action_ts="1790000900.000001", response_url=slack.response_url())

    await dispatch(app_for(settings), body)
    await dispatch(app_for(settings), body)  # Slack retried the delivery

    promoted = await log_rows(settings, ActionKind.PROMOTED)
    assert sorted(r.field for r in promoted) == ["competition", "decision_criteria", "economic_buyer",
                                                 "identified_pain"]
    assert all(r.status == "applied" and r.actor == REVIEWER for r in promoted)
    after = (await snapshot(settings.workspace))["d1"]
    assert (after["competition"], after["identified_pain"]) == ("Blackline", PAIN)
    shown = message_for(slack, "scout_competition")
    for field in ACME:
        assert status(shown, field).startswith(f":white_check_mark: Promoted by <@{REVIEWER}> — written to ")
        assert not has_buttons(shown, field)
    assert not any(b.get("block_id") == "scout_promote_all" for b in shown["blocks"])
    assert slack.of("chat.postEphemeral") == []


async def test_promote_all_after_one_dismissal_names_only_the_fields_left(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)

    await click(app_for(settings), slack, "scout_competition", "scout_dismiss")

    (every,) = next(b for b in message_for(slack, "scout_competition")["blocks"]
                    if b.get("block_id") == "scout_promote_all")["elements"]
    assert every["confirm"]["text"]["text"] == (
        "Writes `economic_buyer`, `decision_criteria`, `identified_pain`, each only if still empty.")
    assert every["confirm"]["title"]["text"] == "Promote all 3?"


async def test_promote_all_by_a_non_reviewer_is_refused_and_changes_nothing(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    crm_before, log_before = file_digest(settings.workspace), len(await log_rows(settings))
    body = button_click(message_for(slack, "scout_competition"), "scout_promote_all", block_id="scout_promote_all",
                        user="U0INTRUDER", action_ts="1790000901.000001", response_url=slack.response_url())

    await dispatch(app_for(settings), body)

    (note,) = slack.of("chat.postEphemeral")
    assert note.args["text"].startswith("Sorry <@U0INTRUDER>, only Scout reviewers can promote or dismiss")
    assert slack.of("chat.update") == []
    assert file_digest(settings.workspace) == crm_before and len(await log_rows(settings)) == log_before


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


# -- a deal with more suggestions than one message holds -------------------------------------------------------


async def test_a_deal_past_slacks_50_blocks_continues_in_a_second_message_and_clicks_in_each_work(
        env, slack, tmp_path):
    """Twelve concepts of a workspace's own: 17 suggestions on Acme, and 16 is what fits in 50 blocks."""
    from engine.models import FieldSpec, FieldType, Note
    from tests.pipeline import T0

    def said(concept: str, value: str, note: str, excerpt: str) -> dict:
        return {"concept": concept, "value": value, "note_id": note, "excerpt": excerpt}

    extra = [f"extra_{i:02d}" for i in range(12)]
    (tmp_path / "map.toml").write_text("".join(
        f'[concepts.{c}]\ndescription = "Extra signal {c}."\ngrounding = "text"\n' for c in extra))
    settings = env(LIVE_WRITES="1", SCOUT_FIELD_MAP=str(tmp_path / "map.toml"))
    data = small_pipeline()
    data.people.append(Person(id="p9", name="Dana Ruiz", title="CFO"))  # every promotion can land
    data.fields += [FieldSpec(name=n, type=FieldType.TEXT) for c in extra for n in (c, f"scout_{c}")]
    data.notes.append(Note(id="n9", deal_id="d1", author="Alex Rep", created_at=T0, title="Signals",
                           text=" ".join(f"Signal {c} is value {c}." for c in extra)))
    script = dict(GOOD_SCRIPT, n9=[said(c, f"value {c}", "n9", f"Signal {c} is value {c}.") for c in extra])
    script["n1"] = GOOD_SCRIPT["n1"] + [said("metrics", "12 days", "n1", "month-end close takes 12 days")]
    await posted_pass(settings, apply=True, data=data, script=script)
    acme = [m for m in slack.messages.values() if m.get("thread_ts") and "Acme" in m["text"]]

    assert [len(m["blocks"]) for m in acme] == [2 + 3 * 16, 2 + 3 * 1]  # 50 (Slack's cap), then the rest
    assert [m["blocks"][0]["text"]["text"].split(" · ")[0] for m in acme] == [
        "*Acme Corp — Platform* (part 1 of 2)", "*Acme Corp — Platform* (part 2 of 2)"]
    second = acme[1]
    (last_field,) = [b["text"]["text"].split("`")[1] for b in second["blocks"] if b["type"] == "section"
                     and "_written to `" in b["text"]["text"]]
    app = app_for(settings, script)

    await dispatch(app, button_click(acme[0], "scout_promote_all", block_id="scout_promote_all", user=REVIEWER,
                                     action_ts="1790001000.000001", response_url=slack.response_url()))
    # Part 2's suggestion is dismissed from App Home: its message is redrawn from the log, still "part 2 of 2".
    from tests.standins.slack_api import home_opened, json_headers, view_click

    opened = home_opened(REVIEWER)
    await dispatch(app, opened, json_headers(opened))
    await dispatch(app, view_click(slack.homes[REVIEWER], "scout_dismiss", user=REVIEWER,
                                   action_ts="1790001000.000002",
                                   block_id=f"scout_review:{posted_id(second, last_field)}"))

    assert len(await log_rows(settings, ActionKind.DISMISSED)) == 1
    first_now, second_now = slack.messages[acme[0]["ts"]], slack.messages[second["ts"]]
    assert not any(b.get("block_id", "").startswith("scout_review:") for b in first_now["blocks"])
    assert status(second_now, last_field).startswith(f":no_entry_sign: Dismissed by <@{REVIEWER}>")
    assert second_now["blocks"][0]["text"]["text"].startswith("*Acme Corp — Platform* (part 2 of 2) · 1 suggestion")
    promoted = [r.field for r in await log_rows(settings, ActionKind.PROMOTED) if r.status == "applied"]
    assert len(promoted) == len(set(promoted)) == 16  # each of part 1's, once
    assert (await snapshot(settings.workspace))["d1"]["extra_00"] == "value extra_00"  # a concept of its own too
