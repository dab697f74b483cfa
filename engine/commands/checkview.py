"""`scout check` as text: what was found, then what is missing with its fix, then the verdict."""

from __future__ import annotations

from engine.readiness import ReadinessReport
from engine.commands.tables import Col, render

VENDOR = {"salesforce": "Salesforce", "hubspot": "HubSpot", "attio": "Attio"}
STATES = {"ok": "ok", "missing": "MISSING", "wrong_type": "WRONG TYPE", "options_missing": "OPTIONS MISSING",
          "invisible": "INVISIBLE (FLS)"}


def _roles(report: ReadinessReport) -> dict[str, str]:
    return {f.name: f"{f.role} field ({f.concept})" for f in report.fields}


def _field_table(report: ReadinessReport, terminal: bool) -> str:
    """The field map's fields; with the CRM's own type beside Scout's where the CRM names it (Salesforce)."""
    vendor = any(f.vendor_type for f in report.fields)
    cols = [Col("concept"), Col("field")] + ([Col(f"{VENDOR.get(report.crm, report.crm)} type")] if vendor else [])
    cols += [Col("map wants"), Col("CRM has"), Col("state")]
    rows = [[f.concept if f.role == "rep" else "", f.name] + ([f.vendor_type or "-"] if vendor else [])
            + [f.want.value, f.have.value if f.have else "-", STATES[f.state]] for f in report.fields]
    return render(cols, rows, terminal=terminal, indent=2)


def _all_fields_table(report: ReadinessReport, terminal: bool) -> str:
    """`--fields`: every visible field of the deal object, to choose a rep field from."""
    vendor = any(f.vendor_type for f in report.object_fields)
    roles = _roles(report)
    cols = [Col("field"), Col("label", max_width=30)]
    cols += [Col(f"{VENDOR.get(report.crm, report.crm)} type")] if vendor else []
    cols += [Col("Scout reads as"), Col("")]
    rows = []
    for f in sorted(report.object_fields, key=lambda f: f.name.casefold()):
        notes = ", ".join(n for n in ("custom" if f.custom else "", roles.get(f.name, "")) if n)
        rows.append([f.name, f.label or "-"] + ([f.vendor_type or "-"] if vendor else []) + [f.type.value, notes])
    return render(cols, rows, terminal=terminal, indent=2)


def _others_line(report: ReadinessReport) -> str | None:
    mapped = {f.name for f in report.fields}
    others = [f for f in report.object_fields if f.name not in mapped]
    if not others:
        return None
    custom = sum(bool(f.custom) for f in others)
    kind = f", {custom} of them custom" if any(f.custom is not None for f in others) else ""
    return (f"  other     {len(others)} more {report.object} fields{kind}: `scout check --fields` lists them "
            "with their types")


def format_report(report: ReadinessReport, *, terminal: bool = False, all_fields: bool = False) -> str:
    """The report for a person: a rich table of the fields on a terminal, plain columns otherwise. The field
    map's fields always; the object's other fields as a count, or each with its types under `all_fields`
    (an admin needs them only when choosing which field to map)."""
    lines = [f"scout check: {report.crm} ({report.target}), object '{report.object}'"]
    if report.token is not None and report.token.state == "unreachable":
        lines.append(f"  token     {report.token_env} not tested: {report.token.detail}")
    elif report.token is not None:
        scopes = ", ".join(sorted(report.token.scopes)) if report.token.scopes is not None else "(not listed)"
        identity = f": {report.token.identity}" if report.token.identity else ""
        state = "accepted" if report.token.state == "accepted" else "not verified"
        lines.append(f"  token     {report.token_env} {state}{identity}")
        lines.append(f"  scopes    {scopes}")
    lines.extend(f"  {name:<9} {text}" for name, text in report.facts)
    lines.append(f"  writes    {report.writes}")
    lines.append(f"  extractor {report.extractor}")
    if report.fields:
        lines.append("")
        lines.append(_field_table(report, terminal))
    if all_fields and report.object_fields:
        lines.append("")
        lines.append(f"  Every {report.object} field visible to Scout:")
        lines.append(_all_fields_table(report, terminal))
    elif (others := _others_line(report)) is not None:
        lines.append("")
        lines.append(others)
    lines.append("")
    if report.deals is not None:
        lines.append(f"  deals     {report.deals} visible")
    if report.sample_notes is not None:
        lines.append(f"  notes     {report.sample_notes} on the first {report.sample_deals} deals "
                     f"({report.sample_deals_with_notes} of them have notes; a sample, not a count)")
    blocking = [i for i in report.issues if i.blocking]
    advisory = [i for i in report.issues if not i.blocking]
    if blocking:
        lines.append("")
        lines.append("Missing:")
        lines.extend(f"  - {i}" for i in blocking)
    if advisory:
        lines.append("")
        lines.append("Worth knowing:")
        lines.extend(f"  - {i}" for i in advisory)
    lines.append("")
    if report.unreachable:
        lines.append("Not ready: the CRM could not be reached, so nothing else was checked.")
    else:
        lines.append("Ready: Scout can run here (`scout run` rehearses first)." if report.ready else
                     f"Not ready: {len(blocking)} thing(s) to fix above.")
    # One blank line between sections, however many were skipped.
    return "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1]))
