"""A full pass against each vendor stand-in, the way a user runs it: the real CLI in-process, SCOUT_CRM and
SCOUT_CRM_BASE_URL pointing at the stand-in served on 127.0.0.1, the offline extractor.

Judged on the stand-in's state: a rehearsal changes nothing and sends no write; a live pass changes only
scout_* fields, only on the deals and fields the log names as written, to the values the log records.
The fault cases (429 storm, a 500 that outlasts the retries, a deal deleted mid-run) run the same pass
in-process on a fake clock, so retries and Retry-After cost no real time.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from engine.crm.attio import AttioCRM
from engine.demo import generate_demo
from engine.crm.hubspot import HubSpotCRM
from engine.extract.offline import OfflineExtractor
from engine.gate import Gate
from engine.medic import default_field_map
from engine.models import ActionKind, FieldType, WorkspaceData
from engine.provenance import ActionRow, ProvenanceStore
from engine.runner import run_pass
from engine.settings import Settings
from bench.bench_crm import pipeline as bench_pipeline
from tests.pipeline import small_pipeline
from tests.standins.http_server import StandInServer
from tests.standins import attio as attio_standin
from tests.standins import hubspot as hubspot_standin
from tests.standins import salesforce as salesforce_standin
from tests.standins.contract import FakeClock

VENDORS = ("attio", "hubspot")
SCOUT_FIELDS = {s.name: s for s in default_field_map().scout_fields()}
# High enough that a test never waits on HubSpot's 10-second window; the pacing itself is benchmarked in
# bench/bench_crm.py and covered by the adapter tests.
HUBSPOT_TEST_BUDGET = "5000"
# Over real HTTP the client's window (send time) and the server's (arrival time) drift by the jitter of the
# loopback; a stand-in with room above Attio's limits keeps these tests from waiting out a Retry-After date.
ATTIO_SERVED_LIMITS = {"reads_per_s": 400, "writes_per_s": 100}


# ---- the stand-ins, their state, and the CLI ------------------------------------------------------------


@dataclass
class Vendor:
    name: str
    standin: Any
    token_env: str
    token: str
    standin_url: str = ""

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Every deal's field values as the vendor stores them, minus bookkeeping that changes on any write."""
        if self.name == "attio":
            out = {}
            for record_id, record in self.standin.records["deals"].items():
                out[record_id] = {
                    slug: json.dumps([{k: v for k, v in item.items()
                                       if k not in ("active_from", "active_until", "created_by_actor")}
                                      for item in items], sort_keys=True)
                    for slug, items in record["values"].items()
                }
            return out
        return {deal_id: {k: json.dumps(v) for k, v in deal["properties"].items() if k != "hs_lastmodifieddate"}
                for deal_id, deal in self.standin.deals.items()}

    def schema(self) -> str:
        if self.name == "attio":
            return json.dumps([sorted(self.standin.attributes["deals"]), sorted(map(str, self.standin.options))])
        return json.dumps(sorted(self.standin.properties))

    def field_types(self) -> dict[str, str]:
        if self.name == "attio":
            return {slug: a["type"] + ("+multi" if a["is_multiselect"] else "")
                    for slug, a in self.standin.attributes["deals"].items()}
        return {name: f"{p['type']}/{p['fieldType']}" for name, p in self.standin.properties.items()}

    def stored(self, deal_id: str, field: str) -> Any:
        """One scout_* value, decoded from the vendor's storage independently of the adapter."""
        if self.name == "attio":
            items = self.standin.records["deals"][deal_id]["values"].get(field) or []
            if SCOUT_FIELDS[field].type.value == "multi_select":
                return sorted(i["option"]["title"] for i in items)
            if SCOUT_FIELDS[field].type.value == "select":
                return items[0]["option"]["title"] if items else None
            return items[0]["value"] if items else None
        raw = self.standin.deals[deal_id]["properties"].get(field)
        labels = {o["value"]: o["label"] for o in self.standin.properties[field].get("options") or []}
        if SCOUT_FIELDS[field].type.value == "multi_select":
            return sorted(labels.get(v, v) for v in raw.split(";")) if raw else []
        return labels.get(raw, raw)

    def writes_seen(self) -> list[str]:
        """Requests that could change the CRM (anything but reads, queries, searches and batch reads)."""
        if self.name == "attio":
            return [f"{m} {p}" for m, p in self.standin.requests
                    if m != "GET" and not p.endswith("/records/query")]
        return [r for r in self.standin.requests
                if not r.startswith("GET ") and not r.endswith(("/search", "/batch/read", "access-token-info"))]


def salesforce_names() -> Callable[[str], str]:
    """The demo's snake_case field names -> the Salesforce field map's API names (`Scout_Metrics__c`)."""
    from engine.medic import method_field_map

    snake, api = default_field_map().concepts, method_field_map(naming="salesforce").concepts
    renames = {snake[c].rep.name: api[c].rep.name for c in snake} | {snake[c].scout.name: api[c].scout.name
                                                                    for c in snake}
    return lambda name: renames.get(name, name)


