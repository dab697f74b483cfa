"""`scout db upgrade | status | copy`: the provenance log's schema, over engine.db.admin."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands import EXIT_OK, EXIT_USAGE, CommandError
from engine.db import admin
from engine.db.engines import LogTarget
from engine.settings import Settings


async def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    target = settings.log_target
    found = await admin.status(target)
    print(f"provenance log {target.describe()}: {found.describe()}")
    return EXIT_OK if found.up_to_date else 1


async def cmd_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    target = settings.log_target
    before, after = await admin.upgrade(target)
    if before.empty:
        print(f"provenance log {target.describe()}: created at revision {after} (it was empty)")
    elif before.current == after:
        print(f"provenance log {target.describe()}: already at revision {after} (the newest); nothing to do")
    else:
        print(f"provenance log {target.describe()}: upgraded from {before.current or 'the unversioned schema'} "
              f"to revision {after}")
    return EXIT_OK


async def cmd_copy(args: argparse.Namespace, settings: Settings) -> int:
    dest = settings.log_target
    if not dest.is_postgres:
        raise CommandError("scout db copy moves the SQLite log into the database DATABASE_URL names; "
                           "set DATABASE_URL=postgresql://... first", EXIT_USAGE)
    source = LogTarget.sqlite(args.source or settings.log_db)
    if not source.path or not source.path.exists():
        raise CommandError(f"no SQLite log at {source.path} to copy (name one with --from PATH)", EXIT_USAGE)
    copied = await admin.copy(source, dest, replace=args.replace)
    shown = ", ".join(f"{n} {name}" for name, n in copied.items() if n)
    print(f"Copied {source.describe()} into {dest.describe()}: {shown or 'no rows'}; every count checked.")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="the provenance log's schema: status, upgrade, copy a SQLite log into PostgreSQL")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("status", help="the schema revision of the log, and whether it is the newest").set_defaults(
        func=cmd_status)
    dbsub.add_parser("upgrade", help="apply pending migrations, in one transaction (the Procfile's release phase)") \
        .set_defaults(func=cmd_upgrade)
    c = dbsub.add_parser("copy", help="copy the SQLite log into DATABASE_URL's PostgreSQL, counts checked")
    c.add_argument("--from", dest="source", type=Path, help="the SQLite log to copy (default: SCOUT_LOG_DB's)")
    c.add_argument("--replace", action="store_true", help="replace a log the target already holds")
    c.set_defaults(func=cmd_copy)
