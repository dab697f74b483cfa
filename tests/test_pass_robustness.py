"""The pass under surprises: bugs in one deal, humans editing mid-run, outages, and other live processes."""

from __future__ import annotations

import sqlite3

from engine.jobs import run_job
from engine.models import ActionKind, Deal, Extraction, Note
from engine.provenance import ActionRow, ProvenanceStore
from tests.pipeline import GOOD_SCRIPT, finding, seed, small_pipeline, snapshot
from tests.standins.scripted_model import ScriptedModel


async def actions(settings, run_id):
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        return await store.actions_for_run(run_id), await store.get_run(run_id)
    finally:
        await store.aclose()


class Wrapping:
    """An extractor around a real one: the same model and prompt, so the same cache keys."""

    def __init__(self, inner):
        self.inner = inner

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def prompt_version(self) -> str:
        return self.inner.prompt_version


class Faulty(Wrapping):
    """Wraps a real extractor and fails the way a bug would on chosen deals."""

    def __init__(self, inner, fail_on: set[str], error: Exception):
        super().__init__(inner)
        self.fail_on, self.error = fail_on, error

    async def extract(self, deal: Deal, notes: list[Note], field_map) -> Extraction:
        if deal.id in self.fail_on:
            raise self.error
        return await self.inner.extract(deal, notes, field_map)