def make_vendor(name: str, **kwargs: Any) -> Vendor:
    if name == "salesforce":
        return Vendor(name, salesforce_standin.SalesforceStandIn(**kwargs), "SALESFORCE_CLIENT_SECRET",
                      salesforce_standin.CLIENT_SECRET)
    if name == "attio":
        return Vendor(name, attio_standin.AttioStandIn(**kwargs), "ATTIO_API_TOKEN", attio_standin.TOKEN)
    return Vendor(name, hubspot_standin.HubSpotStandIn(requests_per_10s=int(HUBSPOT_TEST_BUDGET), **kwargs),
                  "HUBSPOT_TOKEN", hubspot_standin.TOKEN)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Vendor]]:
    """serve(vendor, data) -> the seeded stand-in, reachable over HTTP with the env a user would set."""
    servers: list[StandInServer] = []
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)

    def start(name: str, data: WorkspaceData | None = None, **kwargs: Any) -> Vendor:
        vendor = make_vendor(name, **({**ATTIO_SERVED_LIMITS, **kwargs} if name == "attio" else kwargs))
        if data is not None:
            vendor.standin.load(data, salesforce_names()) if name == "salesforce" else vendor.standin.load(data)
        server = StandInServer(vendor.standin.handler).__enter__()
        servers.append(server)
        vendor.standin_url = server.url
        monkeypatch.setenv("SCOUT_CRM", name)
        monkeypatch.setenv("SCOUT_CRM_BASE_URL", server.url)
        monkeypatch.setenv(vendor.token_env, vendor.token)
        monkeypatch.setenv("HUBSPOT_RATE_PER_10S", HUBSPOT_TEST_BUDGET)
        if name == "salesforce":  # the token endpoint is the org's My Domain; it answers with the instance URL
            monkeypatch.setenv("SALESFORCE_LOGIN_URL", server.url)
            monkeypatch.setenv("SALESFORCE_CLIENT_ID", salesforce_standin.CLIENT_ID)
        return vendor

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def last_run_rows() -> list[ActionRow]:
    async def read() -> list[ActionRow]:
        store = await ProvenanceStore.open(Settings().log_db, readonly=True)
        try:
            return await store.actions_for_run((await store.list_runs(1))[0].id)
        finally:
            await store.aclose()

    return asyncio.run(read())


def live_pass_as_rehearsed(scout: Callable[..., tuple[int, str, str]],
                           would: list[tuple[str | None, str | None, str]]) -> dict[tuple[str | None, str | None], ActionRow]:
    """`scout run --apply`; its applied writes, which must be exactly what the rehearsal showed."""
    code, out, err = scout("run", "--apply")
    assert code == 0 and out.startswith("LIVE: "), err
    written = {(r.deal_id, r.field): r for r in last_run_rows() if r.action is ActionKind.WRITTEN}
    assert written and all(r.status == "applied" and not r.dry_run for r in written.values())
    assert sorted((d, f, json.dumps(r.new)) for (d, f), r in written.items()) == would
    return written


# ---- the full pass over HTTP (sync tests: main() runs its own event loop) -------------------------------


@pytest.mark.parametrize("name", VENDORS)
def test_rehearsal_then_live_pass_changes_only_logged_scout_fields(name, serve, scout, monkeypatch) -> None:
    vendor = serve(name, generate_demo(n_deals=10))
    before, schema = vendor.snapshot(), vendor.schema()

    code, out, err = scout("run")
    assert code == 0 and out.startswith("DRY RUN"), err
    assert vendor.snapshot() == before and vendor.schema() == schema
    assert vendor.writes_seen() == []
    dry = last_run_rows()
    would = sorted((r.deal_id, r.field, json.dumps(r.new)) for r in dry if r.action is ActionKind.WOULD_WRITE)
    assert would, "the demo pipeline has suggestions to make"

    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, err = scout("setup", "--apply")
    assert code == 0 and out.startswith("LIVE"), err
    types = vendor.field_types()
    expected = {"attio": {"text": "text", "select": "select", "multi_select": "select+multi"},
                "hubspot": {"text": "string/textarea", "select": "enumeration/select",
                            "multi_select": "enumeration/checkbox"}}[name]
    assert {f: types.get(f) for f in SCOUT_FIELDS} == {f: expected[s.type.value] for f, s in SCOUT_FIELDS.items()}
    assert vendor.snapshot() == before  # creating fields touches no deal's values

    written = live_pass_as_rehearsed(scout, would)

    after = vendor.snapshot()
    changed = {(deal, field) for deal in after for field in set(after[deal]) | set(before[deal])
               if after[deal].get(field) != before[deal].get(field)}
    assert changed == set(written)
    assert all(field.startswith("scout_") for _, field in changed)
    for (deal, field), row in written.items():
        new = sorted(row.new) if isinstance(row.new, list) else row.new
        assert vendor.stored(deal, field) == new


