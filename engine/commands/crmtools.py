"""scout check | import | export: is the CRM ready, and load or save a pipeline in the embedded workspace."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Literal, get_args

from engine.readiness import check_readiness
from engine.commands import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CommandError, regular_file
from engine.commands.checkview import format_report
from engine.commands.tables import Col, render, stdout_is_terminal
from engine.crm.base import CRMError
from engine.crm.local import LocalCRM
from engine.importer import CsvMapping, ImportFailed, NotText, parse_hubspot_csv, read_jsonl, to_jsonl
from engine.jobs import open_log, pass_lock
from engine.models import WorkspaceData
from engine.settings import Settings

ImportFormat = Literal["jsonl", "hubspot-csv"]
FORMATS = get_args(ImportFormat)


async def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    report = await check_readiness(settings, sample=args.sample)
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(format_report(report, terminal=stdout_is_terminal(), all_fields=args.fields))
    if report.unreachable:
        return EXIT_ERROR  # a CRM error, as in every other command; not "something to set up"
    return EXIT_OK if report.ready else EXIT_PARTIAL


def _local_only(settings: Settings, command: str) -> None:
    if settings.crm != "local":
        raise CommandError(
            f"`scout {command}` works on the embedded workspace only, and SCOUT_CRM is {settings.crm}: "
            f"unset SCOUT_CRM (or set it to local) to rehearse on your own copy; nothing was changed",
            EXIT_USAGE,
        )


def _format(args: argparse.Namespace, path: Path) -> ImportFormat:
    if args.format:
        return args.format
    return "hubspot-csv" if path.suffix.casefold() == ".csv" else "jsonl"


def _parse(args: argparse.Namespace, settings: Settings, path: Path) -> tuple[WorkspaceData, CsvMapping | None]:
    kind = _format(args, path)
    if args.notes and kind != "hubspot-csv":
        raise CommandError("--notes goes with a HubSpot deals CSV (`scout import deals.csv --notes notes.csv`)",
                           EXIT_USAGE)
    for p in (path, args.notes):
        if p is not None and not p.is_file():
            raise CommandError(f"no such file: {p}", EXIT_USAGE)
    try:
        if kind == "jsonl":
            return read_jsonl(path), None
        return parse_hubspot_csv(path, args.notes, settings.field_map)
    except ImportFailed as exc:
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise CommandError(f"{path.name}: {exc}", EXIT_ERROR) from exc
    except NotText as exc:
        raise CommandError(f"{path.name}: {exc}", EXIT_ERROR) from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}): in Excel save it "
                           "with File > Save As > 'CSV UTF-8'; nothing imported", EXIT_ERROR) from exc


async def _existing_deals(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        crm = await LocalCRM.open(path)
    except sqlite3.Error as exc:
        if path.stat().st_size == 0:
            return 0  # an empty file holds nothing to protect
        raise CommandError(f"{path} is not a Scout workspace ({exc}); nothing was imported", EXIT_ERROR) from exc
    try:
        return await crm.count_deals()
    except sqlite3.Error as exc:
        raise CommandError(f"{path} is not a Scout workspace ({exc}); nothing was imported", EXIT_ERROR) from exc
    finally:
        await crm.aclose()


async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    _local_only(settings, "import")
    data, mapping = _parse(args, settings, args.file)
    target = settings.workspace
    regular_file(target, "the workspace")
    # Under the pass lock: a pass, an undo or setup must not see the workspace change under it.
    async with open_log(settings) as store, pass_lock(store):
        await _load(args, data, target)
    _report(args, data, mapping, settings)
    return EXIT_OK


async def _load(args: argparse.Namespace, data: WorkspaceData, target: Path) -> None:
    existed = target.exists()
    have = await _existing_deals(target)
    if have and not args.replace:
        raise CommandError(f"the workspace {target} already holds {have} deals; add --replace to overwrite it "
                           f"(or point SCOUT_DATA_DIR elsewhere); nothing was imported", EXIT_USAGE)
    if have and not data.deals and not args.allow_empty:
        raise CommandError(f"{args.file.name} holds no deals; replacing the {have} deals in {target} with nothing "
                           "needs --allow-empty; nothing was imported", EXIT_USAGE)
    try:
        crm = await LocalCRM.open(target, writable=True, create=True)
    except sqlite3.Error as exc:
        raise CommandError(f"{target} is not a Scout workspace ({exc}); nothing was imported", EXIT_ERROR) from exc
    try:
        await crm.load(data, replace=True)  # one transaction: all or nothing
    except (CRMError, sqlite3.Error) as exc:
        failed: Exception | None = exc
    else:
        failed = None
    finally:
        await crm.aclose()  # on any error too: an open connection's thread would keep the process alive
    if failed is not None:
        if not existed:
            target.unlink(missing_ok=True)  # leave no empty workspace behind a failed first import
        raise CommandError(f"import failed and was rolled back, nothing imported: {failed}", EXIT_ERROR) from failed


def _report(args: argparse.Namespace, data: WorkspaceData, mapping: CsvMapping | None, settings: Settings) -> None:
    target = settings.workspace
    print(f"Imported {args.file.name}{f' and {args.notes.name}' if args.notes else ''} into {target}: "
          f"{len(data.deals)} deals, {len(data.notes)} notes, {len(data.fields)} fields, {len(data.people)} people.")
    if mapping is not None:
        if mapping.separator != ",":
            print(f"Read {args.file.name} as '{mapping.separator}'-separated, as Excel saves CSV where ',' is "
                  "the decimal mark.")
        print("Columns used:")
        print(render([Col("column"), Col("became")], [[repr(c), b] for c, b in mapping.used.items()],
                     terminal=stdout_is_terminal(), indent=2))
        if mapping.ignored:
            print(f"Columns ignored: {', '.join(repr(c) for c in mapping.ignored)}")
        if mapping.notes_skipped:
            print(f"{mapping.notes_skipped} note(s) skipped: {mapping.notes_skipped_reason}.")
    if settings.log_db.exists():
        print(f"note: the provenance log {settings.log_db} keeps its history from before this import; "
              "for a clean rehearsal use a fresh SCOUT_DATA_DIR.")
    print("Next: `scout check`, then `scout run` (a rehearsal on this copy; nothing leaves this machine).")


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    _local_only(settings, "export")
    crm = await LocalCRM.open(settings.workspace)
    try:
        data = await crm.export()
    finally:
        await crm.aclose()
    text = "".join(line + "\n" for line in to_jsonl(data))
    if args.file is None or str(args.file) == "-":
        sys.stdout.write(text)
        return EXIT_OK
    tmp = args.file.with_name(args.file.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.file)  # a reader never sees half a file
    print(f"Exported {settings.workspace} to {args.file}: {len(data.deals)} deals, {len(data.notes)} notes, "
          f"{len(data.fields)} fields, {len(data.people)} people.", file=sys.stderr)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="is the configured CRM ready? token, scopes, fields, deals, notes, fixes")
    p.add_argument("--sample", type=int, default=20, help="deals whose notes are counted (default 20)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--fields", action="store_true",
                   help="list every field of the deal object with its type (to choose a rep field to map)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("import", help="load a pipeline into the embedded workspace (JSON Lines or HubSpot CSV)")
    p.add_argument("file", type=Path, help="a .jsonl file (docs/import-format.md) or a HubSpot deals export .csv")
    p.add_argument("--notes", type=Path, help="a HubSpot notes export .csv to go with a deals .csv")
    p.add_argument("--format", choices=FORMATS, help="override the format guessed from the file name")
    p.add_argument("--replace", action="store_true", help="overwrite an embedded workspace that has deals")
    p.add_argument("--allow-empty", action="store_true",
                   help="with --replace: accept a file that holds no deals (it empties the workspace)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="write the embedded workspace as JSON Lines (to FILE, or stdout)")
    p.add_argument("file", type=Path, nargs="?", help="where to write; '-' or nothing for stdout")
    p.set_defaults(func=cmd_export)
