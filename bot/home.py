"""App Home as the review queue: every pending suggestion, grouped by deal, newest first, paged and filtered.

Published (`views.publish`) when a user opens the Home tab and after a decision made there. A reviewer sees
the queue with the same Promote, Edit & promote, Dismiss and Promote all buttons as the thread (one handler
answers both); anyone else sees a read-only count and who can review. Pending means: the newest suggestion
for its field, not promoted, dismissed or undone (the log's `pending_suggestions`), and still current in the
CRM (the rep field still empty, a live suggestion still in its scout_* field). A decision made in the thread
shows here the next time the tab is opened (Slack sends `app_home_opened` each time).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.post import concept_labels, deal_context, rep_fields
from bot.reviewers import is_reviewer
from engine.crm.base import CRMError
from engine.crm.factory import open_reader
from engine.fieldtypes import display, is_empty, same_value
from engine.medic import ConceptFields
from engine.models import ActionKind, Deal
from engine.promote import ReviewResult
from engine.provenance import ActionRow, open_log_reader
from engine.settings import Settings
from engine.store import suggestion_key

log = logging.getLogger("scout.bot")

PAGE = 20  # suggestions a page holds at most: 3 blocks each plus one per deal stays under a view's 100 blocks
MAX_VIEW_BLOCKS = 100
CONCEPT_FILTER = "scout_home_concept"
OWNER_FILTER = "scout_home_owner"
PAGE_ACTION = "scout_home_page"
ALL = "*"
OWNER_FIELDS = ("owner", "hubspot_owner_id", "OwnerId")  # where the CRMs keep a deal's owner (read as a name)


class HomeState(BaseModel):
    """What the view shows, kept in its private_metadata so a filter or page click keeps the rest."""

    page: int = 0
    concept: str | None = None
    owner: str | None = None


def state_of(view: dict[str, Any] | None) -> HomeState:
    try:
        return HomeState.model_validate_json((view or {}).get("private_metadata") or "{}")
    except ValidationError:
        return HomeState()


def owner_of(deal: Deal | None) -> str | None:
    if deal is None:
        return None
    for name in OWNER_FIELDS:
        if (value := deal.values.get(name)) not in (None, "", []):
            return display(value)
    return None


def _current(row: ActionRow, deal: Deal | None, fields: ConceptFields | None) -> bool:
    """Still worth a reviewer's look: the rep has not answered, and a live suggestion still stands."""
    if deal is None or fields is None:
        return False
    if not is_empty(fields.rep.type, deal.values.get(fields.rep.name)):
        return False
    return row.action is not ActionKind.WRITTEN or same_value(deal.values.get(fields.scout.name), row.new)


class Queue(BaseModel):
    rows: list[ActionRow]  # pending and current, newest first
    deals: dict[str, Deal]
    results: dict[str, str]  # suggestion key -> the latest review's result JSON (e.g. a rehearsed promotion)


async def read_queue(settings: Settings) -> Queue:
    """The queue from the log's reader, checked against the CRM as it is now (one batched read)."""
    if not settings.shared_log and not settings.log_db.exists():
        return Queue(rows=[], deals={}, results={})
    store = await open_log_reader(settings.log_target)
    try:
        rows = await store.pending_suggestions()
        results = await store.review_results([suggestion_key(r) for r in rows])
    finally:
        await store.aclose()
    ids = sorted({r.deal_id for r in rows if r.deal_id})
    deals: dict[str, Deal] = {}
    if ids:
        crm = await open_reader(settings)
        try:
            deals = await crm.get_deals(ids)
        finally:
            await crm.aclose()
    current = [r for r in rows if _current(r, deals.get(r.deal_id or ""), settings.field_map.fields_for(r.concept))]
    return Queue(rows=current, deals=deals, results=results)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75] or "?"}, "value": value[:150]}