def test_a_pass_that_cannot_list_deals_exits_1_not_partial(serve, scout) -> None:
    vendor = serve("hubspot", generate_demo(n_deals=5))
    vendor.standin.fail_next("GET /crm/v3/objects/deals", 400)  # not retried: the listing fails at once

    code, out, err = scout("run")
    assert code == 1, (out, err)
    assert out.startswith("DRY RUN") and "scanned 0/0" in out and "1 error(s), first: HubSpot 400" in out
    rows = last_run_rows()
    assert [(r.action, r.reason) for r in rows] == [(ActionKind.FAILED, "listing deals failed")]

    code, out, err = scout("run")  # the stand-in answers again: an ordinary pass, exit 0
    assert code == 0 and "scanned 5/5" in out, err


# ---- scout check ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VENDORS)
def test_check_lists_missing_scout_fields_then_ready_after_setup(name, serve, scout, monkeypatch) -> None:
    serve(name, small_pipeline(with_scout=False))
    code, out, err = scout("check")
    assert code == 4, err
    assert "scout_champion missing: run `scout setup --apply` with LIVE_WRITES=1" in out
    assert "deals     5 visible" in out
    assert "notes     5 on the first 5 deals" in out and "a sample" in out
    for rep in ("metrics", "economic_buyer", "champion", "competition"):
        assert f" {rep} " in out  # every rep field is listed with its type

    monkeypatch.setenv("LIVE_WRITES", "1")
    assert (scout("setup", "--apply"))[0] == 0
    code, out, err = scout("check")
    assert code == 0, out + err
    assert "Ready" in out and "MISSING" not in out
    token_env = "ATTIO_API_TOKEN" if name == "attio" else "HUBSPOT_TOKEN"
    assert f"token     {token_env} accepted" in out and err == ""


@pytest.mark.parametrize("name", VENDORS)
def test_check_on_an_unreachable_crm_names_the_host_and_the_error_and_never_says_accepted(name, scout,
                                                                                          monkeypatch) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SCOUT_CRM", name)
    monkeypatch.setenv("SCOUT_CRM_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ATTIO_API_TOKEN" if name == "attio" else "HUBSPOT_TOKEN", "some-token")
    code, out, err = scout("check")
    assert code == 1
    line = next(line for line in out.splitlines() if line.strip().startswith("token"))
    assert "unreachable" in line and f"127.0.0.1:{port}" in line and "ConnectError" in line
    assert "accepted" not in out and "rejected" not in out
    assert "Not ready: the CRM could not be reached" in out
    assert "WARNING" not in err and "warning" not in err  # no raw log line from a fallback probe


@pytest.mark.parametrize(("name", "dropped"), [("attio", "note:read-write"), ("hubspot", "crm.objects.contacts.read")])
def test_check_names_a_missing_scope_and_where_to_add_it(name, dropped, serve, scout) -> None:
    vendor = serve(name, small_pipeline())
    vendor.standin.scopes.discard(dropped)
    code, out, err = scout("check")
    assert code == 4, err
    scope = "note:read" if name == "attio" else dropped
    where = "Attio (Workspace settings > Developers" if name == "attio" else "HubSpot (Settings > Integrations"
    holder = "access token" if name == "attio" else "private app"
    line = next(line for line in out.splitlines() if f"token lacks {scope}" in line)
    assert "notes" in line and f"add the scope to the {holder} in {where}" in line
    assert "could not read notes" in out  # the probe met the same wall, and says so
    assert "deals     5 visible" in out  # the rest of the report still filled in


@pytest.mark.parametrize("name", VENDORS)
@pytest.mark.parametrize("token", ["not-the-token", None])
def test_check_with_a_bad_or_missing_token_is_one_line_naming_the_variable(name, token, serve, scout,
                                                                                 monkeypatch) -> None:
    vendor = serve(name, small_pipeline())
    if token is None:
        monkeypatch.delenv(vendor.token_env)
    else:
        monkeypatch.setenv(vendor.token_env, token)
    code, out, err = scout("check")
    assert code == (1 if token else 2) and out == ""  # unset is a missing setting (2), as in `python -m bot`
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("scout: ") and vendor.token_env in err
    assert ("is not set" if token is None else "rejected") in err


def test_check_without_token_introspection_still_tests_access_directly(serve, scout) -> None:
    serve("hubspot", small_pipeline(), token_info=False)
    code, out, err = scout("check")
    assert code == 0, out + err
    assert "could not list the token's scopes" in out and "Ready" in out


def test_check_on_the_embedded_workspace(scout, monkeypatch) -> None:
    code, out, _ = scout("check")
    assert code == 4 and "no embedded workspace yet: run `scout demo`" in out
    assert (scout("demo", "--deals", "12"))[0] == 0
    code, out, _ = scout("check")
    assert code == 4 and "deals     12 visible" in out and "scout_metrics missing" in out
    monkeypatch.setenv("LIVE_WRITES", "1")
    assert (scout("setup", "--apply"))[0] == 0
    code, out, _ = scout("check", "--json")
    report = json.loads(out)
    assert code == 0 and report["deals"] == 12 and not [i for i in report["issues"] if i["blocking"]]


