"""The `clock` process: one scheduled pass on a cron schedule, its summary posted to the run-summary channel.

Two locks for an unattended writer, as for any other: the scheduled pass writes only when SCOUT_SCHEDULE_APPLY=1
(its `--apply`, set on purpose for the schedule) AND LIVE_WRITES=1. Either unset and every scheduled pass is a
rehearsal, posted as DRY RUN. So an operator can open LIVE_WRITES for reviewers' promotions while the daily
pass keeps rehearsing, and going live on a schedule is never a side effect of another setting.

APScheduler 3.x keeps jobs in memory: a missed run within `misfire_grace_time` still runs (once, coalesced)
while the process is up; a run missed while the process was down is not replayed. One pass at a time is the
database lock's job (LockHeld), with `max_instances=1` as the in-process guard.

SIGTERM (every platform restart sends it) stops the clock cleanly: no new run is scheduled, a pass in progress
is cancelled (its run ends `interrupted` on record and frees the lock), a thread being posted stops between two
messages (each posted message is recorded, so the next run posts the rest), and the process exits 0 with no
traceback. A job still busy after `STOP_GRACE` seconds is cancelled all the same.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from contextlib import suppress
from datetime import datetime
from typing import Literal, TypeVar
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
STOP_GRACE = 20.0  # seconds a job may take to wind down after SIGTERM (platforms kill after about 30)
T = TypeVar("T")


class ScheduledOutcome(BaseModel):
    status: Literal["posted", "skipped", "failed", "stopped"]
    run_id: int | None = None
    detail: str = ""


class Stopping:
    """What SIGTERM tells the jobs (`requested`), and the jobs still running that the clock waits for."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.jobs: set[asyncio.Task[object]] = set()


async def _unless_stopped(work: Awaitable[T], stopping: Stopping | None) -> tuple[bool, T | None]:
    """(True, result) when `work` finished; (False, None) when a stop was requested first and it was cancelled."""
    task = asyncio.ensure_future(work)
    if stopping is None:
        return True, await task
    waiter = asyncio.ensure_future(stopping.requested.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    return False, None


async def _tell_channel(settings: Settings, client: AsyncWebClient, text: str, shown: list[blocks.Block]) -> None:
    try:
        await client.chat_postMessage(channel=value(settings, "summary_channel"), text=text, blocks=shown)
    except Exception:  # the log line below is then the only trace; the scheduler must keep going
        log.exception("could not post to the run-summary channel: %s", text)


async def scheduled_pass(
    settings: Settings, client: AsyncWebClient | None = None, *, extractor: Extractor | None = None,
    pacer: Pacer | None = None, stopping: Stopping | None = None,
) -> ScheduledOutcome:
    """The scheduled job: a pass, then its summary. Never raises (a scheduler job that raises only logs a
    traceback), not even when the clock cancels it on its way out."""
    task = asyncio.current_task()
    if stopping is not None and task is not None:
        stopping.jobs.add(task)
    try:
        return await _scheduled_pass(settings, client or web_client(settings), extractor, pacer, stopping)
    except asyncio.CancelledError:
        log.warning("scheduled pass cancelled while the clock stopped; the next run carries what was not posted")
        return ScheduledOutcome(status="stopped", detail="cancelled")
    finally:
        if stopping is not None and task is not None:
            stopping.jobs.discard(task)


async def _scheduled_pass(settings: Settings, client: AsyncWebClient, extractor: Extractor | None,
                          pacer: Pacer | None, stopping: Stopping | None) -> ScheduledOutcome:
    try:
        finished, result = await _unless_stopped(
            run_job(settings, apply=settings.schedule_apply, extractor=extractor), stopping)
        if not finished or result is None:
            log.warning("scheduled pass stopped by SIGTERM before it finished; its run is logged as interrupted")
            return ScheduledOutcome(status="stopped", detail="pass interrupted")
        summary, missing = result
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
        posted = await post_run_summary(settings, summary.run_id, client=client, pacer=pacer, note=note,
                                        stop=stopping.requested if stopping else None)
    except Exception as exc:
        log.exception("pass %s finished but its summary could not be posted", summary.run_id)
        return ScheduledOutcome(status="failed", run_id=summary.run_id,
                                detail=f"pass finished but posting failed: {exc}")
    if posted.stopped:
        return ScheduledOutcome(status="stopped", run_id=summary.run_id,
                                detail=f"posted {posted.deals} deal(s); {posted.stopped} left for the next run")
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


def build_scheduler(settings: Settings, *, client: AsyncWebClient | None = None, stopping: Stopping | None = None,
                    now: bool = False) -> AsyncIOScheduler:
    """Not started: `run_clock` starts it inside the running loop; tests read its job. `now`: a first run at once."""
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
    first = {"next_run_time": datetime.now(tz)} if now else {}
    scheduler.add_job(
        scheduled_pass, trigger, args=[settings], kwargs={"client": client, "stopping": stopping}, id=JOB_ID,
        name="Scout daily pass", replace_existing=True, **first,
        coalesce=True,  # several missed runs become one
        max_instances=1,  # never two passes from this process
        misfire_grace_time=3600,  # a run that starts late (busy host, restart) still runs within the hour
    )
    return scheduler


async def run_clock(settings: Settings, *, stop: asyncio.Event | None = None, now: bool = False) -> None:
    require(settings, "slack_bot_token", "summary_channel")
    stopping = Stopping()
    scheduler = build_scheduler(settings, client=web_client(settings), stopping=stopping, now=now)
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
        await _wind_down(scheduler, stopping)


async def _wind_down(scheduler: AsyncIOScheduler, stopping: Stopping) -> None:
    """Stop scheduling, let a running job stop where it may, then shut the scheduler down.

    The scheduler is shut down only once its jobs are done: its shutdown cancels a running job, which is
    the `CancelledError` traceback a restart used to print.
    """
    scheduler.pause()
    stopping.requested.set()
    if stopping.jobs:
        log.warning("clock: stopping; waiting up to %.0f s for the scheduled pass to wind down", STOP_GRACE)
        _, late = await asyncio.wait(set(stopping.jobs), timeout=STOP_GRACE)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
    scheduler.shutdown(wait=False)
    log.warning("clock: stopped")
