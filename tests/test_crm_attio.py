"""Attio-specific behaviour the shared contract does not cover: settings, type mapping, decoding of Attio's
own attribute types, request shapes, pacing against the server's limit, and the errors a user sees."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.crm.attio import AttioCRM
from engine.crm.base import AuthError, CRMError, DealNotFound
from engine.medic import default_field_map, load_field_map
from engine.models import Deal, FieldSpec, FieldType, Note, Person, WorkspaceData
from engine.settings import Settings
from tests.standins.attio import AttioStandIn
from tests.standins.contract import FakeClock

WHEN = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)


def make(standin: AttioStandIn, clock: FakeClock, field_map=None, **kwargs) -> AttioCRM:
    return AttioCRM(
        standin.client(), field_map or default_field_map(), sleep=clock.sleep, clock=clock.time, **kwargs
    )


@pytest.fixture
def attio_settings(monkeypatch: pytest.MonkeyPatch):
    """Settings from exactly the given env vars (nothing leaks in from the developer's shell)."""

    def make(**env: str) -> Settings:
        for name in ("ATTIO_API_TOKEN", "SCOUT_CRM", "SCOUT_CRM_BASE_URL", "SCOUT_DEAL_URL", "SCOUT_FIELD_MAP"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Settings()

    return make


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(clock: FakeClock) -> AttioStandIn:
    return AttioStandIn(clock=clock.time)


def pipeline() -> WorkspaceData:
    return WorkspaceData(
        fields=[
            FieldSpec(name="buyer", type=FieldType.PERSON),
            FieldSpec(name="account", type=FieldType.RECORD),
            FieldSpec(name="scout_paper", type=FieldType.SELECT, options=("Legal review", "Signed")),
        ],
        people=[Person(id="p1", name="Jane Doe", email="jane@example.com")],
        deals=[
            Deal(id="a", name="Acme Corp Renewal", stage="In Progress", created_at=WHEN,
                 values={"buyer": "Jane Doe", "account": "Acme Corp"}),
            Deal(id="g", name="Globex Onboarding", created_at=WHEN),
        ],
        notes=[Note(id="n1", deal_id="a", created_at=WHEN, text="Jane owns the budget.")],
    )


def mapped(tmp_path: Path) -> object:
    """A workspace whose economic buyer is Attio's deal owner and whose champion is a people link."""
    path = tmp_path / "fields.toml"
    path.write_text(
        '[concepts.economic_buyer]\nrep_field = "owner"\nrep_type = "person"\n'
        '[concepts.champion]\nrep_field = "buyer"\nrep_type = "person"\n'
    )
    return load_field_map(path)


# ---- settings -----------------------------------------------------------------------------------------


def test_missing_token_names_the_variable_and_scopes(attio_settings) -> None:
    settings = attio_settings(SCOUT_CRM="attio")
    with pytest.raises(AuthError) as err:
        AttioCRM.from_settings(settings)
    message = str(err.value)
    assert message.startswith("ATTIO_API_TOKEN is not set")
    assert "record_permission:read-write" in message and "object_configuration:read-write" in message
    assert "note:read" in message


async def test_from_settings_builds_an_authenticated_client(attio_settings) -> None:
    settings = attio_settings(
        SCOUT_CRM="attio", ATTIO_API_TOKEN="tok-123", SCOUT_DEAL_URL="https://crm.example/deals/{id}"
    )
    crm = AttioCRM.from_settings(settings)
    try:
        assert str(crm._client.base_url) == "https://api.attio.com"
        assert crm._client.headers["authorization"] == "Bearer tok-123"
    finally:
        await crm.aclose()
    assert crm._client.is_closed
    other = AttioCRM.from_settings(attio_settings(ATTIO_API_TOKEN="t", SCOUT_CRM_BASE_URL="http://127.0.0.1:9"))
    assert str(other._client.base_url) == "http://127.0.0.1:9"
    await other.aclose()


async def test_deal_url_from_template_or_attio_web_url(standin: AttioStandIn, clock: FakeClock) -> None:
    ids = standin.load(pipeline())
    crm = make(standin, clock, deal_url_template="https://crm.example/deals/{id}")
    assert (await crm.get_deal(ids["a"])).url == f"https://crm.example/deals/{ids['a']}"
    plain = make(standin, clock)
    assert (await plain.get_deal(ids["a"])).url == f"https://app.attio.com/scout-test/deal/{ids['a']}"


# ---- types and decoding -------------------------------------------------------------------------------


async def test_attio_types_map_to_engine_types(standin: AttioStandIn, clock: FakeClock) -> None:
    standin.load(pipeline())
    specs = await make(standin, clock).field_specs()
    assert specs["name"].type is FieldType.TEXT
    assert specs["stage"].type is FieldType.SELECT  # status
    assert specs["value"].type is FieldType.NUMBER  # currency
    assert specs["owner"].type is FieldType.PERSON  # actor-reference
    assert specs["associated_people"].type is FieldType.PERSON  # record-reference to people (by object id)
    assert specs["associated_company"].type is FieldType.RECORD
    assert specs["buyer"].type is FieldType.PERSON
    assert specs["created_at"].type is FieldType.DATE  # timestamp
    assert specs["scout_paper"].options == ("Legal review", "Signed")


async def test_decodes_status_currency_and_resolves_mapped_links_to_names(
    standin: AttioStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    ids = standin.load(pipeline())
    member = standin.add_member("Dana", "Rep", "dana@example.com")
    standin.set_values("deals", ids["a"], {"owner": "dana@example.com", "value": 12000})
    deal = await make(standin, clock, mapped(tmp_path)).get_deal(ids["a"])
    assert deal.stage == "In Progress"
    assert deal.values["stage"] == "In Progress"
    assert deal.values["value"] == 12000.0
    assert deal.values["owner"] == "Dana Rep"
    assert deal.values["buyer"] == "Jane Doe"
    assert deal.created_at == WHEN
    # Links Scout does not reason about are not resolved (that would cost a read per link): ids stay.
    assert deal.values["account"] == standin._find_or_create("companies", "Acme Corp")
    assert deal.values["associated_people"] is None
    unmapped = await make(standin, clock).get_deal(ids["a"])
    assert unmapped.values["owner"] == member


async def test_owner_names_fall_back_to_ids_without_the_member_scope(
    standin: AttioStandIn, clock: FakeClock, tmp_path: Path
) -> None:
    ids = standin.load(pipeline())
    member = standin.add_member("Dana", "Rep", "dana@example.com")
    standin.set_values("deals", ids["a"], {"owner": "dana@example.com"})
    standin.fail_next(1, 403, path=r"^/v2/workspace_members/")
    deal = await make(standin, clock, mapped(tmp_path)).get_deal(ids["a"])
    assert deal.values["owner"] == member


# ---- request shapes -----------------------------------------------------------------------------------


async def test_pages_with_limit_offset_and_a_stable_sort(standin: AttioStandIn, clock: FakeClock) -> None:
    data = pipeline()
    data.deals.extend(Deal(id=f"x{i}", name=f"Deal {i}", created_at=WHEN) for i in range(8))
    ids = standin.load(data)
    bodies: list[dict] = []
    original = standin.handler

    def spy(req):
        if req.url.path.endswith("/records/query"):
            bodies.append(json.loads(req.content))
        return original(req)

    standin.handler = spy  # type: ignore[method-assign]
    crm = make(standin, clock, page_size=4)
    refs = [r async for r in crm.iter_deal_refs()]
    assert [b["offset"] for b in bodies] == [0, 4, 8]
    assert all(b["limit"] == 4 for b in bodies)
    assert bodies[0]["sorts"] == [
        {"attribute": "created_at", "direction": "asc"},
        {"attribute": "record_id", "direction": "asc"},
    ]
    assert sorted(r.id for r in refs) == sorted(ids.values())
    # Same created_at everywhere: the record_id tie-break is what keeps pages from overlapping.
    assert [r.id for r in refs] == sorted(r.id for r in refs)


async def test_notes_are_read_per_deal_with_parent_filters(standin: AttioStandIn, clock: FakeClock) -> None:
    ids = standin.load(pipeline())
    notes = await make(standin, clock).list_notes(ids["a"])
    assert [n.text for n in notes] == ["Jane owns the budget."]
    note_requests = [p for m, p in standin.requests if p == "/v2/notes"]
    assert note_requests, standin.requests


async def test_notes_404_means_deal_not_found(standin: AttioStandIn, clock: FakeClock) -> None:
    ids = standin.load(pipeline())
    standin.fail_next(1, 404, path=r"^/v2/notes$")
    with pytest.raises(DealNotFound):
        await make(standin, clock).list_notes(ids["a"])


async def test_find_deals_falls_back_to_close_spellings(standin: AttioStandIn, clock: FakeClock) -> None:
    ids = standin.load(pipeline())
    crm = make(standin, clock)
    assert [d.id for d in await crm.find_deals("Globx Onboardng")] == [ids["g"]]
    assert await crm.find_deals("Nothing Like It At All") == []


# ---- writes -------------------------------------------------------------------------------------------


async def test_create_field_sends_attio_types_and_options(standin: AttioStandIn, clock: FakeClock) -> None:
    crm = make(standin, clock)
    multi = FieldSpec(name="scout_criteria", type=FieldType.MULTI_SELECT, label="Scout: criteria", options=("Price", "Security"))
    assert await crm.create_field(multi) is True
    attr = standin.attributes["deals"]["scout_criteria"]
    assert (attr["type"], attr["is_multiselect"], attr["title"]) == ("select", True, "Scout: criteria")
    assert [o["title"] for o in standin.options[("deals", "scout_criteria")]] == ["Price", "Security"]
    # A later config adds an option: the existing field keeps its type and gains the option.
    wider = multi.model_copy(update={"options": ("Price", "Security", "Support")})
    assert await crm.create_field(wider) is False
    assert [o["title"] for o in standin.options[("deals", "scout_criteria")]] == ["Price", "Security", "Support"]


async def test_create_field_over_an_archived_slug_says_what_to_do(standin: AttioStandIn, clock: FakeClock) -> None:
    standin.add_attribute("deals", "scout_metrics", "text")["is_archived"] = True
    with pytest.raises(CRMError) as err:
        await make(standin, clock).create_field(FieldSpec(name="scout_metrics", type=FieldType.TEXT))
    assert "archived" in str(err.value) and "scout_metrics" in str(err.value)


async def test_set_field_errors_a_user_can_act_on(standin: AttioStandIn, clock: FakeClock) -> None:
    ids = standin.load(pipeline())
    crm = make(standin, clock)
    with pytest.raises(CRMError) as err:
        await crm.set_field(ids["a"], "scout_nope", "x")
    assert "scout setup" in str(err.value)
    with pytest.raises(CRMError) as err:
        await crm.set_field(ids["a"], "scout_paper", "Not an option")
    assert "Attio 400" in str(err.value) and "Not an option" in str(err.value)
    with pytest.raises(CRMError) as err:
        await crm.set_field(ids["a"], "buyer", "Jane Doe")
    assert "does not write links" in str(err.value)
    assert (await crm.get_deal(ids["a"])).values["scout_paper"] is None


async def test_rejected_token_message(standin: AttioStandIn, clock: FakeClock) -> None:
    standin.load(pipeline())
    crm = make(standin, clock)
    standin.reject_token()
    with pytest.raises(AuthError) as err:
        await crm.count_deals()
    assert str(err.value).startswith("ATTIO_API_TOKEN was rejected (401): create an Attio access token")


async def test_unknown_object_in_the_field_map(standin: AttioStandIn, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "fields.toml"
    path.write_text('object = "opportunities"\n')
    with pytest.raises(CRMError) as err:
        await make(standin, clock, load_field_map(path)).count_deals()
    assert "no object 'opportunities'" in str(err.value)


# ---- pacing -------------------------------------------------------------------------------------------


async def test_too_fast_a_client_is_refused_and_recovers_from_retry_after(clock: FakeClock) -> None:
    standin = AttioStandIn(clock=clock.time, reads_per_s=5)
    data = pipeline()
    data.deals.extend(Deal(id=f"x{i}", name=f"Deal {i}", created_at=WHEN) for i in range(10))
    ids = standin.load(data)
    crm = make(standin, clock, reads_per_s=100)
    deals = await asyncio.gather(*(crm.get_deal(i) for i in ids.values()))
    assert {d.id for d in deals} == set(ids.values())
    assert standin.count_429 > 0


async def test_a_client_paced_at_the_server_limit_is_never_refused(clock: FakeClock) -> None:
    standin = AttioStandIn(clock=clock.time, reads_per_s=5)
    data = pipeline()
    data.deals.extend(Deal(id=f"x{i}", name=f"Deal {i}", created_at=WHEN) for i in range(10))
    ids = standin.load(data)
    crm = make(standin, clock, reads_per_s=5)
    deals = await asyncio.gather(*(crm.get_deal(i) for i in ids.values()))
    assert {d.id for d in deals} == set(ids.values())
    assert standin.count_429 == 0
    # Concurrent first reads share one load of the attribute definitions.
    assert [p for _, p in standin.requests].count("/v2/objects/deals/attributes") == 1


async def test_exhausted_retries_name_the_request(standin: AttioStandIn, clock: FakeClock) -> None:
    standin.load(pipeline())
    standin.fail_next(99, 429, path=r"/records/query$", retry_after=1.0)
    with pytest.raises(CRMError) as err:
        await make(standin, clock).count_deals()
    assert str(err.value) == "Attio 429 rate limited after 5 retries on POST /v2/objects/deals/records/query"
    assert standin.count_429 == 6


# ---- the demo pipeline round-trips --------------------------------------------------------------------


async def test_demo_pipeline_round_trips_through_attio_encoding(standin: AttioStandIn, clock: FakeClock) -> None:
    from engine.demo import generate_demo
    from engine.fieldtypes import same_value

    data = generate_demo(n_deals=25)
    ids = standin.load(data)
    crm = make(standin, clock, page_size=10)
    assert await crm.count_deals() == len(data.deals)
    notes_by_deal: dict[str, list[str]] = {}
    for note in sorted(data.notes, key=lambda n: n.created_at):
        notes_by_deal.setdefault(note.deal_id, []).append(note.text)
    # The deal owner is Attio's actor-reference and not a MEDIC field, so it decodes to a member id.
    compared = [f.name for f in data.fields if f.name != "owner"]
    for source in data.deals:
        deal = await crm.get_deal(ids[source.id])
        assert deal.name == source.name
        assert deal.stage == source.stage
        for name in compared:
            want, got = source.values.get(name), deal.values.get(name)
            assert (want is None and got is None) or same_value(want, got), (source.id, name, want, got)
        assert [n.text for n in await crm.list_notes(deal.id)] == notes_by_deal.get(source.id, [])