# ---- faults, in-process on a fake clock -----------------------------------------------------------------


def adapter(vendor: Vendor, clock: FakeClock, transport: httpx.MockTransport | None = None) -> Any:
    base = attio_standin.BASE_URL if vendor.name == "attio" else hubspot_standin.BASE_URL
    client = httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {vendor.token}"},
                               transport=transport or httpx.MockTransport(vendor.standin.handler))
    if vendor.name == "attio":
        return AttioCRM(client, default_field_map(), sleep=clock.sleep, clock=clock.time)
    return HubSpotCRM(client, default_field_map(), requests_per_10s=100, sleep=clock.sleep, clock=clock.time)


async def live_pass(crm: Any, tmp_path: Path, concurrency: int = 4) -> tuple[Any, list[ActionRow]]:
    store = await ProvenanceStore.open(tmp_path / "log.sqlite")
    try:
        summary = await run_pass(crm=crm, writer=crm, store=store, extractor=OfflineExtractor(),
                                 field_map=default_field_map(), gate=Gate(live=True, reason=None), cap=50,
                                 concurrency=concurrency)
        return summary, await store.actions_for_run(summary.run_id)
    finally:
        await store.aclose()
        await crm.aclose()


def faulted(vendor: Vendor, op: str) -> dict[str, Any]:
    """fail_next arguments that hit `op` ("notes" or "write") on this vendor."""
    if vendor.name == "attio":
        return {"notes": {"method": "GET", "path": r"^/v2/notes$"},
                "write": {"method": ("PATCH", "PUT"), "path": r"^/v2/objects/deals/records/[^/]+$"}}[op]
    return {"notes": "POST /crm/v4/associations/deals/notes/batch/read",
            "write": "POST /crm/v3/objects/deals/batch/update"}[op]


def inject(vendor: Vendor, op: str, status: int, times: int, retry_after: float | None) -> None:
    where = faulted(vendor, op)
    if vendor.name == "attio":
        vendor.standin.fail_next(times, status, retry_after=retry_after, **where)
    else:
        vendor.standin.fail_next(where, status, times, retry_after)


def refused(vendor: Vendor) -> int:
    s = vendor.standin
    return s.count_429 + s.count_5xx if vendor.name == "attio" else s.refusals


@pytest.mark.parametrize("name", VENDORS)
async def test_a_429_storm_is_waited_out_and_every_write_lands(name, tmp_path) -> None:
    clock = FakeClock()
    vendor = make_vendor(name, clock=clock.time)
    vendor.standin.load(small_pipeline())
    inject(vendor, "notes", 429, 4, retry_after=3.0)
    inject(vendor, "write", 429, 3, retry_after=2.0)

    summary, rows = await live_pass(adapter(vendor, clock), tmp_path)

    assert refused(vendor) == 7
    assert summary.failed == 0 and summary.scanned == summary.total == 5
    written = [r for r in rows if r.action is ActionKind.WRITTEN]
    assert written and all(r.status == "applied" for r in written)
    assert all(vendor.stored(r.deal_id, r.field) == (sorted(r.new) if isinstance(r.new, list) else r.new)
               for r in written)
    # Retry-After was honoured: the waits include the server's asks (Attio's HTTP date rounds up a second).
    assert sum(1 for s in clock.sleeps if 2.0 <= s <= 4.0) >= 7


@pytest.mark.parametrize("name", VENDORS)
async def test_a_500_on_one_deals_notes_after_retries_is_a_failed_row_and_the_pass_goes_on(name, tmp_path) -> None:
    clock = FakeClock()
    vendor = make_vendor(name, clock=clock.time)
    ids = vendor.standin.load(small_pipeline())
    # The page's batched read fails (retries spent), so each of its deals is read on its own: d1's read fails too.
    if name == "hubspot":  # HubSpot's per-deal path names the deal: aim at d1 exactly
        inject(vendor, "notes", 500, 6, retry_after=None)
        vendor.standin.fail_next(f"GET /crm/v4/objects/deals/{ids['d1']}/associations/notes", 500, 6, None)
    else:  # Attio's notes list names the deal in its query: the batched read and d1's own read both meet it
        vendor.standin.fail_next(12, 500, method="GET", path=r"^/v2/notes$", query={"parent_record_id": ids["d1"]})

    summary, rows = await live_pass(adapter(vendor, clock), tmp_path, concurrency=1 if name == "attio" else 4)

    failed = [r for r in rows if r.action is ActionKind.FAILED]
    assert len(failed) == 1 and summary.failed == 1
    victim = failed[0].deal_id
    assert failed[0].reason == "reading deal failed" and "500" in failed[0].error and "5 retries" in failed[0].error
    if name == "hubspot":
        assert victim == ids["d1"]
    assert summary.scanned == summary.total - 1 == 4
    others = {r.deal_id for r in rows if r.action is ActionKind.WRITTEN}
    assert others and victim not in others  # the next deals were written as usual


