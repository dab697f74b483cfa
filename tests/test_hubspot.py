"""HubSpot-specific behaviour the shared CRM contract suite does not cover, against the stateful stand-in."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from engine.crm.base import AuthError, CRMError, FieldTypeConflict
from engine.crm.hubspot import HubSpotCRM
from engine.crm.hubspot_codec import decode_value, html_to_text, property_info
from engine.extract.citations import verify_citations
from engine.medic import DECISION_CRITERIA_OPTIONS, default_field_map
from engine.models import Concept, FieldSpec, FieldType, Finding
from tests.standins.contract import FakeClock
from tests.standins.hubspot import PORTAL_ID, HubSpotStandIn

T0 = datetime(2026, 2, 2, 15, 30, tzinfo=timezone.utc)


def make(standin: HubSpotStandIn, clock: FakeClock, **kwargs) -> HubSpotCRM:
    return HubSpotCRM(standin.client(), default_field_map(), sleep=clock.sleep, clock=clock.time, **kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(clock: FakeClock) -> HubSpotStandIn:
    return HubSpotStandIn(clock=clock.time)


@pytest.fixture
async def crm(standin: HubSpotStandIn, clock: FakeClock):
    adapter = make(standin, clock)
    yield adapter
    await adapter.aclose()


# ---- note bodies: HTML in, plain text out, citations checked against the text -----------------------

RICH_BODY = (
    '<div style="" dir="auto" data-top-level="true">'
    "<h3>Discovery call &ndash; Acme</h3>"
    "<p>Spoke with <strong>Dana Ruiz</strong> (CFO).</p>"
    "<p>She said: &ldquo;We&rsquo;re losing &pound;40k&nbsp;a month to manual\n"
    "   reconciliation &amp; late invoices.&rdquo;</p>"
    "<p><br></p>"
    "<ul><li>Security review starts <em>next</em> week</li><li>Competing with Globex</li></ul>"
    "<style>p { color: red }</style><script>alert('x')</script>"
    "<p>Next step:<br>send the MSA</p>"
    "</div>"
)
RICH_TEXT = (
    "Discovery call \u2013 Acme\n"
    "Spoke with Dana Ruiz (CFO).\n"
    "She said: \u201cWe\u2019re losing \u00a340k a month to manual reconciliation & late invoices.\u201d\n"
    "\n"
    "- Security review starts next week\n"
    "- Competing with Globex\n"
    "Next step:\n"
    "send the MSA"
)


async def test_html_note_body_becomes_plain_text_and_citations_verify_against_it(standin, crm) -> None:
    deal_id = standin.add_deal("Acme Corp Renewal")
    note_id = standin.add_note(deal_id, RICH_BODY, created_at=T0)

    notes = await crm.list_notes(deal_id)

    assert [n.text for n in notes] == [RICH_TEXT]
    assert notes[0].id == note_id and notes[0].created_at == T0
    quoted = Finding(
        concept=Concept.IDENTIFIED_PAIN,
        value="manual reconciliation costs £40k a month",
        note_id=note_id,
        # Straight quotes and apostrophe, as a model tends to copy them: the citation check forgives that.
        excerpt="\"We're losing £40k a month to manual reconciliation & late invoices.\"",
    )
    from_markup = Finding(
        concept=Concept.IDENTIFIED_PAIN, value="x", note_id=note_id, excerpt="manual reconciliation &amp; late invoices"
    )
    from_script = Finding(concept=Concept.COMPETITION, value="x", note_id=note_id, excerpt="alert('x')")
    kept, dropped = verify_citations([quoted, from_markup, from_script], notes, default_field_map())
    assert kept == [quoted]
    assert [d.reason for d in dropped] == ["excerpt not found word for word in the cited note"] * 2


def test_html_to_text_edge_cases() -> None:
    assert html_to_text(None) == ""
    assert html_to_text("<p>a</p><p>b</p>") == "a\nb"  # paragraphs are lines, not blank-separated blocks
    assert html_to_text("<p>a</p><p><br></p><p><br></p><p>b</p>") == "a\n\nb"  # at most one blank line
    assert html_to_text("Plain text\nfrom the API &amp; kept lines") == "Plain text\nfrom the API & kept lines"
    assert html_to_text("<table><tr><td>Budget</td><td>40k</td></tr></table>") == "Budget 40k"


async def test_notes_skip_ones_deleted_between_association_and_read(standin, crm) -> None:
    deal_id = standin.add_deal("Globex")
    keep = standin.add_note(deal_id, "<p>Kept note</p>", created_at=T0)
    gone = standin.add_note(deal_id, "<p>Deleted note</p>", created_at=T0 + timedelta(hours=1))
    del standin.notes[gone]  # still associated, no longer readable: batch read answers 207 with errors

    notes = await crm.list_notes(deal_id)

    assert [(n.id, n.text) for n in notes] == [(keep, "Kept note")]


async def test_note_author_is_the_owner_name_or_the_id_without_the_owners_scope(standin, clock, crm) -> None:
    deal_id = standin.add_deal("Initech")
    standin.add_note(deal_id, "<p>Call</p>", created_at=T0, author="Sam Seller")
    assert [n.author for n in await crm.list_notes(deal_id)] == ["Sam Seller"]

    standin.scopes.discard("crm.objects.owners.read")
    limited = make(standin, clock)
    try:
        notes = await limited.list_notes(deal_id)
    finally:
        await limited.aclose()
    owner_id = next(iter(standin.owners))
    assert [n.author for n in notes] == [owner_id]  # degraded, not failed


# ---- paging -----------------------------------------------------------------------------------------


async def test_list_cursor_is_followed_across_pages(standin, crm) -> None:
    ids = [standin.add_deal(f"Deal {i:03d}") for i in range(250)]

    refs = [ref async for ref in crm.iter_deal_refs()]

    assert [r.id for r in refs] == ids
    assert refs[137].name == "Deal 137"
    lists = [q for r, q in zip(standin.requests, standin.queries) if r == "GET /crm/v3/objects/deals"]
    assert [q.get("after") for q in lists] == [None, ids[100], ids[200]]
    assert all(q.get("limit") == "100" for q in lists)


async def test_count_uses_search_total_and_falls_back_to_counting_pages(standin, crm) -> None:
    for i in range(130):
        standin.add_deal(f"Deal {i}")
    assert await crm.count_deals() == 130
    assert standin.requests.count("POST /crm/v3/objects/deals/search") == 1
    assert "GET /crm/v3/objects/deals" not in standin.requests

    standin.fail_next("POST /crm/v3/objects/deals/search", 400)
    assert await crm.count_deals() == 130
    assert standin.requests.count("GET /crm/v3/objects/deals") == 2  # two pages of 100


async def test_find_falls_back_to_paging_when_search_has_not_indexed_a_new_deal(clock) -> None:
    standin = HubSpotStandIn(clock=clock.time, search_index_lag=30.0)
    new_id = standin.add_deal("Umbrella Expansion")
    crm = make(standin, clock)
    try:
        found = await crm.find_deals("umbrella expansion")
    finally:
        await crm.aclose()
    assert [d.id for d in found] == [new_id]
    assert "POST /crm/v3/objects/deals/search" in standin.requests
    assert "GET /crm/v3/objects/deals" in standin.requests


# ---- values: multi-select ';', option labels vs internal values, dates --------------------------------


async def test_multi_select_is_written_joined_with_semicolons(standin, crm) -> None:
    deal_id = standin.add_deal("Acme")
    scout = FieldSpec(name="scout_decision_criteria", type=FieldType.MULTI_SELECT, label="Scout: criteria",
                      options=DECISION_CRITERIA_OPTIONS)
    assert await crm.create_field(scout) is True
    # A rep-owned property made in HubSpot's UI: internal values differ from the labels people see.
    standin.add_property("decision_criteria", FieldType.MULTI_SELECT, "Decision criteria",
                         ("Ease of use", "Security", "Price"))

    await crm.set_field(deal_id, "scout_decision_criteria", ["Security", "Ease of use", "Security"])
    await crm.set_field(deal_id, "decision_criteria", ["Ease of use", "Price"])

    stored = standin.deals[deal_id]["properties"]
    assert stored["scout_decision_criteria"] == "Security;Ease of use"
    assert stored["decision_criteria"] == "ease_of_use;price"
    deal = await crm.get_deal(deal_id)
    assert deal.values["scout_decision_criteria"] == ["Security", "Ease of use"]
    assert deal.values["decision_criteria"] == ["Ease of use", "Price"]


def test_decoding_hubspot_strings() -> None:
    date_prop = property_info({"name": "d", "type": "date", "fieldType": "date"})
    datetime_prop = property_info({"name": "t", "type": "datetime", "fieldType": "date"})
    number = property_info({"name": "n", "type": "number", "fieldType": "number"})
    checkbox = property_info({"name": "m", "type": "enumeration", "fieldType": "checkbox",
                              "options": [{"label": "Price", "value": "price"}, {"label": "Security", "value": "sec"}]})
    boolean = property_info({"name": "b", "type": "bool", "fieldType": "booleancheckbox",
                             "options": [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]})
    owner = property_info({"name": "hubspot_owner_id", "type": "enumeration", "fieldType": "select"})
    assert decode_value(date_prop, "1772323200000") == "2026-03-01"  # epoch milliseconds
    assert decode_value(date_prop, "2026-03-01") == "2026-03-01"
    assert decode_value(datetime_prop, "2026-03-01T23:15:00.000Z") == "2026-03-01"
    assert decode_value(number, "0") == 0.0 and decode_value(number, "1250.5") == 1250.5
    assert decode_value(checkbox, "price;sec") == ["Price", "Security"]
    assert decode_value(boolean, "true") == "Yes" and boolean.field_type is FieldType.SELECT
    assert owner.field_type is FieldType.PERSON
    for empty in (None, "", "   "):
        assert decode_value(number, empty) is None and decode_value(checkbox, empty) is None


async def test_dates_round_trip_and_select_values_map_to_labels(standin, crm) -> None:
    standin.add_property("paper_process", FieldType.SELECT, "Paper process", ("Legal review", "Signed"))
    standin.add_property("go_live", FieldType.DATE, "Go-live")
    deal_id = standin.add_deal("Acme", {"paper_process": "Legal review", "go_live": "2026-03-01"})
    assert standin.deals[deal_id]["properties"]["go_live"] == "1772323200000"

    await crm.set_field(deal_id, "paper_process", "signed")
    await crm.set_field(deal_id, "go_live", "2026-04-15")

    stored = standin.deals[deal_id]["properties"]
    assert stored["paper_process"] == "signed"  # the internal value, matched from the label case-insensitively
    deal = await crm.get_deal(deal_id)
    assert deal.values["paper_process"] == "Signed"
    assert deal.values["go_live"] == "2026-04-15"


# ---- properties --------------------------------------------------------------------------------------


async def test_create_field_makes_the_scout_group_and_refuses_a_clash(standin, crm) -> None:
    assert "scout" not in standin.groups
    spec = FieldSpec(name="scout_metrics", type=FieldType.TEXT, label="Scout: metrics")

    assert await crm.create_field(spec) is True

    created = standin.properties["scout_metrics"]
    assert (created["type"], created["fieldType"], created["groupName"]) == ("string", "textarea", "scout")
    assert "scout" in standin.groups
    assert await crm.create_field(spec) is False
    with pytest.raises(FieldTypeConflict, match="scout_metrics exists as string/textarea"):
        await crm.create_field(FieldSpec(name="scout_metrics", type=FieldType.NUMBER))


async def test_create_field_adds_options_missing_from_scouts_own_select(standin, crm) -> None:
    first = FieldSpec(name="scout_paper_process", type=FieldType.SELECT, options=("Legal review",))
    await crm.create_field(first)
    wider = FieldSpec(name="scout_paper_process", type=FieldType.SELECT, options=("Legal review", "Procurement"))

    assert await crm.create_field(wider) is False

    assert [o["label"] for o in standin.properties["scout_paper_process"]["options"]] == ["Legal review", "Procurement"]


async def test_set_field_on_a_missing_property_says_to_run_setup(standin, crm) -> None:
    deal_id = standin.add_deal("Acme")
    with pytest.raises(CRMError, match="scout setup --apply"):
        await crm.set_field(deal_id, "scout_nowhere", "x")


# ---- auth, settings, links ---------------------------------------------------------------------------


async def test_missing_scope_is_an_auth_error_naming_token_and_scopes(standin, clock) -> None:
    standin.scopes.discard("crm.schemas.deals.read")
    crm = make(standin, clock)
    try:
        with pytest.raises(AuthError) as err:
            await crm.field_specs()
    finally:
        await crm.aclose()
    message = str(err.value)
    assert "HUBSPOT_TOKEN" in message and "403" in message
    for scope in ("crm.objects.deals.read", "crm.objects.deals.write", "crm.schemas.deals.read",
                  "crm.schemas.deals.write", "crm.objects.contacts.read"):
        assert scope in message


async def test_from_settings_needs_a_token_and_reads_the_tier_budget(make_settings) -> None:
    with pytest.raises(AuthError, match="HUBSPOT_TOKEN is not set"):
        HubSpotCRM.from_settings(make_settings(SCOUT_CRM="hubspot"))
    starter = HubSpotCRM.from_settings(make_settings(HUBSPOT_TOKEN="pat-x"))
    assert starter.requests_per_10s == 100  # the safe default: Free/Starter
    assert str(starter._client.base_url) == "https://api.hubapi.com"
    assert starter._client.headers["authorization"] == "Bearer pat-x"
    await starter.aclose()
    pro = HubSpotCRM.from_settings(make_settings(HUBSPOT_RATE_PER_10S="190"))
    assert pro.requests_per_10s == 190
    await pro.aclose()


async def test_deal_url_uses_the_portal_or_the_template(standin, clock, crm) -> None:
    deal_id = standin.add_deal("Acme")
    assert (await crm.get_deal(deal_id)).url == f"https://app.hubspot.com/contacts/{PORTAL_ID}/deal/{deal_id}"
    templated = make(standin, clock, deal_url_template="https://app-eu1.hubspot.com/contacts/{portal}/record/0-3/{id}")
    try:
        url = (await templated.get_deal(deal_id)).url
    finally:
        await templated.aclose()
    assert url == f"https://app-eu1.hubspot.com/contacts/{PORTAL_ID}/record/0-3/{deal_id}"


async def test_concurrent_first_reads_share_one_lookup_of_properties_and_account(standin, crm) -> None:
    ids = [standin.add_deal(f"Deal {i}", {"hubspot_owner_id": "Sam Seller"}) for i in range(8)]

    deals = await asyncio.gather(*(crm.get_deal(i) for i in ids))

    assert all(d.url and str(PORTAL_ID) in d.url for d in deals)
    assert {d.values["hubspot_owner_id"] for d in deals} == {"Sam Seller"}
    assert standin.requests.count("GET /crm/v3/properties/deals") == 1
    assert standin.requests.count("GET /account-info/v3/details") == 1
    assert standin.requests.count("GET /crm/v3/owners") == 1


# ---- the tier budget ----------------------------------------------------------------------------------


async def _read_many(standin: HubSpotStandIn, clock: FakeClock, budget: int, deals: int) -> list[str]:
    ids = [standin.add_deal(f"Deal {i}") for i in range(deals)]
    crm = make(standin, clock, requests_per_10s=budget)
    try:
        return [(await crm.get_deal(deal_id)).name for deal_id in ids]
    finally:
        await crm.aclose()


async def test_the_limiter_keeps_within_the_tier_budget(standin, clock) -> None:
    names = await _read_many(standin, clock, budget=100, deals=250)
    assert len(names) == 250
    assert len(standin.requests) > 250  # more than two full windows' worth
    assert standin.throttled == 0


async def test_a_budget_above_the_accounts_is_refused_and_recovered_by_retry_after(standin, clock) -> None:
    names = await _read_many(standin, clock, budget=190, deals=250)  # a Pro budget on a Starter account
    assert len(names) == 250  # every read still succeeded, through Retry-After
    assert standin.throttled > 0


async def test_searches_keep_within_the_search_limit(standin, crm) -> None:
    standin.add_deal("Acme Corp Renewal")
    for _ in range(12):
        assert [d.name for d in await crm.find_deals("acme")] == ["Acme Corp Renewal"]
    assert standin.requests.count("POST /crm/v3/objects/deals/search") == 12
    assert standin.throttled == 0


# ---- batches: one request moves many deals; HubSpot's 207 and its refusals of a whole request ------------


async def _deals_with_scout_text(standin: HubSpotStandIn, crm: HubSpotCRM, n: int) -> list[str]:
    await crm.create_field(FieldSpec(name="scout_batch_text", type=FieldType.TEXT, label="Scout: batch"))
    await crm.field_specs()  # the property list, read once, so the requests below are the batch's own
    return [standin.add_deal(f"Batch deal {i}", created_at=T0) for i in range(n)]


def _calls(standin: HubSpotStandIn, where: str) -> int:
    return sum(1 for r in standin.requests if r == where)


async def test_a_batch_update_names_a_deal_that_is_gone_under_errors_and_writes_the_others(standin, crm) -> None:
    from engine.crm.base import DealWrite

    ids = await _deals_with_scout_text(standin, crm, 3)
    standin.delete_deal(ids[1])
    before = len(standin.requests)
    results = await crm.write_many([DealWrite(i, {"scout_batch_text": f"v{n}"}) for n, i in enumerate(ids)])
    assert standin.requests[before:] == ["POST /crm/v3/objects/deals/batch/update"]  # one request, a 207
    assert [(r.ok, r.not_found) for r in results] == [(True, False), (False, True), (True, False)]
    assert "OBJECT_NOT_FOUND" in (results[1].error or "") or "deleted" in (results[1].error or "")
    assert [standin.deals[i]["properties"].get("scout_batch_text") for i in (ids[0], ids[2])] == ["v0", "v2"]


async def test_a_batch_update_refused_whole_for_one_bad_value_is_split_so_the_others_stand(standin, crm) -> None:
    from engine.crm.base import DealWrite

    ids = await _deals_with_scout_text(standin, crm, 3)
    writes = [DealWrite(ids[0], {"scout_batch_text": "kept 0"}),
              DealWrite(ids[1], {"scout_batch_text": "lost", "hs_object_id": "123"}),  # read-only: 400 for all
              DealWrite(ids[2], {"scout_batch_text": "kept 2"})]
    before = len(standin.requests)
    results = await crm.write_many(writes)
    assert standin.requests[before] == "POST /crm/v3/objects/deals/batch/update"
    assert _calls(standin, "POST /crm/v3/objects/deals/batch/update") == 1
    assert len(standin.requests[before + 1:]) == 3  # then each deal on its own
    assert [r.ok for r in results] == [True, False, True]
    assert "read only" in (results[1].error or "")
    props = [standin.deals[i]["properties"].get("scout_batch_text") for i in ids]
    assert props == ["kept 0", None, "kept 2"]


async def test_batched_reads_take_one_request_per_hundred_deals(standin, crm) -> None:
    ids = await _deals_with_scout_text(standin, crm, 150)
    for i in ids[:2]:
        standin.add_note(i, "<p>hello</p>", created_at=T0, author="")
    await crm.get_deals(ids)  # warms the property list
    before = len(standin.requests)
    deals = await crm.get_deals(ids)
    notes = await crm.list_notes_many(ids)
    assert len(deals) == len(notes) == 150 and [n.text for n in notes[ids[0]]] == ["hello"]
    asked = standin.requests[before:]
    assert asked.count("POST /crm/v3/objects/deals/batch/read") == 2 + 2  # the deals, then the ones without notes
    assert asked.count("POST /crm/v4/associations/deals/notes/batch/read") == 1
    assert asked.count("POST /crm/v3/objects/notes/batch/read") == 1