async def test_an_unexpected_error_on_one_deal_fails_that_deal_only_and_the_run_finishes(make_settings):
    settings = make_settings(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    extractor = Faulty(ScriptedModel(GOOD_SCRIPT).extractor(), {"d1"}, ValueError("boom"))

    summary, _ = await run_job(settings, apply=True, extractor=extractor)

    rows, run = await actions(settings, summary.run_id)
    assert run.status == "finished"
    d1 = [r for r in rows if r.deal_id == "d1"]
    assert [(r.action, r.reason, r.error) for r in d1] == [(ActionKind.FAILED, "unexpected error", "ValueError: boom")]
    assert summary.written == 2 and summary.failed == 1  # d3 and d5 were still written
    assert "unexpected ValueError: boom" in summary.errors[0]


async def test_an_outage_stops_extracting_after_five_failures_and_leaves_the_rest_at_the_front(make_settings):
    from engine.extract.base import ExtractionError

    settings = make_settings(SCOUT_CONCURRENCY="1")
    data = small_pipeline(extra_deals=8)
    for i in range(8):  # give every extra deal a note so each one needs the (failing) extractor
        data.notes.append(Note(id=f"xn{i}", deal_id=f"x{i:03d}", created_at=data.notes[0].created_at,
                               text="Budget owner is unknown."))
    await seed(settings.workspace, data)
    down = ExtractionError("Claude is overloaded (529) after 4 retries")
    extractor = Faulty(ScriptedModel(GOOD_SCRIPT).extractor(), {d.id for d in data.deals}, down)

    summary, _ = await run_job(settings, apply=False, extractor=extractor)

    rows, _ = await actions(settings, summary.run_id)
    assert [r.action for r in rows] == [ActionKind.FAILED] * 5
    assert summary.errors[0].startswith("stopped extracting after 5 failures in a row")
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    assert await store.last_scanned(dry_run=True) == {"d4": (await store.last_scanned())["d4"]}  # no notes
    await store.aclose()


async def test_a_live_pass_decides_on_the_crm_as_it_is_when_it_writes(make_settings):
    settings = make_settings(LIVE_WRITES="1", SCOUT_CONCURRENCY="1")
    await seed(settings.workspace, small_pipeline())

    class RepTypesMeanwhile(ScriptedModel):
        def handle(self, request):
            reply = super().handle(request)
            if self.calls == 1:  # while Claude reads d1's notes, the rep and ops edit d1
                with sqlite3.connect(settings.workspace) as db:
                    db.execute("INSERT INTO deal_values VALUES ('d1', 'economic_buyer', '\"p2\"')")
                    db.execute("INSERT INTO deal_values VALUES ('d1', 'scout_competition', '\"Typed by ops\"')")
            return reply

    summary, _ = await run_job(settings, apply=True, extractor=RepTypesMeanwhile(GOOD_SCRIPT).extractor())

    rows, _ = await actions(settings, summary.run_id)
    d1 = {r.field: r for r in rows if r.deal_id == "d1"}
    assert d1["scout_economic_buyer"].action is ActionKind.SKIPPED
    assert d1["scout_economic_buyer"].rep_value == "Sam Lee"
    assert d1["scout_competition"].action is ActionKind.WRITTEN
    assert d1["scout_competition"].previous == "Typed by ops"  # what undo will put back
    assert "scout_economic_buyer" not in (await snapshot(settings.workspace))["d1"]


async def test_values_are_fitted_before_the_newest_note_wins_and_same_note_options_merge(make_settings):
    settings = make_settings()
    await seed(settings.workspace, small_pipeline())
    script = {
        "n1": [finding("economic_buyer", "Dana Ruiz, CFO", "n1", "Dana Ruiz, the CFO, holds the budget")],
        "n2": [
            finding("economic_buyer", ["Dana Ruiz", "CFO"], "n2", "They will judge vendors on security"),
            finding("paper_process", "Approved by Mallory", "n2", "They will judge vendors on security"),
            finding("decision_criteria", ["Security"], "n2", "They will judge vendors on security"),
            finding("decision_criteria", ["Integrations"], "n2", "integrations with NetSuite"),
        ],
    }
    summary, _ = await run_job(settings, apply=False, extractor=ScriptedModel(script).extractor())
    rows, _ = await actions(settings, summary.run_id)
    d1 = [(r.field, r.action, r.new) for r in rows if r.deal_id == "d1"]
    assert ("scout_economic_buyer", ActionKind.WOULD_WRITE, "Dana Ruiz, CFO") in d1
    assert ("scout_economic_buyer", ActionKind.DROPPED, ["Dana Ruiz", "CFO"]) in d1
    assert ("scout_paper_process", ActionKind.DROPPED, "Approved by Mallory") in d1
    assert ("scout_decision_criteria", ActionKind.WOULD_WRITE, ["Integrations", "Security"]) in d1


async def test_a_rehearsal_previews_exactly_the_deals_the_next_live_pass_takes(make_settings):
    settings = make_settings(LIVE_WRITES="1", SCOUT_SCAN_CAP="3")
    await seed(settings.workspace, small_pipeline())
    model = ScriptedModel(GOOD_SCRIPT)
    dry, _ = await run_job(settings, apply=False, extractor=model.extractor())
    live, _ = await run_job(settings, apply=True, extractor=model.extractor())
    dry_rows, _ = await actions(settings, dry.run_id)
    live_rows, _ = await actions(settings, live.run_id)
    preview = sorted((r.deal_id, r.field, str(r.new)) for r in dry_rows if r.action is ActionKind.WOULD_WRITE)
    done = sorted((r.deal_id, r.field, str(r.new)) for r in live_rows if r.action is ActionKind.WRITTEN)
    assert preview == done and len(done) == 5  # d1's four and d3's champion: the first three deals


async def test_a_live_promotion_in_flight_is_left_to_its_own_process(make_settings):
    settings = make_settings()
    await seed(settings.workspace, small_pipeline())
    store = await ProvenanceStore.open(settings.log_db)
    click = await store.start_run("promote", dry_run=False, dry_run_reason=None)
    intent = await store.log(ActionRow(run_id=click, deal_id="d1", field="economic_buyer", new="Dana Ruiz",
                                       action=ActionKind.PROMOTED, status="pending", dry_run=False))
    await store.aclose()

    summary, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    assert summary.reconciled == 0
    store = await ProvenanceStore.open(settings.log_db)
    assert (await store.get_action(intent)).status == "pending"
    await store.aclose()


async def test_a_pass_left_running_by_a_killed_process_is_marked_interrupted(make_settings):
    settings = make_settings()
    await seed(settings.workspace, small_pipeline())
    store = await ProvenanceStore.open(settings.log_db)
    dead = await store.start_run("pass", dry_run=True, dry_run_reason="x")
    await store.aclose()
    await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    store = await ProvenanceStore.open(settings.log_db)
    assert (await store.get_run(dead)).status == "interrupted"
    await store.aclose()


class WaitsForTheNextPage(Wrapping):
    """Wraps a real extractor: one deal of the first page waits until a deal of the next page has started."""

    def __init__(self, inner, waiting: str, next_page: set[str]):
        super().__init__(inner)
        self.waiting, self.next_page = waiting, next_page
        self.started: list[str] = []
        self.overlapped: list[bool] = []

    async def extract(self, deal: Deal, notes: list[Note], field_map) -> Extraction:
        import asyncio

        self.started.append(deal.id)
        if deal.id == self.waiting:
            async def next_page_started() -> None:
                while not self.next_page & set(self.started):
                    await asyncio.sleep(0.01)
            try:
                await asyncio.wait_for(next_page_started(), 10)
                self.overlapped.append(True)
            except TimeoutError:
                self.overlapped.append(False)
        return await self.inner.extract(deal, notes, field_map)


async def test_a_slow_deal_at_the_end_of_a_page_does_not_hold_the_next_page_back(make_settings):
    """Issue 2's latency target under pages (issue 14): workers left idle by a page's last, slow deals take
    the next page's deals, so a pass is not one round of model latency longer per page."""
    from engine.crm.local import LocalCRM
    from engine.gate import Gate
    from engine.runner import run_pass

    settings = make_settings()
    data = small_pipeline(extra_deals=8)
    for i in range(8):
        data.notes.append(Note(id=f"xn{i}", deal_id=f"x{i:03d}", created_at=data.notes[0].created_at,
                               text="Budget owner is unknown."))
    await seed(settings.workspace, data)
    # Deals go in id order: the first page of four is d1..d4, the next d5, x000, x001, x002.
    extractor = WaitsForTheNextPage(ScriptedModel(GOOD_SCRIPT).extractor(), "d3", {"d5", "x000", "x001", "x002"})
    crm = await LocalCRM.open(settings.workspace)
    store = await ProvenanceStore.open(settings.log_db)
    try:
        summary = await run_pass(crm=crm, writer=None, store=store, extractor=extractor,
                                 field_map=settings.field_map, gate=Gate(live=False, reason="test"), cap=13,
                                 concurrency=3, page_size=4)
    finally:
        await store.aclose()
        await crm.aclose()
    assert extractor.overlapped == [True], extractor.started
    assert summary.scanned == 13 and summary.failed == 0
