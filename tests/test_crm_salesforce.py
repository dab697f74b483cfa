"""The Salesforce adapter beyond the shared contract: its namespace rule, sessions (client credentials, JWT
bearer, refresh on INVALID_SESSION_ID), the daily allocation and REQUEST_LIMIT_EXCEEDED, error arrays as
one line, batches of more than one collection, streamed query pages, setup's permission grants."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.crm.base import AuthError, CRMBudgetSpent, CRMError, DealWrite
from engine.crm.salesforce import SalesforceCRM
from engine.crm.salesforce_auth import SalesforceAuth
from engine.extract.offline import OfflineExtractor
from engine.gate import Gate
from engine.medic import FieldMap, is_scout_name, load_field_map, method_field_map
from engine.models import ActionKind, FieldSpec, FieldType
from engine.provenance import ProvenanceStore
from engine.runner import run_pass
from engine.writeguard import NamespaceRefused, ScoutWriter
from tests.pipeline import small_pipeline
from tests.standins.contract import FakeClock
from tests.standins.salesforce import BASE_URL, CLIENT_ID, SalesforceStandIn, make_crm

SF_MAP = method_field_map(naming="salesforce")


def names(name: str) -> str:
    from engine.medic import default_field_map

    snake = default_field_map().concepts
    renames = {snake[c].rep.name: SF_MAP.concepts[c].rep.name for c in snake} | {
        snake[c].scout.name: SF_MAP.concepts[c].scout.name for c in snake}
    return renames.get(name, name)


def org(with_scout: bool = True, **kwargs: Any) -> tuple[SalesforceStandIn, dict[str, str]]:
    standin = SalesforceStandIn(**kwargs)
    ids = standin.load(small_pipeline(with_scout=with_scout), names)
    return standin, ids


async def with_scout_fields(standin: SalesforceStandIn, **kwargs: Any) -> SalesforceCRM:
    crm = make_crm(standin, SF_MAP, **kwargs)
    for spec in SF_MAP.scout_fields():
        await crm.create_field(spec)
    return crm


# ---- invariant 1 in Salesforce's API-name form -------------------------------------------------------


@pytest.mark.parametrize("name", ["Scout_Metrics__c", "Scout_Economic_Buyer__c", "scout_metrics"])
def test_scouts_own_names_pass_the_namespace_check(name: str) -> None:
    assert is_scout_name(name)


@pytest.mark.parametrize("name", [
    "Metrics__c", "Economic_Buyer__c",  # rep fields
    "Scouting__c", "Scout__c", "My_Scout_Notes__c", "Notes_Scout__c", "ScoutMetrics__c",  # merely contain scout
    "acme__Scout_Metrics__c", "Scout_Metrics__c_old", "Scout_Metrics", "Scout_Metrics__C", "SCOUT_METRICS__c",
    "Scout__Metrics__c", "Scout_Metrics_r",
])
def test_a_rep_field_or_a_name_that_merely_contains_scout_never_passes(name: str) -> None:
    assert not is_scout_name(name)


def test_the_salesforce_field_map_names_fields_in_api_form_and_refuses_a_loose_scout_name(tmp_path: Path) -> None:
    assert {c.scout.name for c in SF_MAP.concepts.values()} >= {"Scout_Metrics__c", "Scout_Paper_Process__c"}
    assert SF_MAP.concepts["champion"].rep.name == "Champion__c" and SF_MAP.object == "Opportunity"
    bad = tmp_path / "map.toml"
    bad.write_text('[concepts.metrics]\nscout_field = "My_Scout_Metrics__c"\n')
    with pytest.raises(ValueError, match="must start with 'scout_'"):
        load_field_map(bad, naming="salesforce")
    bad.write_text('[concepts.metrics]\nrep_field = "Scout_Metrics__c"\nscout_field = "Scout_Metric__c"\n')
    with pytest.raises(ValueError, match="must not be a scout_\\* field"):
        load_field_map(bad, naming="salesforce")


async def test_the_write_guard_refuses_a_rep_field_in_api_form_before_any_call() -> None:
    standin, ids = org()
    crm = await with_scout_fields(standin)
    guarded = ScoutWriter(crm, SF_MAP)
    sent = len(standin.requests)
    for field in ("Metrics__c", "Scouting_Notes__c"):
        with pytest.raises(NamespaceRefused):
            await guarded.write_many([DealWrite(ids["d1"], {"Scout_Metrics__c": "x", field: "y"})])
    assert len(standin.requests) == sent
    await crm.aclose()


# ---- sessions ----------------------------------------------------------------------------------------


async def test_an_expired_session_is_renewed_once_and_the_call_goes_through() -> None:
    standin, ids = org()
    crm = make_crm(standin, SF_MAP)
    assert (await crm.get_deal(ids["d1"])).name
    standin.expire_sessions()  # Salesforce answers 401 INVALID_SESSION_ID from now on
    assert (await crm.get_deal(ids["d2"])).id == ids["d2"]
    assert standin.tokens_issued == 2
    await crm.aclose()


def _keys(tmp_path: Path) -> tuple[Path, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path = tmp_path / "server.key"
    path.write_bytes(pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return path, public


async def test_the_jwt_bearer_flow_signs_with_the_key_file_and_a_wrong_user_is_one_clear_line(
        tmp_path: Path, make_settings: Any) -> None:
    key_file, public = _keys(tmp_path)
    standin = SalesforceStandIn(public_key=public)
    ids = standin.load(small_pipeline(), names)
    settings = make_settings(SCOUT_CRM="salesforce", SALESFORCE_LOGIN_URL=BASE_URL, SALESFORCE_CLIENT_ID=CLIENT_ID,
                             SALESFORCE_USERNAME=standin.username, SALESFORCE_PRIVATE_KEY_FILE=str(key_file))
    client = httpx.AsyncClient(transport=standin.transport())
    auth = SalesforceAuth.from_settings(settings, client)
    assert auth.flow == "jwt"
    crm = SalesforceCRM(client, auth, settings.field_map)
    assert (await crm.get_deal(ids["d1"])).id == ids["d1"]
    assert (await crm.session()).user_id == standin.user_id

    wrong = make_settings(SALESFORCE_USERNAME="someone@else.example")
    other = SalesforceCRM(client, SalesforceAuth.from_settings(wrong, client), wrong.field_map)
    with pytest.raises(AuthError) as err:
        await other.count_deals()
    assert "rejected the jwt login" in str(err.value) and "SALESFORCE_PRIVATE_KEY_FILE" in str(err.value)
    assert "\n" not in str(err.value)
    await crm.aclose()


# ---- limits ------------------------------------------------------------------------------------------


async def _pass(crm: SalesforceCRM, tmp_path: Path, live: bool = True, page_size: int = 100
                ) -> tuple[Any, list[Any]]:
    store = await ProvenanceStore.open(tmp_path / "log.sqlite")
    try:
        summary = await run_pass(crm=crm, writer=crm if live else None, store=store, extractor=OfflineExtractor(),
                                 field_map=SF_MAP, gate=Gate(live=live, reason=None if live else "rehearsal"),
                                 cap=50, concurrency=1, page_size=page_size)
        return summary, await store.actions_for_run(summary.run_id)
    finally:
        await store.aclose()


async def test_the_pass_stops_before_the_reserve_and_the_next_run_picks_up_the_rest(tmp_path: Path) -> None:
    standin, ids = org(daily_limit=1000)
    crm = await with_scout_fields(standin, reserve_percent=10)
    # The org has 20 calls left over its reserve (100): this pass spends them on the first deals, then stops.
    standin.api_used = 1000 - 100 - 20
    # One deal a page: a page is read as a whole, so the pass can stop between deals of this small pipeline.
    summary, rows = await _pass(crm, tmp_path, page_size=1)
    assert summary.errors[0].startswith("Salesforce API allocation nearly spent")
    assert "SALESFORCE_API_RESERVE" in summary.errors[0] and 0 < summary.scanned < 5
    assert standin.api_used <= 1000 - 100 + 6  # writes of a deal already read may finish, no new read starts
    assert not [r for r in rows if r.action is ActionKind.FAILED]
    assert any(f"{5 - summary.scanned} deal(s) left for the next run" in n for n in summary.notices)
    first = {r.deal_id for r in rows if r.action is ActionKind.WRITTEN}

    standin.api_used = 0  # a new day
    crm2 = make_crm(standin, SF_MAP, reserve_percent=10)
    summary2, rows2 = await _pass(crm2, tmp_path, page_size=1)
    assert summary2.errors == [] and summary2.scanned == 5
    later = [r.deal_id for r in rows2 if r.action is ActionKind.WRITTEN]
    assert later and not first & set(later), "the deals the first pass did not reach are the ones written now"
    await crm.aclose()
    await crm2.aclose()


async def test_request_limit_exceeded_is_retried_for_concurrency_and_stops_for_the_daily_total() -> None:
    standin, ids = org()
    clock = FakeClock()
    crm = make_crm(standin, SF_MAP, sleep=clock.sleep)
    standin.fail_next(r"FROM Opportunity WHERE Id IN", 403, 2, code="REQUEST_LIMIT_EXCEEDED")
    assert (await crm.get_deal(ids["d1"])).id == ids["d1"]
    assert len(clock.sleeps) == 2
    standin.api_used = standin.daily_limit  # the next call is over the org's daily total
    with pytest.raises(CRMBudgetSpent) as err:
        await crm.count_deals()
    assert "TotalRequests Limit exceeded" in str(err.value) or "nearly spent" in str(err.value)
    await crm.aclose()


async def test_no_more_requests_in_flight_than_allowed() -> None:
    standin, ids = org()
    live = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        await asyncio.sleep(0.01)
        live -= 1
        return standin.handler(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    crm = SalesforceCRM(client, SalesforceAuth(client, BASE_URL, CLIENT_ID, client_secret=standin.client_secret),
                        SF_MAP, max_concurrent=3)
    await asyncio.gather(*(crm.get_deal(i) for i in ids.values()), *(crm.list_notes(i) for i in ids.values()))
    assert peak <= 3 + 1  # three data calls plus the one token request that precedes them
    await crm.aclose()


# ---- errors, batches, pages --------------------------------------------------------------------------


async def test_an_error_array_is_one_line_in_a_single_write_and_in_a_batch_result() -> None:
    standin, ids = org()
    crm = await with_scout_fields(standin)
    standin.fields["Scout_Paper_Process__c"].options.remove("Signed")  # an admin removed the option meanwhile
    with pytest.raises(CRMError) as err:
        await crm.set_field(ids["d1"], "Scout_Paper_Process__c", "Signed")
    line = str(err.value)
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in line and "\n" not in line
    assert "(fields: Scout_Paper_Process__c)" in line
    results = await crm.write_many([DealWrite(ids["d1"], {"Scout_Paper_Process__c": "Signed"}),
                                    DealWrite(ids["d2"], {"Scout_Metrics__c": "40% faster"})])
    assert [r.ok for r in results] == [False, True]
    assert results[0].error and results[0].error.startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: ")
    await crm.aclose()


async def test_more_than_200_writes_go_as_ordered_collections_of_200() -> None:
    standin = SalesforceStandIn()
    data = small_pipeline()
    data.deals = [d.model_copy(update={"id": f"d{i}", "name": f"Deal {i}"}) for i, d in
                  enumerate([data.deals[0]] * 450)]
    data.notes = []
    ids = standin.load(data, names)
    crm = await with_scout_fields(standin)
    order = list(ids.values())
    results = await crm.write_many([DealWrite(i, {"Scout_Metrics__c": f"m {n}"}) for n, i in enumerate(order)])
    assert [r.deal_id for r in results] == order and all(r.ok for r in results)
    assert standin.requests.count("PATCH /services/data/v66.0/composite/sobjects") == 3
    assert standin.records["Opportunity"][order[449]]["Scout_Metrics__c"] == "m 449"
    await crm.aclose()


async def test_deals_stream_a_page_at_a_time() -> None:
    standin = SalesforceStandIn()
    data = small_pipeline()
    data.deals = [data.deals[0].model_copy(update={"id": f"d{i}", "name": f"Deal {i}"}) for i in range(450)]
    data.notes = []
    standin.load(data, names)
    crm = make_crm(standin, SF_MAP, query_batch=200)
    seen = 0
    async for _ in crm.iter_deal_refs():
        seen += 1
        if seen == 150:
            break
    assert [r for r in standin.requests if "/query" in r] == ["GET /services/data/v66.0/query"]
    assert len([r async for r in crm.iter_deal_refs()]) == 450
    await crm.aclose()


async def test_email_messages_count_only_when_chosen() -> None:
    from datetime import datetime, timezone

    standin, ids = org()
    standin.add_note(ids["d2"], "Email: the CFO signs off on budget.", created_at=datetime(2026, 2, 1, tzinfo=timezone.utc),
                     kind="email")
    plain = make_crm(standin, SF_MAP)
    with_mail = make_crm(standin, SF_MAP, note_sources=("tasks", "content_notes", "emails"))
    texts = [n.text for n in await with_mail.list_notes(ids["d2"])]
    assert "Email: the CFO signs off on budget." in texts
    assert "Email: the CFO signs off on budget." not in [n.text for n in await plain.list_notes(ids["d2"])]
    with pytest.raises(CRMError, match="unknown source"):
        make_crm(standin, SF_MAP, note_sources=("calls",))
    await plain.aclose()
    await with_mail.aclose()


# ---- setup's grants ----------------------------------------------------------------------------------


async def test_setup_grants_edit_to_scouts_permission_set_and_read_to_reviewer_profiles_once() -> None:
    standin, _ = org(with_scout=False)
    reviewers = standin.add_profile("Sales Manager")
    crm = make_crm(standin, SF_MAP, reviewer_profiles=("Sales Manager",))
    spec = SF_MAP.concepts["metrics"].scout
    assert await crm.create_field(spec) is True
    assert await crm.create_field(spec) is False  # twice is harmless
    perms = [p for p in standin.records["FieldPermissions"].values() if p["Field"] == f"Opportunity.{spec.name}"]
    scout_ps = next(p["Id"] for p in standin.records["PermissionSet"].values() if p["Name"] == "Scout_Integration")
    assert sorted((p["ParentId"] == scout_ps, p["PermissionsRead"], p["PermissionsEdit"]) for p in perms) == [
        (False, True, False), (True, True, True)]
    assert all(p["ParentId"] in (scout_ps, reviewers) for p in perms)
    assigned = [a for a in standin.records["PermissionSetAssignment"].values() if a["PermissionSetId"] == scout_ps]
    assert [a["AssigneeId"] for a in assigned] == [standin.user_id]
    clash = FieldSpec(name=spec.name, type=FieldType.SELECT, options=("a",))
    with pytest.raises(CRMError, match="exists as textarea"):
        await crm.create_field(clash)
    await crm.aclose()


async def test_a_reviewer_grant_goes_to_the_profiles_own_permission_set_never_to_the_profile() -> None:
    standin, _ = org(with_scout=False)
    reviewers = standin.add_profile("Sales Manager")
    profile = standin.records["PermissionSet"][reviewers]["ProfileId"]
    crm = make_crm(standin, SF_MAP, reviewer_profiles=("Sales Manager",))
    session = await crm.session()
    # FieldPermissions belong to a permission set: a Profile Id as ParentId is refused, as in Salesforce.
    refused = standin.handler(httpx.Request(
        "POST", f"{session.instance_url}/services/data/v66.0/sobjects/FieldPermissions",
        headers={"Authorization": f"Bearer {session.access_token}"},
        json={"ParentId": profile, "SobjectType": "Opportunity", "Field": "Opportunity.Amount",
              "PermissionsRead": True}))
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    spec = SF_MAP.concepts["metrics"].scout
    assert await crm.create_field(spec) is True
    parents = {p["ParentId"] for p in standin.records["FieldPermissions"].values()
               if p["Field"] == f"Opportunity.{spec.name}" and not p["PermissionsEdit"]}
    assert parents == {reviewers}
    await crm.aclose()


async def test_a_reviewer_profile_that_does_not_exist_is_one_clear_line_before_any_field_is_made() -> None:
    standin, _ = org(with_scout=False)
    standin.add_profile("Sales Manager")
    crm = make_crm(standin, SF_MAP, reviewer_profiles=("Sales Manager", "Sales Manger"))
    before = dict(standin.custom_fields)
    with pytest.raises(CRMError) as err:
        await crm.create_field(SF_MAP.concepts["metrics"].scout)
    assert "SALESFORCE_REVIEWER_PROFILES" in str(err.value) and "'Sales Manger'" in str(err.value)
    assert "\n" not in str(err.value) and standin.custom_fields == before
    await crm.aclose()


async def test_a_field_without_the_suffix_is_refused_by_salesforce_with_its_reason() -> None:
    standin, _ = org()
    crm = make_crm(standin, SF_MAP)
    with pytest.raises(CRMError) as err:
        await crm.create_field(FieldSpec(name="scout_metrics", type=FieldType.TEXT))
    assert "INVALID_FIELD" in str(err.value) and "__c" in str(err.value)
    await crm.aclose()


def test_the_field_map_for_salesforce_comes_from_settings(make_settings: Any) -> None:
    settings = make_settings(SCOUT_CRM="salesforce")
    assert isinstance(settings.field_map, FieldMap)
    assert settings.field_map.concepts["metrics"].scout.name == "Scout_Metrics__c"


async def test_setup_adds_a_missing_option_to_scouts_own_picklist_and_keeps_the_others() -> None:
    standin, ids = org(with_scout=False)
    crm = make_crm(standin, SF_MAP)
    spec = SF_MAP.concepts["paper_process"].scout
    narrow = spec.model_copy(update={"options": spec.options[:-1]})
    assert await crm.create_field(narrow) is True
    assert "Signed" not in standin.fields[spec.name].options
    assert await crm.create_field(spec) is False  # the field map gained an option: setup adds it
    assert standin.fields[spec.name].options == list(spec.options)
    await crm.set_field(ids["d1"], spec.name, "Signed")
    assert (await crm.get_deal(ids["d1"])).values[spec.name] == "Signed"
    await crm.aclose()
