"""`scout check`: is the configured CRM ready for Scout? Token, scopes, fields, deals and notes, and fixes.

It only reads. Each probe runs on its own, so one refusal (say, a token without the notes scope) is reported
with its fix while the rest of the report still fills in. A token that is missing or rejected outright is
not a finding but an AuthError: the CLI turns it into one line that names the variable.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from engine.crm.base import AuthError, CRMError, CRMReader, CRMUnreachable
from engine.crm.factory import open_reader
from engine.crm.http import RateLimiter, request
from engine.extract.offline import unextracted_notice
from engine.medic import FieldMap
from engine.models import FieldSpec, FieldType
from engine.settings import Settings

NOTE_SAMPLE = 20
SETUP_FIX = "run `scout setup --apply` with LIVE_WRITES=1 (`scout setup` alone shows the plan)"

ATTIO_SELF = "/v2/self"
ATTIO_SCOPE_FIX = "add the scope to the access token in Attio (Workspace settings > Developers > your token)"
# (scope, what Scout needs it for, required?) A ':read' scope is also satisfied by its ':read-write' form.
ATTIO_SCOPES: tuple[tuple[str, str, bool], ...] = (
    ("record_permission:read", "read deals", True),
    ("record_permission:read-write", "write scout_* values in live runs; dry runs work without it", True),
    ("object_configuration:read", "read the deal attributes", True),
    ("object_configuration:read-write", "create the scout_* attributes with `scout setup --apply`", True),
    ("note:read", "read call notes", True),
    ("user_management:read", "show owner names instead of ids", False),
)

HUBSPOT_TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
HUBSPOT_SCOPE_FIX = "add the scope to the private app in HubSpot (Settings > Integrations > Private apps > Scopes)"
HUBSPOT_SCOPES: tuple[tuple[str, str, bool], ...] = (
    ("crm.objects.deals.read", "read deals", True),
    ("crm.objects.deals.write", "write scout_* values in live runs; dry runs work without it", True),
    ("crm.schemas.deals.read", "read the deal properties", True),
    ("crm.schemas.deals.write", "create the scout_* properties with `scout setup --apply`", True),
    ("crm.objects.contacts.read", "read notes, which HubSpot files under this scope", True),
    ("crm.objects.owners.read", "show owner names instead of ids", False),
)


SCHEMA_WRITE_SCOPES = ("object_configuration:read-write", "crm.schemas.deals.write")


class Issue(BaseModel):
    what: str
    fix: str
    blocking: bool = True  # False: worth knowing, Scout still works
    scope: str | None = None  # the missing scope, for a scope issue

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


Role = Literal["rep", "scout"]


class FieldCheck(BaseModel):
    concept: str
    role: Role
    name: str
    want: FieldType
    have: FieldType | None = None
    # invisible: the field exists but field-level security hides it (Salesforce answers as if it did not exist)
    state: Literal["ok", "missing", "wrong_type", "options_missing", "invisible"] = "ok"
    options_missing: list[str] = Field(default_factory=list)
    vendor_type: str | None = None  # the CRM's own name for the type (Salesforce: "reference(Contact)")


class ObjectField(BaseModel):
    """One field of the deal object as the CRM describes it, and how Scout reads it."""

    name: str
    label: str = ""
    type: FieldType
    vendor_type: str | None = None
    custom: bool | None = None  # None: the CRM does not say


class TokenInfo(BaseModel):
    # accepted: the CRM answered and took it; unverified: it answered but could not say (the reads below
    # then test the token); unreachable: no answer at all, so nothing is known about the token.
    state: Literal["accepted", "unverified", "unreachable"] = "accepted"
    identity: str = ""
    scopes: list[str] | None = None  # None: the CRM could not list them (the probes below still test access)
    detail: str = ""  # why it is unverified or unreachable


class ReadinessReport(BaseModel):
    crm: str
    target: str
    object: str
    token_env: str | None = None
    token: TokenInfo | None = None
    fields: list[FieldCheck] = Field(default_factory=list)
    object_fields: list[ObjectField] = Field(default_factory=list)  # every visible field of the deal object
    deals: int | None = None
    sample_deals: int = 0
    sample_notes: int | None = None
    sample_deals_with_notes: int = 0
    writes: str = ""
    extractor: str = ""
    facts: list[tuple[str, str]] = Field(default_factory=list)  # vendor lines: ("api", "v66.0"), ...
    issues: list[Issue] = Field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not any(i.blocking for i in self.issues)

    @property
    def unreachable(self) -> bool:
        return self.token is not None and self.token.state == "unreachable"


# ---- token and scopes -----------------------------------------------------------------------------------


def _token(settings: Settings) -> str:
    secret = settings.attio_api_token if settings.crm == "attio" else settings.hubspot_token
    return secret.get_secret_value().strip() if secret else ""


def _base_url(settings: Settings) -> str:
    if settings.crm_base_url:
        return settings.crm_base_url
    if settings.crm == "attio":
        from engine.crm.attio import DEFAULT_BASE_URL
    else:
        from engine.crm.hubspot import DEFAULT_BASE_URL
    return DEFAULT_BASE_URL


def _has(scopes: set[str], scope: str) -> bool:
    return scope in scopes or (scope.endswith(":read") and scope[: -len(":read")] + ":read-write" in scopes)


async def _introspect(settings: Settings, token_env: str, client: httpx.AsyncClient) -> tuple[TokenInfo, str | None]:
    """The token's identity and scopes, or (empty info, why they could not be listed). Raises AuthError."""
    where = ("Attio (Workspace settings > Developers)" if settings.crm == "attio"
             else "HubSpot (Settings > Integrations > Private apps)")
    rejected = f"{token_env} was rejected ({{status}}): check the token, or create a new one in {where}"
    limiter = RateLimiter(5, 1.0)
    vendor = "Attio" if settings.crm == "attio" else "HubSpot"
    try:
        if settings.crm == "attio":
            response = await request(client, "GET", ATTIO_SELF, limiter=limiter, vendor=vendor,
                                     auth_message=rejected, max_retries=2)
        else:
            response = await request(client, "POST", HUBSPOT_TOKEN_INFO, limiter=limiter, vendor=vendor,
                                     auth_message=rejected, max_retries=2, json={"tokenKey": _token(settings)})
    except AuthError:
        raise
    except CRMUnreachable as exc:
        return TokenInfo(state="unreachable", detail=str(exc)), str(exc)
    except CRMError as exc:
        return TokenInfo(state="unverified", detail=str(exc)), str(exc)
    if not response.is_success:
        why = f"{vendor} answered {response.status_code} on {response.request.url.path}"
        return TokenInfo(state="unverified", detail=why), why
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        why = f"{vendor} sent a non-JSON reply to {response.request.url.path}"
        return TokenInfo(state="unverified", detail=why), why
    if settings.crm == "attio":
        if body.get("active") is False:
            raise AuthError(f"{token_env} was rejected: Attio reports the token inactive (revoked or mistyped); "
                            "create a new access token in Workspace settings > Developers")
        name = body.get("workspace_name") or body.get("workspace_slug") or body.get("workspace_id") or "?"
        return TokenInfo(identity=f'Attio workspace "{name}"', scopes=str(body.get("scope") or "").split()), None
    hub = body.get("hubId")
    return TokenInfo(identity=f"HubSpot account {hub}" if hub else "HubSpot account",
                     scopes=[str(s) for s in body.get("scopes") or []]), None