def _select(action_id: str, label: str, choices: list[tuple[str, str]], chosen: str | None) -> dict[str, Any]:
    options = [_option(label, ALL)] + [_option(t, v) for t, v in choices][:99]
    initial = next((o for o in options if o["value"] == (chosen or ALL)), options[0])
    return {"type": "static_select", "action_id": action_id, "options": options, "initial_option": initial,
            "placeholder": {"type": "plain_text", "text": label}}


def _page_button(text: str, page: int) -> dict[str, Any]:
    return {"type": "button", "action_id": f"{PAGE_ACTION}_{text.split()[0].lower()}", "value": str(page),
            "text": {"type": "plain_text", "text": text}}


class Page(BaseModel):
    state: HomeState  # with the page number brought within range
    shown: list[ActionRow]  # every suggestion the filters let through
    rows: list[ActionRow]  # this page's
    pages: int
    owners: dict[str, str | None]


def page_of(queue: Queue, state: HomeState) -> Page:
    owners = {r.deal_id or "": owner_of(queue.deals.get(r.deal_id or "")) for r in queue.rows}
    shown = [r for r in queue.rows if (state.concept is None or r.concept == state.concept)
             and (state.owner is None or owners.get(r.deal_id or "") == state.owner)]
    pages = _pages(shown)
    page = min(max(state.page, 0), len(pages) - 1)
    return Page(state=state.model_copy(update={"page": page}), shown=shown, rows=pages[page], pages=len(pages),
                owners=owners)


def _pages(rows: list[ActionRow]) -> list[list[ActionRow]]:
    """Whole deals to a page, up to PAGE suggestions; only a deal with more than PAGE is split across pages."""
    pages: list[list[ActionRow]] = [[]]
    for deal in _by_deal(rows):
        for i in range(0, len(deal), PAGE):
            chunk = deal[i:i + PAGE]
            if pages[-1] and len(pages[-1]) + len(chunk) > PAGE:
                pages.append([])
            pages[-1].extend(chunk)
    return pages


def reviewer_view(settings: Settings, queue: Queue, state: HomeState, *, notes: dict[str, tuple[str, str]],
                  urls: dict[str, str | None], notice: str | None = None) -> dict[str, Any]:
    """The queue for a reviewer: filters, one page of deals with their suggestions, paging."""
    at = page_of(queue, state)
    state, shown, rows, pages, owners, page = at.state, at.shown, at.rows, at.pages, at.owners, at.state.page
    head: list[blocks.Block] = [
        blocks.header("Scout review queue"),
        blocks.context(f"{len(shown)} suggestion(s) waiting on {len({r.deal_id for r in shown})} deal(s) · "
                       f"newest first · page {page + 1} of {pages}"
                       + (f" · filtered from {len(queue.rows)}" if len(shown) != len(queue.rows) else "")),
    ]
    concepts = sorted({r.concept or "" for r in queue.rows})
    filters = [_select(CONCEPT_FILTER, "All concepts", [(settings.field_map.label(c), c) for c in concepts],
                       state.concept)]
    named = sorted({o for o in owners.values() if o})
    if named:  # only where the CRM has deal owners
        filters.append(_select(OWNER_FILTER, "All owners", [(o, o) for o in named], state.owner))
    head.append({"type": "actions", "block_id": "scout_home_filters", "elements": filters})
    if notice:
        head.append(blocks.section(notice[:3000]))
    body: list[blocks.Block] = []
    reps, labels = rep_fields(settings), concept_labels(settings)
    for deal_rows in _by_deal(rows):
        deal_id = deal_rows[0].deal_id or ""
        body.extend(blocks.queue_deal_blocks(deal_rows, rep_fields=reps, url=urls.get(deal_id), notes=notes,
                                             labels=labels, owner=owners.get(deal_id)))
    for row in rows:
        if (raw := queue.results.get(suggestion_key(row))) is not None:
            result = ReviewResult.model_validate_json(raw)
            body = blocks.reviewed_blocks(body, blocks.status_line(result), keep_buttons=not result.final,
                                          suggestion_id=row.id or 0)
    if not shown:
        body.append(blocks.section("Nothing waits for review. :tada:" if not queue.rows
                                   else "No suggestion matches these filters."))
    nav = [b for b in ((_page_button("Previous page", page - 1) if page > 0 else None),
                       (_page_button("Next page", page + 1) if page + 1 < pages else None)) if b]
    if nav:
        body.append({"type": "actions", "block_id": "scout_home_pages", "elements": nav})
    return {"type": "home", "private_metadata": state.model_dump_json(),
            "blocks": (head + body)[:MAX_VIEW_BLOCKS]}


