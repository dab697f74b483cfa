"""Block Kit builders. Pure functions from engine results to the dicts Slack renders.

Note text is data: every excerpt, value and deal name is escaped, so a note saying `<!channel>` or
`<https://evil|click>` shows as text and never pings or links, and `*bold*`, `_it_`, `~struck~` or a
backtick shows as written, not as formatting. Slack's mrkdwn has no escape for those four, so they are
shown as look-alikes (∗ ˍ ∼ ˋ); an underscore inside a word ("scout_champion") cannot format and stays.
"""

from __future__ import annotations

from typing import Any

from engine.dealview import ConceptView, DealView, Lookup
from engine.fieldtypes import display
from engine.models import ActionKind, RunSummary
from engine.promote import ReviewOutcome, ReviewResult
from engine.provenance import ActionRow
from engine.summary import headline

Block = dict[str, Any]

PROMOTE = "scout_promote"
DISMISS = "scout_dismiss"
PROMOTE_ALL = "scout_promote_all"
EDIT = "scout_edit"  # Edit & promote: opens a modal holding the suggested value
MAX_BLOCKS = 50  # Slack's cap on one message
REVIEW_BLOCK = "scout_review"  # the actions block holding the two buttons
STATUS_BLOCK = "scout_status"  # the context line saying what happened to the suggestion

USAGE = ("*Usage:* `/scout DEAL NAME`, e.g. `/scout acme`.\nShows the deal's qualification fields side by side: the "
         "rep's value, Scout's cited suggestion, and what a fresh read of the notes finds now. "
         "Read-only: it never changes the CRM.")


_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LOOKALIKES = {"*": "\u2217", "~": "\u223c", "`": "\u02cb", "_": "\u02cd"}


def _shown(text: str, i: int) -> str:
    """One character as Slack must receive it to show it as text."""
    ch = text[i]
    if ch == "_" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
        return ch  # inside a word: never formatting
    return _ENTITIES.get(ch) or _LOOKALIKES.get(ch) or ch


def esc(text: Any, limit: int = 600) -> str:
    """Escape for mrkdwn (links, mentions and formatting) and keep it to `limit` characters.

    The limit counts the escaped text, and the cut never splits an entity: what Slack receives fits the field
    it goes into and shows no stray `&am`.
    """
    out: list[str] = []
    used = 0
    flat = " ".join(display(text).split())
    for i in range(len(flat)):
        piece = _shown(flat, i)
        if used + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        used += len(piece)
    return "".join(out)


def plain(text: Any, limit: int = 3000) -> str:
    """Top-level `text` (notifications, search) is mrkdwn too: escaped like the blocks."""
    return esc(text, limit)


def safe_url(url: str | None) -> str | None:
    """A link target Slack cannot be tricked by: http(s) only, no characters that end or split `<url|text>`."""
    if not url or not url.startswith(("https://", "http://")):
        return None
    if any(c.isspace() or c in "<>|" for c in url) or len(url) > 2000:
        return None
    return url.replace("&", "&amp;")


def label(concept: str) -> str:
    return concept.replace("_", " ").capitalize()


