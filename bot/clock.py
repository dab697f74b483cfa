"""The `clock` process: one scheduled pass on a cron schedule, its summary posted to the run-summary channel.

Two locks for an unattended writer, as for any other: the scheduled pass writes only when SCOUT_SCHEDULE_APPLY=1
(its `--apply`, set on purpose for the schedule) AND LIVE_WRITES=1. Either unset and every scheduled pass is a
rehearsal, posted as DRY RUN. So an operator can open LIVE_WRITES for reviewers' promotions while the daily
pass keeps rehearsing, and going live on a schedule is never a side effect of another setting.

APScheduler 3.x keeps jobs in memory: a missed run within `misfire_grace_time` still runs (once, coalesced)
while the process is up; a run missed while the process was down is not replayed. One pass at a time is the
database lock's job (LockHeld), with `max_instances=1` as the in-process guard.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.config import require, value, web_client
from bot.pacing import Pacer
from bot.post import post_run_summary
from engine.extract.base import Extractor
from engine.jobs import run_job
from engine.provenance import LockHeld
from engine.settings import Settings

log = logging.getLogger("scout.clock")

JOB_ID = "scout-daily-pass"


class ScheduledOutcome(BaseModel):
    status: Literal["posted", "skipped", "failed"]
    run_id: int | None = None
    detail: str = ""


async def _tell_channel(settings: Settings, client: AsyncWebClient, text: str, shown: list[blocks.Block]) -> None:
    try:
        await client.chat_postMessage(channel=value(settings, "summary_channel"), text=text, blocks=shown)
    except Exception:  # the log line below is then the only trace; the scheduler must keep going
        log.exception("could not post to the run-summary channel: %s", text)


async def scheduled_pass(
    settings: Settings, client: AsyncWebClient | None = None, *, extractor: Extractor | None = None,
    pacer: Pacer | None = None,
) -> ScheduledOutcome:
    """The scheduled job: a pass, then its summary. Never raises: a scheduler job that raises just logs."""
    client = client or web_client(settings)
    try:
        summary, missing = await run_job(settings, apply=settings.schedule_apply, extractor=extractor)
    except LockHeld as exc:
        log.warning("scheduled pass skipped: %s", exc)
        await _tell_channel(settings, client, f"Scheduled pass skipped: {exc}", blocks.skipped_blocks(str(exc)))
        return ScheduledOutcome(status="skipped", detail=str(exc))
    except Exception as exc:
        log.exception("scheduled pass failed")
        await _tell_channel(settings, client, f"Scheduled pass did not complete: {exc}",
                            blocks.job_failed_blocks(str(exc)))
        return ScheduledOutcome(status="failed", detail=str(exc))
    if missing:
        log.warning("scout_* fields missing (%s): `scout setup` shows what a live pass needs", ", ".join(missing))
    try:
        note = None if settings.schedule_apply else (
            "Scheduled passes rehearse until SCOUT_SCHEDULE_APPLY=1 (the schedule's --apply) and LIVE_WRITES=1.")
        await post_run_summary(settings, summary.run_id, client=client, pacer=pacer, note=note)
    except Exception as exc:
        log.exception("pass %s finished but its summary could not be posted", summary.run_id)
        return ScheduledOutcome(status="failed", run_id=summary.run_id,
                                detail=f"pass finished but posting failed: {exc}")
    return ScheduledOutcome(status="posted", run_id=summary.run_id)


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_days(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as APScheduler day names.

    APScheduler 3.x reads weekday numbers with 0 = Monday (its `from_crontab` passes them through), so
    '1-5' would run Tuesday to Saturday. Spelling the days out keeps crontab's meaning: 1-5 = mon-fri.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1

        def number(token: str) -> int:
            if token in _DAYS:
                return _DAYS.index(token)
            if not token.isdigit() or int(token) > 7:
                raise ValueError(f"'{token}' is not a day of the week (0-7 or sun-sat)")
            return int(token)

        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            first, last = (number(t) for t in base.split("-", 1))
        else:
            first = last = number(base)
            if step_text:
                last = 6
        if first > last or step < 1:
            raise ValueError(f"'{part}' is not a valid day-of-week range")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days, key=lambda d: (d + 6) % 7))


def cron_trigger(expr: str, tz: ZoneInfo) -> CronTrigger:
    """A standard crontab line (minute hour day month weekday) as a trigger, with crontab's weekday numbers."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"wrong number of fields; got {len(values)}, expected 5")
    minute, hour, day, month, weekday = values
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_crontab_days(weekday),
                       timezone=tz)


def build_scheduler(settings: Settings, *, client: AsyncWebClient | None = None) -> AsyncIOScheduler:
    """Not started: `run_clock` starts it inside the running loop; tests read its job."""
    try:
        tz = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"SCOUT_TIMEZONE '{settings.timezone}' is not a known time zone (e.g. Europe/Berlin)") from exc
    try:
        trigger = cron_trigger(settings.schedule, tz)
    except ValueError as exc:
        raise ValueError(f"SCOUT_SCHEDULE '{settings.schedule}' is not a crontab line "
                         f"(minute hour day month weekday, e.g. '0 7 * * 1-5'): {exc}") from exc
    scheduler = AsyncIOScheduler(timezone=tz)
    scheduler.add_job(
        scheduled_pass, trigger, args=[settings], kwargs={"client": client}, id=JOB_ID, name="Scout daily pass",
        replace_existing=True,
        coalesce=True,  # several missed runs become one
        max_instances=1,  # never two passes from this process
        misfire_grace_time=3600,  # a run that starts late (busy host, restart) still runs within the hour
    )
    return scheduler


async def run_clock(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    require(settings, "slack_bot_token", "summary_channel")
    scheduler = build_scheduler(settings, client=web_client(settings))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass  # not on this platform or thread: Ctrl-C still ends the process
    scheduler.start()
    job = scheduler.get_job(JOB_ID)
    mode = "live when LIVE_WRITES=1" if settings.schedule_apply else "rehearsal (SCOUT_SCHEDULE_APPLY is not 1)"
    log.warning("clock: '%s' (%s), next pass %s, %s", settings.schedule, settings.timezone,
                job.next_run_time if job else "?", mode)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
