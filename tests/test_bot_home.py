"""App Home as the review queue, through bolt's real dispatch: `app_home_opened`, clicks and filters in the view."""

from __future__ import annotations

import pytest

from engine.models import ActionKind
from tests.pipeline import file_digest, seed, snapshot
from tests.slack_review import REVIEWER, app_for, field_click, log_rows, message_for, posted_pass, status
from tests.standins.slack_api import dispatch, home_opened, json_headers, view_click
from tests.test_bot_post import flat


@pytest.fixture
def reviewers() -> str:
    return f"U0OTHER, {REVIEWER}"


async def open_home(app, slack, user: str = REVIEWER) -> dict:
    body = home_opened(user)
    response = await dispatch(app, body, json_headers(body))
    assert response.status == 200
    return slack.homes[user]


def suggestion_ids(view: dict) -> list[int]:
    """The suggestions a view lists, top to bottom (each has its status line)."""
    return [int(b["block_id"].split(":")[1]) for b in view["blocks"]
            if b.get("block_id", "").startswith("scout_status:")]


def deal_lines(view: dict) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b.get("block_id", "").startswith("scout_promote_all:")]


def home_field_id(view: dict, field: str) -> int:
    at = next(i for i, b in enumerate(view["blocks"]) if b["type"] == "section" and f"`{field}`" in b["text"]["text"])
    return int(view["blocks"][at + 1]["block_id"].split(":")[1])


def click_in_home(view: dict, field: str, action: str, *, user: str = REVIEWER, action_ts: str = "1790000800.000001"):
    return view_click(view, action, user=user, action_ts=action_ts,
                      block_id=f"scout_review:{home_field_id(view, field)}")


async def test_a_reviewer_opening_app_home_sees_every_pending_suggestion_by_deal_newest_first(env, slack):
    settings = env()
    summary, _ = await posted_pass(settings, apply=False)

    view = await open_home(app_for(settings), slack)

    pending = sorted((r for r in await log_rows(settings, ActionKind.WOULD_WRITE)), key=lambda r: -r.id)
    assert sorted(suggestion_ids(view)) == sorted(r.id for r in pending)
    newest_deals = list(dict.fromkeys(r.deal_name for r in pending))
    assert [line.split(" · ")[0].strip("*") for line in deal_lines(view)] == newest_deals
    assert "6 suggestion(s) waiting on 3 deal(s) · newest first · page 1 of 1" in flat(view)
    assert len(view["blocks"]) <= 100
    for sid in suggestion_ids(view):  # the thread's buttons, with the same action ids and values
        (buttons,) = [b for b in view["blocks"] if b.get("block_id") == f"scout_review:{sid}"]
        assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
            ("scout_promote", str(sid)), ("scout_edit", str(sid)), ("scout_dismiss", str(sid))]
    acme = next(b for b in view["blocks"] if b.get("block_id", "").startswith("scout_promote_all:")
                and "Acme" in b["text"]["text"])
    assert "owner Alex Rep" in acme["text"]["text"]  # the CRM has an owner for Acme
    assert acme["accessory"]["confirm"]["text"]["text"].startswith("Writes `")


async def test_a_non_reviewer_opening_app_home_sees_a_read_only_summary_naming_who_can_review(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)

    view = await open_home(app_for(settings), slack, user="U0SALES")

    assert not any(b["type"] == "actions" for b in view["blocks"])  # not one button or filter
    text = flat(view)
    assert "6 suggestion(s) on 3 deal(s) wait for a reviewer" in text and "this view is read-only" in text
    assert "Who can review: <@U0OTHER>, <@U0REVIEWER>." in text