def _md(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": _md(text[:3000]), **extra}


def context(*texts: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "context", "elements": [_md(t[:3000]) for t in texts if t][:10]}
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    """plain_text: no markup to escape; Slack rejects an empty or over-150-character header."""
    text = " ".join(text.split()) or "(unnamed)"
    return {"type": "header", "text": {"type": "plain_text", "text": text[:149] + "…" if len(text) > 150 else text,
                                       "emoji": True}}


def deal_link(name: str, url: str | None) -> str:
    target = safe_url(url)
    return f"<{target}|{esc(name, 140)}>" if target else f"*{esc(name, 140)}*"


# -- /scout ---------------------------------------------------------------------------------------------------


def usage_blocks() -> list[Block]:
    return [section(USAGE)]


def not_found_blocks(query: str) -> list[Block]:
    return [section(f"No deal matches *{esc(query, 100)}*. Check the spelling, or try part of the name."),
            context("`/scout` is read-only: it only looks.")]


def candidates_blocks(result: Lookup) -> list[Block]:
    lines = "\n".join(f"• `{esc(c.deal_id, 60)}` {esc(c.name, 140)}" for c in result.candidates)
    if result.more:
        lines += f"\n…and {result.more} more"
    return [section(f"*{esc(result.query, 100)}* matches {result.total} deals. Which one?\n{lines}"),
            context(f"Type `/scout {esc(result.candidates[0].deal_id, 60)}` (an id from the list) or more of the name.")]


def error_blocks(text: str) -> list[Block]:
    return [section(f":warning: {esc(text, 1500)}")]


def _suggestion_cell(c: ConceptView) -> str:
    head = f"*Scout* · `{c.scout_field}`\n"
    if not c.scout_value and not c.suggestion_excerpt:
        return head + "_no suggestion_"
    text = head + (esc(c.scout_value, 300) if c.scout_value else "_not written (rehearsal)_")
    if c.suggestion_excerpt:
        when = f" — note of {c.suggestion_note_date}" if c.suggestion_note_date else ""
        text += f"\n> “{esc(c.suggestion_excerpt, 400)}”{when}"
    return text


def _concept_blocks(c: ConceptView, fresh_ran: bool) -> list[Block]:
    name = esc(c.label, 100) if c.label else label(c.concept)
    rep = f"*{name}* · rep `{c.rep_field}`\n" + (esc(c.rep_value, 300) if c.rep_value else "_empty_")
    blocks = [{"type": "section", "fields": [_md(rep[:2000]), _md(_suggestion_cell(c)[:2000])]}]
    if fresh_ran:
        now = (f"Fresh read now: *{esc(c.fresh_value, 200)}* — “{esc(c.fresh_excerpt, 300)}”"
               if c.fresh_value else "Fresh read now: nothing found")
        blocks.append(context(now))
    return blocks


def deal_view_blocks(view: DealView, *, fresh_ran: bool) -> list[Block]:
    scanned = f"last scanned {view.last_scanned[:16].replace('T', ' ')} UTC" if view.last_scanned else "never scanned"
    facts = [f for f in (esc(view.stage or "", 60), scanned) if f]
    if target := safe_url(view.url):
        facts.append(f"<{target}|open in CRM>")
    blocks = [header(view.name), context(" · ".join(facts) + " · read-only view"), {"type": "divider"}]
    for c in view.concepts:
        blocks.extend(_concept_blocks(c, fresh_ran))
    notes = []
    if view.fresh_error:
        notes.append(f":warning: fresh extraction failed: {esc(view.fresh_error, 300)}")
    if view.fresh_dropped:
        notes.append(f"{view.fresh_dropped} fresh finding(s) dropped: not stated by a word-for-word quote of the notes")
    if notes:
        blocks.append(context(*notes))
    return blocks


def deal_view_text(view: DealView) -> str:
    filled = sum(1 for c in view.concepts if c.rep_value)
    suggested = sum(1 for c in view.concepts if c.scout_value or c.suggestion_excerpt)
    return plain(f"{view.name}: {filled} qualification fields filled by the rep, {suggested} with Scout suggestions")


# -- run summary ----------------------------------------------------------------------------------------------


def summary_header(s: RunSummary) -> str:
    if s.mode != "LIVE":
        return ":rotating_light: DRY RUN — nothing was written"
    return f":white_check_mark: LIVE — {s.written} suggestion(s) written to scout_* fields"


def summary_blocks(s: RunSummary, *, failed: bool, new_suggestions: int, note: str | None = None,
                   deals_posted: int = 0, deals_waiting: int = 0) -> list[Block]:
    counts = (f"*{s.written} written, {s.would_write} would-write, {s.skipped} skipped, {s.dropped} dropped"
              + (f", {s.failed} failed" if s.failed else "") + f"* · scanned {s.scanned}/{s.total} (cap {s.cap})")
    blocks = [header(summary_header(s)), section(counts)]
    if s.mode != "LIVE":
        blocks.append(context(f"Why a dry run: {esc(s.dry_run_reason)}. Nothing changed in the CRM; the suggestions "
                              "below are what a live pass would write."))
    if note:
        blocks.append(context(esc(note)))
    facts = [f"run {s.run_id}", f"model {esc(s.model, 60)}" if s.model else ""]
    if s.not_reached:
        facts.append(f"{s.not_reached} deal(s) not reached (cap {s.cap}); they come first next run")
    if failed:
        facts.append(f":x: the pass failed; see `scout log {s.run_id}`")
    blocks.append(context(" · ".join(f for f in facts if f)))
    if not new_suggestions:
        blocks.append(section("No new suggestions this run."))
        return blocks
    line = (f":thread: {new_suggestions} new suggestion(s): {deals_posted} deal(s) posted in the thread, one message "
            "each with Promote and Dismiss")
    waiting = f"; {deals_waiting} more in the review queue (Scout's Home tab)." if deals_waiting else "."
    blocks.append(section(line + waiting))
    return blocks


def summary_text(s: RunSummary) -> str:
    """The notification text: it leads with the mode too."""
    prefix = "DRY RUN — nothing was written. " if s.mode != "LIVE" else "LIVE. "
    return plain(prefix + headline(s))


def skipped_blocks(reason: str) -> list[Block]:
    return [section(f":hourglass: Scheduled pass skipped: {esc(reason, 500)}"),
            context("Nothing was scanned or written by this scheduled run; the next one runs as scheduled.")]


def job_failed_blocks(reason: str) -> list[Block]:
    return [section(f":x: Scheduled pass did not complete: {esc(reason, 1000)}"),
            context("Nothing half-done is left unlogged; see `scout log` for what the pass recorded.")]


# -- one deal's suggestions, in the thread ------------------------------------------------------------------------


def _ids(block_id: str, sid: int) -> str:
    return f"{block_id}:{sid}"


def _confirm(title: str, text: str, yes: str) -> Block:
    return {"title": {"type": "plain_text", "text": title[:100]}, "text": _md(text[:300]),
            "confirm": {"type": "plain_text", "text": yes}, "deny": {"type": "plain_text", "text": "Cancel"}}


def _suggestion(row: ActionRow, rep_field: str, notes: dict[str, tuple[str, str]],
                concept_label: str | None = None) -> list[Block]:
    """Three blocks, always: the value and quote, a status line, the buttons (so a click never adds a block)."""
    assert row.id is not None
    rehearsed = row.action is ActionKind.WOULD_WRITE
    where = f"_rehearsal: not written to `{row.field}`_" if rehearsed else f"_written to `{row.field}`_"
    value = f"*{esc(row.new, 500)}*"
    if row.previous not in (None, "", []):
        value = f"{esc(row.previous, 300)} → {value}"
    shown = esc(concept_label, 100) if concept_label else label(row.concept or "")
    text = f"*{shown}*: {value}  {where}"
    if row.excerpt:
        date, author = notes.get(row.note_id or "", ("", ""))
        by = " · ".join(p for p in (f"note of {esc(date, 30)}" if date else f"note {esc(row.note_id or '?', 60)}",
                                     f"by {esc(author, 80)}" if author else "") if p)
        text += f"\n> “{esc(row.excerpt, 800)}”\n{by}"
    value_id = str(row.id)
    return [
        section(text),
        context(f"suggestion #{row.id} · run {row.run_id} · Promote writes it into the rep's field `{rep_field}` "
                "(needs LIVE_WRITES=1)", block_id=_ids(STATUS_BLOCK, row.id)),
        {"type": "actions", "block_id": _ids(REVIEW_BLOCK, row.id), "elements": [
            {"type": "button", "action_id": PROMOTE, "style": "primary", "value": value_id,
             "text": {"type": "plain_text", "text": "Promote"},
             "confirm": _confirm("Promote this suggestion?", f"Writes it into `{rep_field}` if that field is still "
                                 "empty.", "Promote")},
            {"type": "button", "action_id": EDIT, "value": value_id,
             "text": {"type": "plain_text", "text": "Edit & promote"}},
            {"type": "button", "action_id": DISMISS, "value": value_id,
             "text": {"type": "plain_text", "text": "Dismiss"}},
        ]},
    ]


def _promote_all(pending: list[tuple[int, str]]) -> Block:
    """The button names the suggestions it promotes; its confirmation names the rep fields they go into."""
    fields = ", ".join(f"`{f}`" for _, f in pending)
    return {"type": "button", "action_id": PROMOTE_ALL, "value": ",".join(f"{i}:{f}" for i, f in pending)[:2000],
            "text": {"type": "plain_text", "text": "Promote all"},
            "confirm": _confirm(f"Promote all {len(pending)}?", f"Writes {fields}, each only if still empty.",
                                "Promote all")}


def promote_all_ids(value: str) -> list[str]:
    """The suggestion ids a Promote all button names (unchecked text: the caller validates each)."""
    return [part.split(":", 1)[0] for part in value.split(",") if part]


def deal_messages(rows: list[ActionRow], *, rep_fields: dict[str, str], url: str | None,
                  notes: dict[str, tuple[str, str]], labels: dict[str, str] | None = None,
                  part_of: tuple[int, int] | None = None
                  ) -> list[tuple[list[ActionRow], list[Block]]]:
    """One deal's suggestions as Slack messages: one, or more when they pass Slack's 50-block cap.

    Each message leads with the deal and a "Promote all" for the suggestions it holds; each comes with its rows.
    `part_of` (n, m): these rows are the n-th of m messages already posted for the deal (a message redrawn).
    """
    per_message = (MAX_BLOCKS - 2) // 3
    chunks = [rows[i:i + per_message] for i in range(0, len(rows), per_message)]
    name = rows[0].deal_name or rows[0].deal_id or "?"
    out = []
    for n, chunk in enumerate(chunks, 1):
        at, of = part_of if part_of is not None and len(chunks) == 1 else (n, len(chunks))
        part = f" (part {at} of {of})" if of > 1 else ""
        head = section(f"{deal_link(name, url)}{part} · {len(chunk)} suggestion(s)")
        every = {"type": "actions", "block_id": PROMOTE_ALL, "elements": [
            _promote_all([(r.id or 0, rep_fields[r.concept or ""]) for r in chunk])]}
        blocks = [head, every]
        for row in chunk:
            shown = (labels or {}).get(row.concept or "")
            blocks.extend(_suggestion(row, rep_fields[row.concept or ""], notes, shown))
        out.append((chunk, blocks))
    return out


def queue_deal_blocks(rows: list[ActionRow], *, rep_fields: dict[str, str], url: str | None,
                      notes: dict[str, tuple[str, str]], labels: dict[str, str], owner: str | None) -> list[Block]:
    """One deal in App Home's queue: its line with Promote all beside it, then each suggestion as in the thread."""
    name = rows[0].deal_name or rows[0].deal_id or "?"
    who = f" · owner {esc(owner, 80)}" if owner else ""
    head = section(f"{deal_link(name, url)}{who} · {len(rows)} suggestion(s)",
                   block_id=f"{PROMOTE_ALL}:{rows[0].id}",
                   accessory=_promote_all([(r.id or 0, rep_fields[r.concept or ""]) for r in rows]))
    out = [head]
    for row in rows:
        out.extend(_suggestion(row, rep_fields[row.concept or ""], notes, labels.get(row.concept or "")))
    return out


def deal_text(rows: list[ActionRow]) -> str:
    return plain(f"{len(rows)} suggestion(s) for {rows[0].deal_name}: "
                 + "; ".join(f"{r.field} = {display(r.new)}" for r in rows))


# -- after a click ----------------------------------------------------------------------------------------------


def status_line(r: ReviewResult) -> str:
    who = f"<@{r.reviewer}>"
    match r.outcome:
        case ReviewOutcome.PROMOTED:
            how = " with an edit" if r.edited else ""
            return (f":white_check_mark: Promoted by {who}{how} — written to `{r.rep_field}`: *{esc(r.written, 200)}*"
                    f" · undo with `scout undo {r.run_id}`")
        case ReviewOutcome.WOULD_PROMOTE:
            return f":warning: Not written: {esc(_after_colon(r.detail), 300)} ({who} clicked Promote)"
        case ReviewOutcome.DISMISSED:
            return f":no_entry_sign: Dismissed by {who} — it will not be posted again"
        case ReviewOutcome.ALREADY:
            verb = "dismissed" if r.decided_action is ActionKind.DISMISSED else "promoted"
            return f":information_source: Already {verb} by <@{r.decided_by}>; nothing more was done"
        case ReviewOutcome.REFUSED:
            return f":x: Not promoted: {esc(_after_colon(r.detail), 400)} ({who})"
        case _:
            return f":x: {esc(r.detail[:1].upper() + r.detail[1:], 400)} ({who})"


def _after_colon(detail: str) -> str:
    return detail.split(": ", 1)[1] if ": " in detail else detail


def reviewed_blocks(original: list[Block], line: str, *, keep_buttons: bool, suggestion_id: int) -> list[Block]:
    """The posted message with that suggestion's status line replaced, and its buttons gone once it is settled."""
    status_id, review_id = _ids(STATUS_BLOCK, suggestion_id), _ids(REVIEW_BLOCK, suggestion_id)
    out: list[Block] = []
    for b in original:
        if b.get("block_id") == status_id:
            out.append(context(line, block_id=status_id))
        elif b.get("block_id") == review_id:
            if keep_buttons:
                out.append(b)
        elif b.get("block_id") == PROMOTE_ALL and not keep_buttons:
            out.append(_without(b, suggestion_id))
        else:
            out.append(b)
    # Promote all with nothing left to promote goes too.
    return [b for b in out if not (b.get("block_id") == PROMOTE_ALL and not b["elements"])]


def _without(block: Block, suggestion_id: int) -> Block:
    """Promote all, no longer naming a settled suggestion."""
    elements = []
    for e in block.get("elements", []):
        pending = [p.split(":", 1) for p in str(e.get("value", "")).split(",") if ":" in p]
        left = [(int(i), f) for i, f in pending if i.isdigit() and i != str(suggestion_id)]
        if left:
            elements.append(_promote_all(left))
    return {**block, "elements": elements}