def _scope_issues(crm: str, scopes: list[str]) -> list[Issue]:
    table, fix = (ATTIO_SCOPES, ATTIO_SCOPE_FIX) if crm == "attio" else (HUBSPOT_SCOPES, HUBSPOT_SCOPE_FIX)
    have = set(scopes)
    missing = [(scope, why, required) for scope, why, required in table if not _has(have, scope)]
    # Name the wider scope only: lacking record_permission:read-write says enough about :read.
    names = {scope for scope, _, _ in missing}
    out = []
    for scope, why, required in missing:
        if scope.endswith(":read") and scope[: -len(":read")] + ":read-write" in names:
            continue
        out.append(Issue(what=f"token lacks {scope} (needed to {why})", fix=fix, blocking=required, scope=scope))
    return out


# ---- fields ---------------------------------------------------------------------------------------------


def _suggest(name: str, existing: dict[str, FieldSpec]) -> str:
    pool = {n.casefold(): n for n in existing} | {s.label.casefold(): n for n, s in existing.items() if s.label}
    close = difflib.get_close_matches(name.replace("_", " ").casefold(), list(pool), n=1, cutoff=0.6)
    return f" (closest existing field: '{pool[close[0]]}')" if close else ""


def check_fields(field_map: FieldMap, existing: dict[str, FieldSpec], crm: str) -> tuple[list[FieldCheck], list[Issue]]:
    checks: list[FieldCheck] = []
    issues: list[Issue] = []
    for concept, pair in field_map.concepts.items():
        roles: tuple[tuple[Role, FieldSpec], ...] = (("rep", pair.rep), ("scout", pair.scout))
        for role, spec in roles:
            have = existing.get(spec.name)
            check = FieldCheck(concept=str(concept), role=role, name=spec.name, want=spec.type,
                               have=have.type if have else None)
            checks.append(check)
            if have is None:
                check.state = "missing"
                if role == "scout":
                    issues.append(Issue(what=f"{spec.name} missing", fix=SETUP_FIX))
                else:
                    issues.append(Issue(
                        what=f"rep field {spec.name} ({concept}) missing{_suggest(spec.name, existing)}",
                        fix=f"map {concept} to the field your reps fill: in the SCOUT_FIELD_MAP file set "
                            f'[concepts.{concept}] rep_field = "<field>" and rep_type',
                    ))
            elif have.type is not spec.type:
                check.state = "wrong_type"
                if role == "scout":
                    issues.append(Issue(
                        what=f"{spec.name} exists as {have.type.value}, Scout needs {spec.type.value}",
                        fix="Scout will not touch it: rename or remove it in the CRM, or set another "
                            f'scout_field for {concept} in the SCOUT_FIELD_MAP file',
                    ))
                else:
                    # Emptiness is judged by the mapped type; a mismatch changes what counts as "filled".
                    issues.append(Issue(
                        what=f"rep field {spec.name} is {have.type.value} in the CRM, the field map says "
                             f"{spec.type.value}",
                        fix=f'set rep_type = "{have.type.value}" for {concept} in the SCOUT_FIELD_MAP file',
                        blocking=False,
                    ))
            elif role == "scout" and spec.options:
                present = {o.casefold() for o in have.options}
                check.options_missing = [o for o in spec.options if o.casefold() not in present]
                if check.options_missing:
                    check.state = "options_missing"
                    fix = (SETUP_FIX + " (adds the missing options)" if crm != "local" else
                           "declare the options on the field in your import file and import it again")
                    issues.append(Issue(what=f"{spec.name} lacks options {', '.join(check.options_missing)}",
                                        fix=fix))
    return checks, issues