def _by_deal(rows: list[ActionRow]) -> list[list[ActionRow]]:
    """Deals in the order of their newest suggestion; a deal's suggestions together, newest first."""
    groups: dict[str | None, list[ActionRow]] = {}
    for row in rows:
        groups.setdefault(row.deal_id, []).append(row)
    return list(groups.values())


def reviewers_line(settings: Settings) -> str:
    people = [f"<@{u}>" for u in sorted(settings.reviewer_ids)]
    if settings.reviewer_group:
        people.append(f"members of <!subteam^{settings.reviewer_group}>")
    if not people:
        return ("No Scout reviewers are configured yet: an admin sets SCOUT_REVIEWERS (user ids) or "
                "SCOUT_REVIEWER_GROUP.")
    return "Who can review: " + ", ".join(people) + "."


def read_only_view(settings: Settings, queue: Queue, notice: str | None = None) -> dict[str, Any]:
    deals = len({r.deal_id for r in queue.rows})
    return {"type": "home", "blocks": [
        blocks.header("Scout review queue"),
        *([blocks.section(notice[:3000])] if notice else []),
        blocks.section(f"{len(queue.rows)} suggestion(s) on {deals} deal(s) wait for a reviewer. Only Scout "
                       "reviewers can promote or dismiss them; this view is read-only."),
        blocks.context(reviewers_line(settings)),
    ]}


async def publish_home(settings: Settings, client: AsyncWebClient, user: str, state: HomeState | None = None,
                       *, notice: str | None = None) -> None:
    """Build and publish `user`'s Home tab. A CRM that cannot be read is said in the view, not as an error."""
    try:
        queue = await read_queue(settings)
    except CRMError as exc:
        view = {"type": "home", "blocks": [blocks.header("Scout review queue"),
                                           blocks.error_blocks(f"Scout cannot read the CRM: {exc}")[0]]}
        await client.views_publish(user_id=user, view=view)
        return
    if not await is_reviewer(settings, client, user):
        await client.views_publish(user_id=user, view=read_only_view(settings, queue, notice))
        return
    state = state or HomeState()
    ctx = await deal_context(settings, page_of(queue, state).rows)
    await client.views_publish(user_id=user, view=reviewer_view(settings, queue, state, notes=ctx.notes,
                                                                urls=ctx.urls, notice=notice))


def register(app: AsyncApp, settings: Settings) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab: nothing to publish
        await publish_home(settings, client, event["user"], state_of(event.get("view")))

    async def on_change(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        action = body["actions"][0]
        state = state_of(body.get("view"))
        if action["action_id"] in (CONCEPT_FILTER, OWNER_FILTER):
            chosen = (action.get("selected_option") or {}).get("value")
            key = "concept" if action["action_id"] == CONCEPT_FILTER else "owner"
            state = state.model_copy(update={key: None if chosen in (None, ALL) else chosen, "page": 0})
        else:
            raw = str(action.get("value") or "0")
            state = state.model_copy(update={"page": int(raw) if raw.isdigit() else 0})
        await publish_home(settings, client, body["user"]["id"], state)

    for action_id in (CONCEPT_FILTER, OWNER_FILTER, f"{PAGE_ACTION}_previous", f"{PAGE_ACTION}_next"):
        app.action(action_id)(on_change)