@pytest.mark.parametrize("name", VENDORS)
async def test_a_deal_deleted_mid_run_is_a_logged_skip(name, tmp_path) -> None:
    clock = FakeClock()
    vendor = make_vendor(name, clock=clock.time)
    ids = vendor.standin.load(small_pipeline())
    gone = ids["d1"]
    listing = "/records/query" if name == "attio" else "GET /crm/v3/objects/deals"
    # On a new log Attio's records are read once first, to see whether Scout's values are already there.
    listings = {"seen": 0, "pass": 2 if name == "attio" else 1}

    def handler(request: httpx.Request) -> httpx.Response:
        response = vendor.standin.handler(request)
        where = f"{request.method} {request.url.path}"
        listings["seen"] += where.endswith(listing)
        if where.endswith(listing) and listings["seen"] >= listings["pass"] and gone in (vendor.standin.records["deals"] if name == "attio"
                                                 else vendor.standin.deals):
            # The pipeline was listed with the deal in it; someone deletes it before Scout reaches it.
            (vendor.standin.delete_record("deals", gone) if name == "attio" else vendor.standin.delete_deal(gone))
        return response

    summary, rows = await live_pass(adapter(vendor, clock, httpx.MockTransport(handler)), tmp_path)

    skipped = [r for r in rows if r.deal_id == gone]
    assert len(skipped) == 1 and skipped[0].action is ActionKind.SKIPPED
    assert "deal not found (deleted or merged mid-run)" in skipped[0].reason
    assert summary.failed == 0 and summary.total == 5 and summary.scanned == 4
    assert any(r.action is ActionKind.WRITTEN for r in rows)


@pytest.mark.parametrize("name", ["attio", "hubspot"])
async def test_a_note_from_the_crm_holding_a_lone_surrogate_is_read_as_text(name, tmp_path) -> None:
    # JSON from a vendor may carry the escape "\ud800", which is no character: SQLite refuses it in any row.
    clock = FakeClock()
    vendor = make_vendor(name, clock=clock.time)
    data = small_pipeline()
    data.notes = [n if n.id != "n1" else n.model_copy(update={"text": n.text.replace("the CFO,", "the CFO MARK,")})
                  for n in data.notes]  # inside a sentence Scout quotes
    ids = vendor.standin.load(data)

    def handler(request: httpx.Request) -> httpx.Response:
        response = vendor.standin.handler(request)
        body = response.read()
        if b"MARK" not in body:
            return response
        return httpx.Response(response.status_code, headers={"content-type": "application/json"},
                              content=body.replace(b"MARK", b"\\ud800"))

    summary, rows = await live_pass(adapter(vendor, clock, httpx.MockTransport(handler)), tmp_path)

    assert [r.error for r in rows if r.action is ActionKind.FAILED] == []
    assert summary.failed == 0 and summary.scanned == 5
    notes = {r.note_id for r in rows if r.action is ActionKind.WRITTEN and r.deal_id == ids["d1"]}
    assert len(notes) == 2  # both of Acme's notes gave suggestions, the odd one included


@pytest.mark.parametrize("name", VENDORS)
async def test_a_write_the_vendor_refuses_inside_a_batch_fails_with_its_reason_and_the_others_stand(name, tmp_path):
    clock = FakeClock()
    vendor = make_vendor(name, clock=clock.time)
    ids = vendor.standin.load(small_pipeline())
    gone = ids["d1"]
    is_write = (lambda m, p: m in ("PATCH", "PUT") and p.endswith(f"/records/{gone}")) if name == "attio" else (
        lambda m, p: p == "/crm/v3/objects/deals/batch/update")

    def handler(request: httpx.Request) -> httpx.Response:
        if is_write(request.method, request.url.path):  # deleted after it was re-read, as the write arrives
            (vendor.standin.delete_record("deals", gone) if name == "attio" else vendor.standin.delete_deal(gone))
        return vendor.standin.handler(request)

    summary, rows = await live_pass(adapter(vendor, clock, httpx.MockTransport(handler)), tmp_path)

    refused = [r for r in rows if r.deal_id == gone and r.field]
    assert refused and all(r.action is ActionKind.FAILED and r.status == "failed" and r.error for r in refused
                           if r.action in (ActionKind.FAILED, ActionKind.WRITTEN))
    written = [r for r in rows if r.action is ActionKind.WRITTEN]
    assert written and all(r.status == "applied" and r.deal_id != gone for r in written)
    assert all(vendor.stored(r.deal_id, r.field) == (sorted(r.new) if isinstance(r.new, list) else r.new)
               for r in written)
    assert summary.failed == len([r for r in refused if r.action is ActionKind.FAILED])
    if name == "hubspot":  # the whole page's writes moved in one request
        assert [w for w in vendor.writes_seen() if "batch/update" in w] == ["POST /crm/v3/objects/deals/batch/update"]
        assert not [w for w in vendor.writes_seen() if w.startswith("PATCH /crm/v3/objects/deals/")]


