"""Edit & promote: the modal (views.open) and its submission (view_submission), through bolt's real dispatch."""

from __future__ import annotations

import json

import pytest

from bot.edit import VALUE_BLOCK, value_input
from engine.crm.local import LocalCRM
from engine.models import ActionKind, FieldSpec, FieldType
from tests.pipeline import file_digest, snapshot
from tests.slack_review import REVIEWER, app_for, field_click, log_rows, message_for, posted_id, posted_pass, status
from tests.standins.slack_api import dispatch, view_submission

PAIN = "Month-end close takes 12 days (manual reconciliation)"
EDIT = "Month-end close takes 12 days; audit findings each quarter"


@pytest.fixture
def reviewers() -> str:
    return REVIEWER


async def open_modal(app, slack, field: str, *, user: str = REVIEWER) -> dict:
    before = len(slack.modals)
    await dispatch(app, field_click(message_for(slack, field), field, "scout_edit", user=user, action_ts="1.9",
                                    response_url=slack.response_url()))
    assert len(slack.modals) == before + 1, "no modal opened"
    return slack.modals[-1]


def text_value(value: str) -> dict:
    return {VALUE_BLOCK: {"value": {"type": "plain_text_input", "value": value}}}


async def submit(app, modal: dict, values: dict, *, user: str = REVIEWER):
    response = await dispatch(app, view_submission(modal, values, user=user))
    assert response.status == 200
    return json.loads(response.body) if response.body else None


async def test_edit_opens_a_modal_with_the_input_the_rep_fields_type_takes(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)
    app = app_for(settings)

    pain = await open_modal(app, slack, "scout_identified_pain")
    paper = await open_modal(app, slack, "scout_paper_process")
    criteria = await open_modal(app, slack, "scout_decision_criteria")
    buyer = await open_modal(app, slack, "scout_economic_buyer")

    assert all(c.args["trigger_id"] == "123.456.def" for c in slack.of("views.open"))  # the click's trigger_id

    def element(modal):
        return next(b for b in modal["blocks"] if b.get("block_id") == VALUE_BLOCK)["element"]
    assert (element(pain)["type"], element(pain)["initial_value"]) == ("plain_text_input", PAIN)
    assert element(paper)["type"] == "static_select" and element(paper)["initial_option"]["value"] == "Legal review"
    assert [o["value"] for o in element(paper)["options"]][:3] == ["Not started", "Security review", "Legal review"]
    assert element(criteria)["type"] == "multi_static_select"
    assert sorted(o["value"] for o in element(criteria)["initial_options"]) == ["Integrations", "Security"]
    assert element(buyer)["initial_value"] == "Dana Ruiz"  # a person field takes the name
    assert pain["title"]["text"] == "Edit & promote" and pain["submit"]["text"] == "Promote"
    intro = pain["blocks"][0]["text"]["text"]
    assert "Scout suggested" in intro and "month-end close" in intro  # the value and its quote
    assert await log_rows(settings, ActionKind.PROMOTED, ActionKind.WOULD_PROMOTE) == []  # opening decides nothing


def test_number_and_date_fields_get_a_number_input_and_a_datepicker():
    number = value_input(FieldSpec(name="seats", type=FieldType.NUMBER), "120 seats")
    when = value_input(FieldSpec(name="go_live", type=FieldType.DATE), "2026-12-15")
    text = value_input(FieldSpec(name="notes", type=FieldType.TEXT), "free text")

    assert (number["type"], number["initial_value"], number["is_decimal_allowed"]) == ("number_input", "120", True)
    assert (when["type"], when["initial_date"]) == ("datepicker", "2026-12-15")
    assert (text["type"], text["initial_value"]) == ("plain_text_input", "free text")