# ---- the check ------------------------------------------------------------------------------------------


class _Probe:
    """Runs one read; an error becomes an Issue, except an AuthError when nothing vouched for the token."""

    def __init__(self, report: ReadinessReport, token_known_good: bool, scope_gap: bool):
        self.report = report
        self.token_known_good = token_known_good
        self.scope_gap = scope_gap

    def failed(self, what: str, exc: CRMError) -> None:
        if isinstance(exc, AuthError) and not self.token_known_good:
            raise exc
        if isinstance(exc, AuthError) and self.scope_gap:
            fix = "grant the missing scope listed above"
        elif isinstance(exc, AuthError):
            fix = f"the token was refused here: check its scopes ({exc})"
        else:
            fix = str(exc)
        self.report.issues.append(Issue(what=f"could not {what}", fix=fix))


def _target(settings: Settings) -> tuple[str, str | None]:
    if settings.crm == "local":
        return f"embedded workspace {settings.workspace}", None
    if settings.crm == "salesforce":
        return settings.salesforce_login_url or settings.crm_base_url or "SALESFORCE_LOGIN_URL unset", \
            "SALESFORCE_CLIENT_ID"
    env = "ATTIO_API_TOKEN" if settings.crm == "attio" else "HUBSPOT_TOKEN"
    return _base_url(settings), env