async def test_a_hubspot_pass_keeps_enough_pages_in_flight_to_cover_the_round_trip(tmp_path) -> None:
    """A HubSpot page costs a few batch requests, far less of the budget than a round trip of waiting: the pass
    reads many pages ahead (HubSpotCRM.pages_in_flight), so latency overlaps instead of adding up per page.
    What a user sees: every write made, and the page reads on the wire overlapping."""
    clock = FakeClock()
    vendor = make_vendor("hubspot", clock=clock.time)
    vendor.standin.load(bench_pipeline(120))
    in_flight = most = 0

    async def slow_network(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        reading = request.url.path == "/crm/v4/associations/deals/notes/batch/read"  # a page's first read
        in_flight += reading
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.01)
            return vendor.standin.handler(request)
        finally:
            in_flight -= reading

    crm = adapter(vendor, clock, httpx.MockTransport(slow_network))
    store = await ProvenanceStore.open(tmp_path / "log.sqlite")
    try:
        summary = await run_pass(crm=crm, writer=crm, store=store, extractor=OfflineExtractor(),
                                 field_map=default_field_map(), gate=Gate(live=True, reason=None), cap=120,
                                 concurrency=4, page_size=10)
    finally:
        await store.aclose()
        await crm.aclose()
    assert summary.scanned == 120 and summary.written == 600 and summary.failed == 0
    assert most >= HubSpotCRM.pages_in_flight >= 8


# ---- Salesforce: API names, field-level security, undo ---------------------------------------------------


def _salesforce_state(vendor: Vendor) -> dict[str, dict[str, Any]]:
    # A field never set and a field set to null read the same in Salesforce: both absent here.
    return {deal_id: {k: v for k, v in record.items() if k != "LastModifiedDate" and v is not None}
            for deal_id, record in vendor.standin.records["Opportunity"].items()}


def test_salesforce_rehearsal_then_live_pass_changes_only_logged_scout_fields_and_undo_restores(
        serve, scout, monkeypatch) -> None:
    vendor = serve("salesforce", generate_demo(n_deals=10))
    org = vendor.standin
    before, fields_before = _salesforce_state(vendor), sorted(org.fields)

    code, out, err = scout("setup")  # the rehearsal names the custom fields it would create
    assert code == 0 and out.startswith("DRY RUN"), err
    assert "Scout_Economic_Buyer__c" in out and out.count("would_create") == 7, out
    code, out, err = scout("run")
    assert code == 0 and out.startswith("DRY RUN"), err
    assert _salesforce_state(vendor) == before and sorted(org.fields) == fields_before
    assert [r for r in org.requests if not r.startswith("GET ") and not r.endswith("/oauth2/token")] == []
    would = sorted((r.deal_id, r.field, json.dumps(r.new)) for r in last_run_rows()
                   if r.action is ActionKind.WOULD_WRITE)
    assert would and all(f.startswith("Scout_") and f.endswith("__c") for _, f, _ in would)

    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, err = scout("setup", "--apply")
    assert code == 0 and out.startswith("LIVE"), err
    scout_fields = {c.scout.name: c.scout.type.value for c in Settings().field_map.concepts.values()}
    kinds = {"text": "textarea", "select": "picklist", "multi_select": "multipicklist"}
    assert {f: org.fields[f].type for f in scout_fields} == {f: kinds[t] for f, t in scout_fields.items()}
    assert all(org.visible_fields().get(f) for f in scout_fields), "FLS granted through Scout's permission set"
    assert _salesforce_state(vendor) == before
    created = len(org.custom_fields)
    code, out, err = scout("setup", "--apply")  # twice is harmless
    assert code == 0 and out.count(" exists") == 7 and len(org.custom_fields) == created, out + err

    written = live_pass_as_rehearsed(scout, would)
    after = _salesforce_state(vendor)
    changed = {(deal, f) for deal in after for f in set(after[deal]) | set(before[deal])
               if after[deal].get(f) != before[deal].get(f)}
    assert changed == set(written)
    assert all(re.fullmatch(r"Scout_[A-Za-z_]+__c", f) for _, f in changed)
    for (deal, f), row in written.items():
        raw = after[deal][f]
        assert (sorted(raw.split(";")) if isinstance(row.new, list) else raw) == (
            sorted(row.new) if isinstance(row.new, list) else row.new)

    code, out, err = scout("undo", "last", "--apply")
    assert code == 0, out + err
    assert _salesforce_state(vendor) == before  # every scout value cleared again, nothing else touched


