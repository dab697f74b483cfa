"""Edit & promote: a modal holding the suggested value, in an input that fits the rep field's type.

The button (in the thread or App Home) opens the modal with the click's `trigger_id`. On submit, a value the
field cannot hold, or a submitter who is not a reviewer, goes back to the form as `response_action: errors`
(nothing logged). Otherwise the form closes and the engine promotes the edited value with every check a
Promote makes (rep field still empty, both locks, the suggestion still current); the log keeps Scout's value,
the edit and the original quote. The modal's view id is the click id: a retried submission is a replay.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.home import HomeState, publish_home, state_of
from bot.listeners.actions import NOT_A_SUGGESTION, tell
from bot.reviewers import is_reviewer, rejection_text
from bot.thread import refresh_messages
from engine.fieldtypes import display
from engine.jobs import open_log
from engine.models import FieldSpec, FieldType
from engine.promote import InvalidEdit, ReviewInterrupted, check_edit, promote
from engine.settings import Settings
from engine.store import is_suggestion, suggestion_key

log = logging.getLogger("scout.bot")

CALLBACK = "scout_edit_submit"
VALUE_BLOCK = "scout_edit_value"
VALUE_ACTION = "value"
_ROW_ID = re.compile(r"[1-9][0-9]{0,17}")


class EditOrigin(BaseModel):
    """Where the modal was opened from (its private_metadata): the suggestion, and the message or Home view."""

    suggestion_id: int
    channel: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    home: HomeState | None = None


def _option(text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": text[:150]}


def value_input(rep: FieldSpec, value: Any) -> dict[str, Any]:
    """The input element for `rep`'s type, holding `value` where it fits."""
    shown = display(value)
    if rep.type is FieldType.SELECT and rep.options:
        element: dict[str, Any] = {"type": "static_select", "options": [_option(o) for o in rep.options[:100]]}
        chosen = next((o for o in rep.options if o.casefold() == shown.strip().casefold()), None)
        if chosen:
            element["initial_option"] = _option(chosen)
    elif rep.type is FieldType.MULTI_SELECT and rep.options:
        element = {"type": "multi_static_select", "options": [_option(o) for o in rep.options[:100]]}
        items = value if isinstance(value, list) else re.split(r"[;,]", shown)
        wanted = {str(i).strip().casefold() for i in items}
        chosen_many = [o for o in rep.options if o.casefold() in wanted]
        if chosen_many:
            element["initial_options"] = [_option(o) for o in chosen_many]
    elif rep.type is FieldType.NUMBER:
        element = {"type": "number_input", "is_decimal_allowed": True}
        number = re.sub(r"[^0-9.\-]", "", shown)
        if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", number):
            element["initial_value"] = number
    elif rep.type is FieldType.DATE:
        element = {"type": "datepicker"}
        try:
            element["initial_date"] = date.fromisoformat(shown[:10]).isoformat()
        except ValueError:
            pass
    else:
        element = {"type": "plain_text_input", "multiline": len(shown) > 80, "max_length": 3000}
        person = shown.split(",")[0].strip() if rep.type is FieldType.PERSON else shown
        if person:
            element["initial_value"] = person[:3000]
    return {**element, "action_id": VALUE_ACTION}


def edit_modal(origin: EditOrigin, rep: FieldSpec, suggested: Any, excerpt: str | None, concept_label: str
               ) -> dict[str, Any]:
    quote = f"\n> “{blocks.esc(excerpt, 800)}”" if excerpt else ""
    return {
        "type": "modal", "callback_id": CALLBACK, "private_metadata": origin.model_dump_json()[:3000],
        "title": {"type": "plain_text", "text": "Edit & promote"},
        "submit": {"type": "plain_text", "text": "Promote"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            blocks.section(f"*{blocks.esc(concept_label, 100)}*: Scout suggested "
                           f"*{blocks.esc(suggested, 500)}*{quote}"),
            {"type": "input", "block_id": VALUE_BLOCK, "element": value_input(rep, suggested),
             "label": {"type": "plain_text", "text": f"Value for {rep.name}"[:2000]}},
            blocks.context(f"Promote writes your value into `{rep.name}` if it is still empty (needs LIVE_WRITES=1). "
                           "The log keeps Scout's value and quote beside your edit, recorded as your decision."),
        ],
    }


def submitted(view: dict[str, Any], rep: FieldSpec) -> Any:
    """The value the form holds, as the input type hands it over (None when empty)."""
    state = ((view.get("state") or {}).get("values") or {}).get(VALUE_BLOCK, {}).get(VALUE_ACTION) or {}
    if rep.type is FieldType.SELECT and "selected_option" in state:
        return (state.get("selected_option") or {}).get("value")
    if rep.type is FieldType.MULTI_SELECT and "selected_options" in state:
        return [o.get("value") for o in state.get("selected_options") or []]
    if rep.type is FieldType.DATE and "selected_date" in state:
        return state.get("selected_date")
    return state.get("value")


