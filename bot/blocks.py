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
REVIEW_BLOCK = "scout_review"  # the actions block holding the two buttons
STATUS_BLOCK = "scout_status"  # the context line saying what happened to the suggestion

USAGE = ("*Usage:* `/scout DEAL NAME`, e.g. `/scout acme`.\nShows the deal's MEDIC fields side by side: the "
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
    rep = f"*{label(c.concept)}* · rep `{c.rep_field}`\n" + (esc(c.rep_value, 300) if c.rep_value else "_empty_")
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
    return plain(f"{view.name}: {filled} MEDIC fields filled by the rep, {suggested} with Scout suggestions")


# -- run summary ----------------------------------------------------------------------------------------------


def summary_header(s: RunSummary) -> str:
    if s.mode != "LIVE":
        return ":rotating_light: DRY RUN — nothing was written"
    return f":white_check_mark: LIVE — {s.written} suggestion(s) written to scout_* fields"


def summary_blocks(s: RunSummary, *, failed: bool, new_suggestions: int, note: str | None = None) -> list[Block]:
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
    blocks.append(section(f":thread: {new_suggestions} new suggestion(s) in the thread, each with Promote and Dismiss."
                          if new_suggestions else "No new suggestions this run."))
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


# -- one suggestion, in the thread -----------------------------------------------------------------------------


def suggestion_blocks(row: ActionRow, *, rep_field: str, url: str | None) -> list[Block]:
    rehearsed = row.action is ActionKind.WOULD_WRITE
    where = (f"_rehearsal: not written to `{row.field}`_" if rehearsed else f"_written to `{row.field}`_")
    text = (f"{deal_link(row.deal_name or row.deal_id or '?', url)} · {label(row.concept or '')}\n"
            f"*{esc(row.new, 500)}*  {where}")
    blocks = [section(text)]
    if row.excerpt:
        blocks.append(section(f"> “{esc(row.excerpt, 800)}”"))
    blocks.append(context(f"note {esc(row.note_id or '?', 60)} · run {row.run_id} · suggestion #{row.id} · "
                          f"Promote writes it into the rep's field `{rep_field}` (needs LIVE_WRITES=1)"))
    value = str(row.id)
    blocks.append({
        "type": "actions", "block_id": REVIEW_BLOCK,
        "elements": [
            {"type": "button", "action_id": PROMOTE, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Promote"},
             "confirm": {"title": {"type": "plain_text", "text": "Promote this suggestion?"},
                         "text": _md(f"Writes it into `{rep_field}` if that field is still empty."),
                         "confirm": {"type": "plain_text", "text": "Promote"},
                         "deny": {"type": "plain_text", "text": "Cancel"}}},
            {"type": "button", "action_id": DISMISS, "value": value,
             "text": {"type": "plain_text", "text": "Dismiss"}},
        ],
    })
    return blocks


def suggestion_text(row: ActionRow) -> str:
    return plain(f"Suggestion for {row.deal_name}: {row.field} = {display(row.new)}")


# -- after a click ----------------------------------------------------------------------------------------------


def status_line(r: ReviewResult) -> str:
    who = f"<@{r.reviewer}>"
    match r.outcome:
        case ReviewOutcome.PROMOTED:
            return (f":white_check_mark: Promoted by {who} — written to `{r.rep_field}`: *{esc(r.written, 200)}*"
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


def reviewed_blocks(original: list[Block], line: str, *, keep_buttons: bool) -> list[Block]:
    """The posted suggestion with its status line replaced, and the buttons gone once it is settled."""
    kept = [b for b in original if b.get("block_id") != STATUS_BLOCK
            and (keep_buttons or b.get("block_id") != REVIEW_BLOCK)]
    status = context(line, block_id=STATUS_BLOCK)
    at = next((i for i, b in enumerate(kept) if b.get("block_id") == REVIEW_BLOCK), len(kept))
    return kept[:at] + [status] + kept[at:]