def test_a_salesforce_pass_reads_and_writes_in_batches_and_a_record_refused_in_a_collection_fails_alone(
        serve, scout, monkeypatch) -> None:
    vendor = serve("salesforce", generate_demo(n_deals=10))
    org = vendor.standin
    monkeypatch.setenv("LIVE_WRITES", "1")
    assert scout("setup", "--apply")[0] == 0
    code, out, err = scout("run")
    would = {r.deal_id for r in last_run_rows() if r.action is ActionKind.WOULD_WRITE}
    refused = sorted(would)[0]
    org.validation_rules[refused] = "Close Date must be set before\nqualification changes"
    org.requests.clear(), org.soql.clear()

    code, out, err = scout("run", "--apply")
    assert code == 4 and out.startswith("LIVE: ") and "2 failed" in out, out + err  # partial: one deal refused
    # Reads: the page's deals in one SOQL `Id IN (...)`, never one query per deal.
    by_id = [q for q in org.soql if q.startswith("SELECT Id, Name, StageName") and "WHERE Id IN (" in q]
    assert by_id and not [q for q in org.soql if re.search(r"FROM Opportunity WHERE Id = ", q)]
    # Writes: sObject Collections (the stand-in answers allOrNone: false only), never a PATCH per record.
    patches = [r for r in org.requests if r.startswith("PATCH ") and "/sobjects" in r]
    assert patches and all(r == "PATCH /services/data/v66.0/composite/sobjects" for r in patches), patches
    assert len(patches) < len(would)
    rows = last_run_rows()
    failed = [r for r in rows if r.deal_id == refused and r.action in (ActionKind.FAILED, ActionKind.WRITTEN)]
    assert failed and all(r.action is ActionKind.FAILED and r.status == "failed" for r in failed)
    assert all(r.error == "FIELD_CUSTOM_VALIDATION_EXCEPTION: Close Date must be set before qualification changes"
               for r in failed), {r.error for r in failed}
    written = [r for r in rows if r.action is ActionKind.WRITTEN]
    assert {r.deal_id for r in written} == would - {refused}
    assert all(r.status == "applied" and org.records["Opportunity"][r.deal_id][r.field] is not None
               for r in written)
    assert all(org.records["Opportunity"][refused].get(r.field) is None for r in failed)


def test_salesforce_check_tells_a_missing_field_from_an_invisible_one(serve, scout, monkeypatch) -> None:
    vendor = serve("salesforce", small_pipeline(with_scout=False))
    org = vendor.standin
    org.add_field("Scout_Champion__c", FieldType.TEXT, "Scout: Champion", visible=False)  # made, never granted
    org.hide("Economic_Buyer__c")  # a rep field the integration user lost access to
    code, out, err = scout("check")
    assert code == 4, out + err
    assert "token     SALESFORCE_CLIENT_ID accepted: org 00D" in out and "client credentials flow" in out
    assert "api       v66.0 (newest the org offers: v66.0)" in out
    assert re.search(r"api calls \d+ of 100000 used today, \d+ left; Scout stops at 20000 left", out)
    assert "Scout_Metrics__c missing: run `scout setup --apply`" in out
    assert ("Scout_Champion__c exists but the integration user cannot see it (field-level security): run "
            "`scout setup --apply` with LIVE_WRITES=1") in out
    assert "Economic_Buyer__c exists but the integration user cannot see it" in out
    assert "INVISIBLE (FLS)" in out and "deals     5 visible" in out and "notes     5 on the first 5 deals" in out

    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, err = scout("setup", "--apply")
    assert code == 0 and re.search(r"Scout_Champion__c +text +exists", out), out + err  # granted, not re-created
    org.grant(org.profile_ps, "Economic_Buyer__c", edit=True)
    code, out, err = scout("check")
    assert code == 0 and "Ready" in out, out + err


def test_salesforce_check_shows_each_mapped_field_with_its_salesforce_type_and_lists_the_rest_on_request(
        serve, scout) -> None:
    vendor = serve("salesforce", small_pipeline(with_scout=False))
    vendor.standin.add_field("Forecast_Notes__c", FieldType.TEXT, "Forecast notes", sf_type="string")
    code, out, err = scout("check")
    assert code == 4, out + err
    assert re.search(r"field +Salesforce type +map wants +CRM has", out), out
    assert re.search(r"Economic_Buyer__c +reference\(Contact\) +person +person +ok", out), out
    assert re.search(r"Decision_Criteria__c +multipicklist +multi_select +multi_select +ok", out), out
    assert re.search(r"Scout_Metrics__c +- +text +- +MISSING", out), out
    # The fields the map does not name: a count on the report, every one with its types under --fields.
    assert re.search(r"other     \d+ more Opportunity fields, \d+ of them custom: `scout check --fields` lists "
                     r"them with their types", out), out
    assert "Forecast_Notes__c" not in out

    code, out, err = scout("check", "--fields")
    assert code == 4, out + err
    assert re.search(r"Forecast_Notes__c +Forecast notes +string +text +custom", out), out
    assert re.search(r"Amount +\S+ +currency +number", out), out
    assert re.search(r"OwnerId +\S+ +reference\(User\) +person", out), out
    assert re.search(r"Metrics__c +\S+ +textarea +text +custom, rep field \(metrics\)", out), out

    code, out, err = scout("check", "--json")
    fields = {f["name"]: f for f in json.loads(out)["object_fields"]}
    assert fields["Amount"]["vendor_type"] == "currency" and fields["Amount"]["type"] == "number"


