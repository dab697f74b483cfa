"""`scout check`'s Salesforce part: the session and instance, the API version, the day's API allocation, and
which fields are missing versus merely invisible (field-level security), each problem with its fix.

A field the integration user may not read is absent from describe and answers `INVALID_FIELD: No such column`
in SOQL, exactly like a field that does not exist; the Tooling API's CustomField lists it all the same, which
is how the two are told apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.crm.base import AuthError, CRMError, CRMUnreachable
from engine.crm.salesforce_codec import FieldInfo
from engine.readiness import SETUP_FIX, Issue, ObjectField, ReadinessReport, TokenInfo
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.crm.salesforce import SalesforceCRM


def grant_fix(ps: str, field: str, *, scout: bool) -> str:
    if scout:
        return (f"{SETUP_FIX}: it grants read/edit through the permission set {ps}; or grant it by hand in "
                f"Setup > Permission Sets > {ps} > Object Settings > Opportunity > {field}")
    return (f"give the integration user Read on Opportunity.{field} (Setup > Permission Sets > {ps} > Object "
            "Settings > Opportunity), or map another rep field in SCOUT_FIELD_MAP")


async def probe_org(sf: SalesforceCRM, settings: Settings, report: ReadinessReport) -> bool:
    """Session, version and allocation. False when the org cannot be reached (nothing else is worth asking)."""
    try:
        session = await sf.session()
    except AuthError:
        raise
    except CRMUnreachable as exc:
        report.token = TokenInfo(state="unreachable", detail=str(exc))
        report.issues.append(Issue(what=f"could not reach the CRM: {exc}",
                                   fix="check SALESFORCE_LOGIN_URL (your My Domain URL), the network and any proxy"))
        return False
    flow = "JWT bearer" if session.flow == "jwt" else "client credentials"
    report.token = TokenInfo(identity=f"org {session.org_id or '?'} at {session.instance_url}, user "
                                      f"{session.user_id or '?'} ({flow} flow)",
                             scopes=session.scope.split() or None)
    try:
        offered = await sf.versions()
        newest = max(offered, key=lambda v: float(v)) if offered else "?"
        if offered and sf.api_version not in offered:
            report.issues.append(Issue(what=f"API version v{sf.api_version} is not offered by this org",
                                       fix=f"set SALESFORCE_API_VERSION to one of {', '.join(offered[-3:])}"))
        report.facts.append(("api", f"v{sf.api_version} (newest the org offers: v{newest})"))
    except CRMError as exc:
        report.issues.append(Issue(what="could not list the API versions", fix=str(exc), blocking=False))
    try:
        daily = (await sf.limits()).get("DailyApiRequests") or {}
        most, left = int(daily.get("Max") or 0), int(daily.get("Remaining") or 0)
        reserve = most * sf.reserve_percent // 100
        report.facts.append(("api calls", f"{most - left} of {most} used today, {left} left; Scout stops at "
                                          f"{reserve} left (SALESFORCE_API_RESERVE={sf.reserve_percent}%)"))
        if most and left <= reserve:
            report.issues.append(Issue(
                what=f"the org's daily API allocation is down to the reserve ({left} of {most} left)",
                fix="wait for the rolling 24-hour window to free calls, raise the org's allocation, or lower "
                    "SALESFORCE_API_RESERVE"))
    except CRMError as exc:
        report.issues.append(Issue(what="could not read the API allocation (/limits)", blocking=False,
                                   fix=f"give the integration user View Setup and Configuration ({exc})"))
    report.facts.append(("sources", "notes from " + ", ".join(s.replace("_", " ") for s in sf.note_sources)
                                    + " (SALESFORCE_NOTE_SOURCES)"))
    try:
        _, unknown = await sf.reviewer_permission_sets()
        if unknown:
            report.issues.append(Issue(
                what=f"SALESFORCE_REVIEWER_PROFILES: no profile named {', '.join(repr(u) for u in unknown)} in "
                     "this org", fix="set it to the exact names Setup > Profiles shows (setup refuses to run "
                                     "until then)"))
    except CRMError as exc:
        report.issues.append(Issue(what="could not look up the reviewers' profiles", blocking=False,
                                   fix=f"give the integration user View Setup and Configuration ({exc})"))
    return True


def shown_type(info: FieldInfo) -> str:
    """Salesforce's type as describe gives it; a reference names what it points to."""
    return f"{info.sf_type}({','.join(info.reference_to)})" if info.reference_to else info.sf_type


async def probe_types(sf: SalesforceCRM, report: ReadinessReport) -> None:
    """Salesforce's own type beside the type Scout reads it as, for the map's fields and the rest."""
    try:
        described = await sf.describe()
    except CRMError:
        return  # the field probe already reported it, with its fix
    for check in report.fields:
        if (info := described.get(check.name)) is not None:
            check.vendor_type = shown_type(info)
    report.object_fields = [ObjectField(name=i.name, label=i.label, type=i.field_type, vendor_type=shown_type(i),
                                        custom=i.custom) for i in described.values()]


async def probe_visibility(sf: SalesforceCRM, settings: Settings, report: ReadinessReport) -> None:
    """Turn 'missing' into 'invisible (FLS)' where the field exists all the same, with the grant as the fix."""
    missing = [c for c in report.fields if c.state == "missing"]
    if not missing:
        return
    try:
        hidden = await sf.hidden_fields([c.name for c in missing])
    except CRMError as exc:
        report.issues.append(Issue(
            what="could not tell missing fields from invisible ones (Tooling API refused)", blocking=False,
            fix=f"give the integration user View Setup and Configuration, then run `scout check` again ({exc})"))
        return
    for check in missing:
        if check.name not in hidden:
            continue
        check.state, check.have = "invisible", hidden[check.name]
        scout = check.role == "scout"
        report.issues = [i for i in report.issues if not (
            i.what.startswith(f"{check.name} missing") or i.what.startswith(f"rep field {check.name} ("))]
        report.issues.append(Issue(
            what=f"{check.name} exists but the integration user cannot see it (field-level security)",
            fix=grant_fix(sf.permission_set, check.name, scout=scout)))