async def test_a_submitted_edit_is_written_and_logged_with_scouts_value_and_quote_once_even_if_replayed(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    modal = await open_modal(app, slack, "scout_identified_pain")

    assert await submit(app, modal, text_value(EDIT)) is None  # the form closes
    await submit(app, modal, text_value(EDIT))  # Slack delivered the submission again

    assert (await snapshot(settings.workspace))["d1"]["identified_pain"] == EDIT
    (row,) = await log_rows(settings, ActionKind.PROMOTED)
    assert (row.actor, row.field, row.new, row.status) == (REVIEWER, "identified_pain", EDIT, "applied")
    assert (row.note_id, row.excerpt) == ("n1", "month-end close takes 12 days because of manual reconciliation")
    assert f"Scout suggested '{PAIN}', the reviewer wrote '{EDIT}'" in row.reason
    assert "the edit is the reviewer's decision" in row.reason
    message = message_for(slack, "scout_identified_pain")
    assert status(message, "scout_identified_pain").startswith(
        f":white_check_mark: Promoted by <@{REVIEWER}> with an edit — written to `identified_pain`")
    assert not any(b.get("block_id") == f"scout_review:{posted_id(message, 'scout_identified_pain')}"
                   for b in message["blocks"])
    (note, *_) = slack.of("chat.postEphemeral")  # the reviewer is told in the thread
    assert note.args["user"] == REVIEWER and "with an edit" in note.args["text"]


async def test_an_edit_submitted_after_the_rep_filled_the_field_is_refused_and_logged(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    modal = await open_modal(app, slack, "scout_identified_pain")
    crm = await LocalCRM.open(settings.workspace, writable=True)  # the rep answers while the form is open
    await crm.set_field("d1", "identified_pain", "Close takes too long")
    await crm.aclose()

    await submit(app, modal, text_value(EDIT))

    assert (await snapshot(settings.workspace))["d1"]["identified_pain"] == "Close takes too long"
    assert await log_rows(settings, ActionKind.PROMOTED) == []
    (refused,) = [r for r in await log_rows(settings, ActionKind.SKIPPED) if r.actor == REVIEWER]
    assert refused.reason.startswith("promote refused: the rep has filled identified_pain since")
    assert status(message_for(slack, "scout_identified_pain"), "scout_identified_pain").startswith(
        ":x: Not promoted: the rep has filled identified_pain since ('Close takes too long')")


async def test_an_edit_with_live_writes_unset_is_rehearsed_and_says_so(env, slack):
    settings = env()
    await posted_pass(settings, apply=False)
    app = app_for(settings)
    crm_before = file_digest(settings.workspace)

    await submit(app, await open_modal(app, slack, "scout_identified_pain"), text_value(EDIT))

    assert file_digest(settings.workspace) == crm_before
    (row,) = await log_rows(settings, ActionKind.WOULD_PROMOTE)
    assert row.new == EDIT and "the reviewer wrote" in row.reason and row.dry_run
    assert status(message_for(slack, "scout_identified_pain"), "scout_identified_pain").startswith(
        ":warning: Not written: LIVE_WRITES is not set")


async def test_an_empty_edit_goes_back_to_the_form_as_an_error_and_nothing_is_logged(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    modal = await open_modal(app, slack, "scout_identified_pain")
    rows_before = await log_rows(settings)

    answer = await submit(app, modal, text_value("   "))

    assert answer == {"response_action": "errors", "errors": {VALUE_BLOCK: "enter a value (or use Dismiss)"}}
    assert await log_rows(settings) == rows_before


async def test_a_non_reviewer_cannot_open_or_submit_an_edit(env, slack):
    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    modal = await open_modal(app, slack, "scout_identified_pain")  # a reviewer's form, submitted by another
    crm_before, rows_before = file_digest(settings.workspace), await log_rows(settings)

    await dispatch(app, field_click(message_for(slack, "scout_competition"), "scout_competition", "scout_edit",
                                    user="U0INTRUDER", action_ts="4.1", response_url=slack.response_url()))
    answer = await submit(app, modal, text_value(EDIT), user="U0INTRUDER")

    assert len(slack.modals) == 1  # no form for the intruder
    (note,) = slack.of("chat.postEphemeral")
    assert note.args["user"] == "U0INTRUDER" and note.args["text"].startswith("Sorry <@U0INTRUDER>")
    assert answer["response_action"] == "errors" and answer["errors"][VALUE_BLOCK].startswith("Sorry <@U0INTRUDER>")
    assert file_digest(settings.workspace) == crm_before and await log_rows(settings) == rows_before


async def test_an_edit_from_app_home_updates_the_thread_message_and_the_queue(env, slack):
    from tests.standins.slack_api import home_opened, json_headers, view_click

    settings = env(LIVE_WRITES="1")
    await posted_pass(settings, apply=True)
    app = app_for(settings)
    opened = home_opened(REVIEWER)
    await dispatch(app, opened, json_headers(opened))
    home = slack.homes[REVIEWER]
    at = next(i for i, b in enumerate(home["blocks"])
              if b["type"] == "section" and "`scout_paper_process`" in b["text"]["text"])
    await dispatch(app, view_click(home, "scout_edit", user=REVIEWER, action_ts="5.1",
                                   block_id=home["blocks"][at + 2]["block_id"]))
    modal = slack.modals[-1]

    await submit(app, modal, {VALUE_BLOCK: {"value": {"type": "static_select",
                                                      "selected_option": {"value": "Procurement"}}}})

    assert (await snapshot(settings.workspace))["d5"]["paper_process"] == "Procurement"
    assert status(message_for(slack, "scout_paper_process"), "scout_paper_process").startswith(
        f":white_check_mark: Promoted by <@{REVIEWER}> with an edit — written to `paper_process`: *Procurement*")
    after = slack.homes[REVIEWER]
    assert "`scout_paper_process`" not in str(after["blocks"][3:])  # gone from the queue, named in the notice
    assert "with an edit" in after["blocks"][3]["text"]["text"]
    assert slack.of("chat.postEphemeral") == []