README = Path(__file__).resolve().parent.parent / "README.md"
# The README's Salesforce commands, as written, and what each must show on a fresh org (the stand-in).
SALESFORCE_README_EXPECT: dict[str, tuple[int, tuple[str, ...]]] = {
    "scout check": (4, ("token     SALESFORCE_CLIENT_ID accepted", "api       v66.0", "api calls ",
                        "Salesforce type", "Scout_Metrics__c missing", "deals     5 visible", "Not ready")),
    "scout check --fields": (4, ("Every Opportunity field visible to Scout", "Amount", "currency")),
    "scout setup": (0, ("DRY RUN", "Scout_Economic_Buyer__c", "would_create", "Nothing was created")),
    "LIVE_WRITES=1 scout setup --apply": (0, ("LIVE: setup", "Scout_Metrics__c")),
    "scout check#2": (0, ("Ready",)),
    "scout run": (0, ("DRY RUN", "scanned 5/5")),
}


def salesforce_readme_block() -> list[str]:
    """The lines of the ```sh block in the README's Salesforce section."""
    section = README.read_text().split("### Salesforce", 1)[1].split("\n### ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() if " #" in line else line.strip() for line in block.splitlines()
            if line.strip()]


def test_the_readme_salesforce_commands_run_as_written_from_a_fresh_org_to_a_first_rehearsal(
        serve, scout, monkeypatch) -> None:
    vendor = serve("salesforce", small_pipeline(with_scout=False))
    vendor.standin.add_profile("Standard User")
    for name in ("SCOUT_CRM", "SCOUT_CRM_BASE_URL", "SALESFORCE_LOGIN_URL", "SALESFORCE_CLIENT_ID",
                 "SALESFORCE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)  # only what the README sets
    ours = {"SALESFORCE_LOGIN_URL": vendor.standin_url, "SALESFORCE_CLIENT_ID": salesforce_standin.CLIENT_ID,
            "SALESFORCE_CLIENT_SECRET": salesforce_standin.CLIENT_SECRET}
    seen: list[str] = []
    for line in salesforce_readme_block():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            monkeypatch.setenv(name, ours.get(name, value.strip('"')))
            continue
        key = line if line not in seen else f"{line}#{seen.count(line) + 1}"
        seen.append(line)
        assert key in SALESFORCE_README_EXPECT, f"README command {line!r}: say here what it must show"
        code_wanted, shows = SALESFORCE_README_EXPECT[key]
        env, _, command = line.rpartition("scout ")
        with monkeypatch.context() as m:
            for assignment in env.split():
                m.setenv(*assignment.split("=", 1))
            code, out, err = scout(*command.split())
        assert code == code_wanted, f"{line}: exit {code}\n{out}{err}"
        missing = [text for text in shows if text not in out]
        assert not missing, f"{line}: {missing} not in\n{out}"
    assert sorted(set(seen)) == sorted({k.split("#")[0] for k in SALESFORCE_README_EXPECT})
    reviewers = next(i for i, p in vendor.standin.records["PermissionSet"].items() if p.get("Label") == "Standard User")
    assert any(p["ParentId"] == reviewers for p in vendor.standin.records["FieldPermissions"].values())


def test_salesforce_check_names_a_reviewer_profile_that_does_not_exist(serve, scout, monkeypatch) -> None:
    vendor = serve("salesforce", small_pipeline(with_scout=False))
    vendor.standin.add_profile("Sales Manager")
    monkeypatch.setenv("SALESFORCE_REVIEWER_PROFILES", "Sales Manager, Sales Manger")
    code, out, err = scout("check")
    assert code == 4, out + err
    assert ("SALESFORCE_REVIEWER_PROFILES: no profile named 'Sales Manger' in this org: set it to the exact "
            "names Setup > Profiles shows") in out, out
    assert "'Sales Manager'" not in out


def test_salesforce_check_with_a_rejected_secret_is_one_line_naming_the_variables(serve, scout,
                                                                                  monkeypatch) -> None:
    serve("salesforce", small_pipeline())
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "not-the-secret")
    code, out, err = scout("check")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "rejected" in err and "SALESFORCE_CLIENT_SECRET" in err and "invalid_client" in err


def test_salesforce_without_a_secret_or_key_is_a_missing_setting_naming_it(serve, scout, monkeypatch) -> None:
    serve("salesforce", small_pipeline())
    monkeypatch.delenv("SALESFORCE_CLIENT_SECRET")
    code, out, err = scout("check")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "SALESFORCE_CLIENT_SECRET is not set" in err and "SALESFORCE_PRIVATE_KEY_FILE" in err