async def test_promote_in_app_home_writes_once_updates_the_thread_message_and_the_queue(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    view = await open_home(app, slack)
    body = click_in_home(view, "scout_competition", "scout_promote")

    await dispatch(app, body)
    await dispatch(app, body)  # Slack delivered the click twice

    assert (await snapshot(settings.workspace))["d1"]["competition"] == "Blackline"
    (row,) = await log_rows(settings, ActionKind.PROMOTED)
    assert (row.actor, row.field, row.status) == (REVIEWER, "competition", "applied")
    # The thread message shows it, as if the click had been made there.
    assert status(message_for(slack, "scout_competition"), "scout_competition").startswith(
        f":white_check_mark: Promoted by <@{REVIEWER}> — written to `competition`")
    after = slack.homes[REVIEWER]
    assert home_field_id(view, "scout_competition") not in suggestion_ids(after)
    assert len(suggestion_ids(after)) == 5
    assert f"Promoted by <@{REVIEWER}> — written to `competition`" in flat(after)  # what happened, atop the queue
    assert slack.of("chat.postEphemeral") == []


async def test_a_decision_made_in_the_thread_shows_in_app_home_when_it_is_next_opened(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)
    app = app_for(settings)
    before = await open_home(app, slack)

    await dispatch(app, field_click(message_for(slack, "scout_competition"), "scout_competition", "scout_dismiss",
                                    user=REVIEWER, action_ts="1.5", response_url=slack.response_url()))
    after = await open_home(app, slack)

    assert len(suggestion_ids(after)) == len(suggestion_ids(before)) - 1
    assert "`scout_competition`" not in flat(after)


async def test_promote_all_in_app_home_replayed_writes_each_field_once_and_clears_the_deal(env, slack):
    from engine.models import Person
    from tests.pipeline import small_pipeline

    settings = env(LIVE_WRITES="1")
    data = small_pipeline()
    data.people.append(Person(id="p9", name="Dana Ruiz", title="CFO"))
    await posted_pass(settings, apply=True, data=data)
    app = app_for(settings)
    view = await open_home(app, slack)
    (acme,) = [b for b in view["blocks"] if b.get("block_id", "").startswith("scout_promote_all:")
               and "Acme" in b["text"]["text"]]
    body = view_click(view, "scout_promote_all", user=REVIEWER, action_ts="1790000900.000009",
                      block_id=acme["block_id"])

    await dispatch(app, body)
    await dispatch(app, body)

    promoted = await log_rows(settings, ActionKind.PROMOTED)
    assert sorted(r.field for r in promoted) == ["competition", "decision_criteria", "economic_buyer",
                                                 "identified_pain"]
    assert not any("Acme" in line for line in deal_lines(slack.homes[REVIEWER]))
    shown = message_for(slack, "scout_competition")
    assert not any(b.get("block_id", "").startswith("scout_review:") for b in shown["blocks"])


async def test_a_non_reviewers_click_in_app_home_is_refused_and_changes_nothing(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    view = await open_home(app, slack)  # a reviewer's view, replayed by someone else
    crm_before, rows_before = file_digest(settings.workspace), await log_rows(settings)

    await dispatch(app, click_in_home(view, "scout_competition", "scout_promote", user="U0INTRUDER"))

    assert file_digest(settings.workspace) == crm_before and await log_rows(settings) == rows_before
    assert "Sorry <@U0INTRUDER>, only Scout reviewers can promote or dismiss" in flat(slack.homes["U0INTRUDER"])
    assert slack.of("chat.update") == []


async def test_the_queue_filters_by_concept_and_by_deal_owner(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)
    app = app_for(settings)
    view = await open_home(app, slack)
    (filters,) = [b for b in view["blocks"] if b.get("block_id") == "scout_home_filters"]
    owners = next(e for e in filters["elements"] if e["action_id"] == "scout_home_owner")
    assert [o["value"] for o in owners["options"]] == ["*", "Alex Rep"]  # only Acme has an owner in this CRM

    await dispatch(app, view_click(view, "scout_home_concept", user=REVIEWER, action_ts="2.1",
                                   option="paper_process"))
    by_concept = slack.homes[REVIEWER]
    await dispatch(app, view_click(by_concept, "scout_home_owner", user=REVIEWER, action_ts="2.2",
                                   option="Alex Rep"))
    none_left = slack.homes[REVIEWER]
    await dispatch(app, view_click(none_left, "scout_home_concept", user=REVIEWER, action_ts="2.3", option="*"))
    by_owner = slack.homes[REVIEWER]

    assert [line.split(" · ")[0].strip("*") for line in deal_lines(by_concept)] == ["Hooli — Renewal"]
    assert "*Paper process*" in flat(by_concept) and "filtered from 6" in flat(by_concept)
    assert suggestion_ids(none_left) == [] and "No suggestion matches these filters." in flat(none_left)
    (concept_select,) = [e for b in none_left["blocks"] if b.get("block_id") == "scout_home_filters"
                         for e in b["elements"] if e["action_id"] == "scout_home_concept"]
    assert concept_select["initial_option"]["value"] == "paper_process"  # the view keeps both filters
    assert len(suggestion_ids(by_owner)) == 4 and [d.split(" · ")[0].strip("*") for d in deal_lines(by_owner)] == [
        "Acme Corp — Platform"]


async def test_a_long_queue_is_paged_within_slacks_100_blocks(env, slack):
    from engine.demo import generate_demo
    from engine.jobs import run_job

    settings = env(SCOUT_EXTRACTOR="offline")
    await seed(settings.workspace, generate_demo(seed=7, n_deals=40))
    await run_job(settings, apply=False)
    app = app_for(settings)
    pending = {r.id for r in await log_rows(settings, ActionKind.WOULD_WRITE)}
    assert len(pending) > 40

    seen, view, pages, deals_seen = [], await open_home(app, slack), 0, []
    while True:
        pages += 1
        assert len(view["blocks"]) <= 100 and len(suggestion_ids(view)) <= 20
        seen += suggestion_ids(view)
        deals_seen += [line.split(" · ")[0] for line in deal_lines(view)]
        nxt = [e for b in view["blocks"] if b.get("block_id") == "scout_home_pages" for e in b["elements"]
               if e["action_id"] == "scout_home_page_next"]
        if not nxt:
            break
        await dispatch(app, view_click(view, "scout_home_page_next", user=REVIEWER, action_ts=f"3.{pages}"))
        view = slack.homes[REVIEWER]
    assert sorted(seen) == sorted(pending) and len(seen) == len(set(seen))  # every one, once
    assert pages >= -(-len(pending) // 20) and f"page {pages} of {pages}" in flat(view)
    assert len(deals_seen) == len(set(deals_seen))  # a deal is never split across pages (none has 20)


async def test_a_suggestion_the_rep_has_answered_since_leaves_the_queue(env, slack):
    from engine.crm.local import LocalCRM

    settings = env()
    await posted_pass(settings, apply=False)
    crm = await LocalCRM.open(settings.workspace, writable=True)
    await crm.set_field("d1", "competition", "Blackline and others")
    await crm.aclose()

    view = await open_home(app_for(settings), slack)

    assert len(suggestion_ids(view)) == 5 and "`scout_competition`" not in flat(view)