async def open_edit(settings: Settings, body: dict[str, Any], client: AsyncWebClient) -> None:
    user, action = body["user"]["id"], body["actions"][0]
    if not await is_reviewer(settings, client, user):
        await tell(settings, client, body, rejection_text(settings, user))
        return
    raw = str(action.get("value") or "")
    row, decided = None, None
    if _ROW_ID.fullmatch(raw):
        async with open_log(settings) as store:
            row = await store.get_action(int(raw))
            decided = await store.final_decision(suggestion_key(row)) if row is not None else None
    fields = settings.field_map.fields_for(row.concept) if row is not None else None
    if row is None or fields is None or not is_suggestion(row):
        await tell(settings, client, body, NOT_A_SUGGESTION)
        return
    if decided is not None:
        await tell(settings, client, body, f":information_source: Already {decided.action.value} by "
                                           f"<@{decided.actor}>; nothing more was done")
        return
    message = body.get("message") or {}
    origin = EditOrigin(suggestion_id=row.id or 0, channel=(body.get("channel") or {}).get("id"),
                        ts=message.get("ts"), thread_ts=message.get("thread_ts"),
                        home=state_of(body["view"]) if "view" in body else None)
    await client.views_open(trigger_id=body["trigger_id"],
                            view=edit_modal(origin, fields.rep, row.new, row.excerpt, fields.label))


async def _answer(settings: Settings, client: AsyncWebClient, origin: EditOrigin, user: str, text: str) -> None:
    if origin.home is not None or origin.channel is None:
        await publish_home(settings, client, user, origin.home, notice=text)
    else:
        await client.chat_postEphemeral(channel=origin.channel, user=user, text=text, thread_ts=origin.thread_ts)


async def submit_edit(settings: Settings, body: dict[str, Any], client: AsyncWebClient, origin: EditOrigin,
                      value: Any) -> None:
    """After the form closed: promote the edit, then show the outcome where the reviewer clicked."""
    user, view = body["user"]["id"], body["view"]
    posted_at = (origin.channel, origin.ts) if origin.channel and origin.ts else None
    try:
        result = await promote(origin.suggestion_id, user, settings, click_id=f"edit:{view['id']}",
                               posted_at=posted_at, edited=value)
    except ReviewInterrupted as exc:
        log.exception("edit of suggestion %s by %s was interrupted", origin.suggestion_id, user)
        await _answer(settings, client, origin, user, f":warning: Scout could not confirm the promotion: "
                                                      f"{blocks.esc(exc, 300)} (see `scout log {exc.run_id}`).")
        return
    await refresh_messages(settings, client, [origin.suggestion_id])
    await _answer(settings, client, origin, user, blocks.status_line(result))


def register(app: AsyncApp, settings: Settings) -> None:
    @app.action(blocks.EDIT)
    async def on_edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        try:
            await open_edit(settings, body, client)
        except Exception as exc:
            log.exception("the edit form could not be opened")
            await tell(settings, client, body, f":x: Scout could not open the edit form: {blocks.esc(exc, 300)}")

    @app.view(CALLBACK)
    async def on_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view, user = body["view"], body["user"]["id"]
        try:
            origin = EditOrigin.model_validate_json(view.get("private_metadata") or "")
        except ValidationError:
            await ack(response_action="errors", errors={VALUE_BLOCK: NOT_A_SUGGESTION})
            return
        async with open_log(settings) as store:
            row = await store.get_action(origin.suggestion_id)
        fields = settings.field_map.fields_for(row.concept) if row is not None else None
        if row is None or fields is None:
            await ack(response_action="errors", errors={VALUE_BLOCK: NOT_A_SUGGESTION})
            return
        if not await is_reviewer(settings, client, user):
            await ack(response_action="errors", errors={VALUE_BLOCK: rejection_text(settings, user)[:150]})
            return
        raw = submitted(view, fields.rep)
        try:
            value = check_edit(fields.rep, raw)
        except InvalidEdit as exc:
            await ack(response_action="errors", errors={VALUE_BLOCK: str(exc)[:150]})
            return
        await ack()  # the form closes; the write and its checks follow
        try:
            await submit_edit(settings, body, client, origin, value)
        except Exception as exc:
            log.exception("edit of suggestion %s by %s failed", origin.suggestion_id, user)
            await _answer(settings, client, origin, user,
                          f":x: Scout could not record that: {blocks.esc(exc, 300)}. Nothing was written.")

