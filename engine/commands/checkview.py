"""`scout check` as text: what was found, then what is missing with its fix, then the verdict."""

from __future__ import annotations

from engine.readiness import ReadinessReport
from engine.commands.tables import Col, render

FIELD_COLS = [Col("concept"), Col("field"), Col("map wants"), Col("CRM has"), Col("state")]
STATES = {"ok": "ok", "missing": "MISSING", "wrong_type": "WRONG TYPE", "options_missing": "OPTIONS MISSING",
          "invisible": "INVISIBLE (FLS)"}


def format_report(report: ReadinessReport, *, terminal: bool = False) -> str:
    """The report for a person: a rich table of the fields on a terminal, plain columns otherwise."""
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
        rows = [[f.concept if f.role == "rep" else "", f.name, f.want.value, f.have.value if f.have else "-",
                 STATES[f.state]] for f in report.fields]
        lines.append(render(FIELD_COLS, rows, terminal=terminal, indent=2))
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