async def check_readiness(
    settings: Settings, *, sample: int = NOTE_SAMPLE, http: httpx.AsyncClient | None = None,
    crm: CRMReader | None = None,
) -> ReadinessReport:
    """Everything `scout check` reports. `http` and `crm` let a test hand in clients bound to a stand-in."""
    target, token_env = _target(settings)
    report = ReadinessReport(crm=settings.crm, target=target, object=settings.field_map.object, token_env=token_env)
    report.writes = ("LIVE_WRITES=1: `--apply` runs write" if settings.live_writes else
                     "LIVE_WRITES is not 1: every run is a rehearsal until it is set")
    kind = settings.extractor_kind()
    if kind == "claude":
        report.extractor = f"claude ({settings.model})"
    elif settings.anthropic_api_key:
        report.extractor = "offline rules (SCOUT_EXTRACTOR=offline)"
    else:
        report.extractor = "offline rules (no ANTHROPIC_API_KEY; set it to use Claude)"
    if kind == "offline" and (unextracted := unextracted_notice(settings.field_map)):
        what, fix = unextracted.split(": ", 1)
        report.issues.append(Issue(what=what, fix=fix, blocking=False))

    salesforce: Any = None
    if crm is None and settings.crm == "salesforce":
        from engine.crm.factory import ReadOnlyCRM
        from engine.crm.salesforce import SalesforceCRM

        salesforce = SalesforceCRM.from_settings(settings)
        crm = ReadOnlyCRM(salesforce)
    if crm is None:
        try:
            crm = await open_reader(settings)
        except AuthError:
            raise
        except CRMError:
            if settings.crm != "local":
                raise
            report.issues.append(Issue(what="no embedded workspace yet",
                                       fix="run `scout demo`, or `scout import FILE` to load your own pipeline"))
            return report
    try:
        token_known_good = settings.crm == "local"
        scope_gap = False
        if salesforce is not None:
            from engine.salesforcecheck import probe_org

            if not await probe_org(salesforce, settings, report):
                return report
            token_known_good = True
        elif settings.crm != "local":
            own = http is None
            client = http or httpx.AsyncClient(
                base_url=_base_url(settings), timeout=httpx.Timeout(30.0),
                headers={"Authorization": f"Bearer {_token(settings)}", "Accept": "application/json"},
            )
            try:
                info, unavailable = await _introspect(settings, token_env or "", client)
            finally:
                if own:
                    await client.aclose()
            report.token = info
            if info.state == "unreachable":
                # Every probe would wait out the same retries to say the same thing: stop here.
                report.issues.append(Issue(what=f"could not reach the CRM: {info.detail}",
                                           fix="check SCOUT_CRM_BASE_URL, the network and any proxy settings"))
                return report
            if info.scopes is not None:
                token_known_good = True
                scope_issues = _scope_issues(settings.crm, info.scopes)
                scope_gap = any(i.blocking for i in scope_issues)
                report.issues.extend(scope_issues)
            else:
                report.issues.append(Issue(
                    what=f"could not list the token's scopes ({unavailable})",
                    fix="nothing to do if the reads below succeed; they test the token directly", blocking=False,
                ))
        probe = _Probe(report, token_known_good, scope_gap)
        await _probe_fields(crm, settings, report, probe)
        if salesforce is not None:
            from engine.salesforcecheck import probe_types, probe_visibility

            await probe_types(salesforce, report)
            await probe_visibility(salesforce, settings, report)
        await _probe_deals(crm, report, probe, sample)
        if report.token is not None and report.token.state == "unverified" and (
                report.fields or report.deals is not None):
            report.token.state = "accepted"  # the reads went through with it
    finally:
        await crm.aclose()
    return report


async def _probe_fields(crm: CRMReader, settings: Settings, report: ReadinessReport, probe: _Probe) -> None:
    try:
        existing = await crm.field_specs()
    except CRMError as exc:
        probe.failed("read the deal fields", exc)
        return
    report.fields, issues = check_fields(settings.field_map, existing, settings.crm)
    report.issues.extend(issues)
    report.object_fields = [ObjectField(name=n, label=s.label, type=s.type) for n, s in existing.items()]
    if all(f.state == "ok" for f in report.fields if f.role == "scout"):
        # Setup is done: the schema-write scope matters again only if a field or option must be added.
        for issue in report.issues:
            if issue.scope in SCHEMA_WRITE_SCOPES:
                issue.blocking = False
                issue.what += "; the scout_* fields exist already, so only a future `scout setup` needs it"


async def _probe_deals(crm: CRMReader, report: ReadinessReport, probe: _Probe, sample: int) -> None:
    try:
        report.deals = await crm.count_deals()
    except CRMError as exc:
        probe.failed("count the deals", exc)
        return
    if report.deals == 0:
        report.issues.append(Issue(what="no deals visible", fix="check the token's access and the field map's "
                                   "`object`; on the embedded CRM, import a pipeline", blocking=False))
        return
    refs = []
    try:
        async for ref in crm.iter_deal_refs():
            refs.append(ref)
            if len(refs) >= sample:
                break
    except CRMError as exc:
        probe.failed("list the deals", exc)
        return
    notes = with_notes = 0
    for ref in refs:
        try:
            found = await crm.list_notes(ref.id)
        except CRMError as exc:
            probe.failed(f"read notes (first refused on deal '{ref.name}')", exc)
            return
        notes += len(found)
        with_notes += bool(found)
    report.sample_deals, report.sample_notes, report.sample_deals_with_notes = len(refs), notes, with_notes
    if refs and notes == 0:
        report.issues.append(Issue(
            what=f"no notes on the first {len(refs)} deals",
            fix="Scout reads call notes; check that notes are attached to deals (not only to contacts)",
            blocking=False,
        ))
