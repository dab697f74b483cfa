"""The scheduled pass (triggered directly, not by waiting for the clock), the scheduler, and the processes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.__main__ import main
from bot.clock import JOB_ID, build_scheduler, scheduled_pass
from bot.web import EVENTS_PATH, http_app
from engine.provenance import ProvenanceStore
from tests.pipeline import GOOD_SCRIPT, file_digest, seed, small_pipeline, snapshot
from tests.standins.scripted_model import ScriptedModel
from tests.standins.slack_api import CHANNEL, signed_headers, slash_command
from tests.standins.clock import FakeTime


def header(post: dict) -> str:
    return post["blocks"][0]["text"]["text"]


def flat(post: dict) -> str:
    return "\n".join(e["text"] for b in post["blocks"] for e in [b.get("text", {}), *b.get("elements", [])]
                     if isinstance(e, dict) and isinstance(e.get("text"), str))


async def test_the_scheduled_job_runs_a_pass_and_posts_its_summary(env, slack):
    settings = env(LIVE_WRITES="1")  # open for promotions, but the schedule's own --apply is not given
    await seed(settings.workspace, small_pipeline())
    before = file_digest(settings.workspace)

    outcome = await scheduled_pass(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor(),
                                   pacer=FakeTime().pacer())

    assert outcome.status == "posted" and outcome.run_id is not None
    assert file_digest(settings.workspace) == before
    head, *replies = slack.posts()
    assert head["channel"] == CHANNEL
    assert header(head) == ":rotating_light: DRY RUN — nothing was written"
    assert "Scheduled passes rehearse until SCOUT_SCHEDULE_APPLY=1 (the schedule's --apply) and LIVE_WRITES=1." \
        in flat(head)
    assert f"run {outcome.run_id}" in flat(head) and len(replies) == 3  # one message per deal


async def test_the_scheduled_job_writes_when_both_of_its_locks_are_open(env, slack):
    settings = env(LIVE_WRITES="1", SCOUT_SCHEDULE_APPLY="1")
    await seed(settings.workspace, small_pipeline())

    outcome = await scheduled_pass(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor(),
                                   pacer=FakeTime().pacer())

    assert outcome.status == "posted"
    assert header(slack.posts()[0]) == ":white_check_mark: LIVE — 6 suggestion(s) written to scout_* fields"
    assert "SCOUT_SCHEDULE_APPLY" not in flat(slack.posts()[0])
    assert (await snapshot(settings.workspace))["d1"]["scout_competition"] == "Blackline"


async def test_schedule_apply_alone_is_still_a_rehearsal(env, slack):
    settings = env(SCOUT_SCHEDULE_APPLY="1")
    await seed(settings.workspace, small_pipeline())
    before = file_digest(settings.workspace)

    await scheduled_pass(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor(), pacer=FakeTime().pacer())

    assert file_digest(settings.workspace) == before
    head = slack.posts()[0]
    assert header(head) == ":rotating_light: DRY RUN — nothing was written"
    assert "Why a dry run: LIVE_WRITES is not set." in flat(head)


async def test_a_pass_already_running_is_reported_as_skipped_not_crashed(env, slack):
    settings = env()
    await seed(settings.workspace, small_pipeline())
    store = await ProvenanceStore.open(settings.log_db)
    holder = await store.acquire_lock()  # a pass (this live process) holds the lock
    try:
        outcome = await scheduled_pass(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor(),
                                       pacer=FakeTime().pacer())
    finally:
        await store.release_lock(holder)
        await store.aclose()

    assert outcome.status == "skipped" and "another pass is running" in outcome.detail
    (post,) = slack.posts()
    assert post["text"].startswith("Scheduled pass skipped: another pass is running")
    assert flat(post).startswith(":hourglass: Scheduled pass skipped: another pass is running")
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    assert await store.list_runs() == []  # nothing started
    await store.aclose()


async def test_a_pass_that_cannot_start_is_reported_in_the_channel(env, slack):
    settings = env()  # no workspace seeded: the CRM cannot be opened

    outcome = await scheduled_pass(settings, extractor=ScriptedModel(GOOD_SCRIPT).extractor(),
                                   pacer=FakeTime().pacer())

    assert outcome.status == "failed" and "embedded workspace not found" in outcome.detail
    (post,) = slack.posts()
    assert flat(post).startswith(":x: Scheduled pass did not complete: embedded workspace not found")


async def test_the_scheduler_runs_one_coalesced_pass_on_the_crontab_in_the_configured_zone(env):
    settings = env(SCOUT_SCHEDULE="30 6 * * 1-5", SCOUT_TIMEZONE="Europe/Berlin")

    scheduler = build_scheduler(settings)

    job = scheduler.get_job(JOB_ID)
    assert job.func is scheduled_pass and job.args == (settings,) and job.name == "Scout daily pass"
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 3600)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert fields == {"year": "*", "month": "*", "day": "*", "week": "*", "day_of_week": "mon,tue,wed,thu,fri",
                      "hour": "6", "minute": "30", "second": "0"}
    berlin = ZoneInfo("Europe/Berlin")
    assert job.trigger.timezone == berlin
    # crontab's 1-5 is Monday to Friday (APScheduler 3 alone would read it as Tuesday to Saturday).
    fire, at = [], datetime(2026, 11, 28, 12, 0, tzinfo=berlin)  # a Saturday
    for _ in range(6):
        at = job.trigger.get_next_fire_time(None, at)
        fire.append(at.strftime("%a %H:%M"))
        at += timedelta(seconds=1)
    assert fire == ["Mon 06:30", "Tue 06:30", "Wed 06:30", "Thu 06:30", "Fri 06:30", "Mon 06:30"]


@pytest.mark.parametrize(("schedule", "tz", "message"), [
    ("0 7 * *", "UTC", "SCOUT_SCHEDULE '0 7 * *' is not a crontab line"),
    ("0 7 * * 1-9", "UTC", "SCOUT_SCHEDULE '0 7 * * 1-9' is not a crontab line"),
    ("0 7 * * 1-5", "Mars/Olympus", "SCOUT_TIMEZONE 'Mars/Olympus' is not a known time zone"),
])
def test_a_bad_schedule_is_one_line_naming_the_variable(make_settings, capsys, schedule, tz, message):
    make_settings(SLACK_BOT_TOKEN="xoxb-x", SCOUT_SUMMARY_CHANNEL=CHANNEL, SCOUT_SCHEDULE=schedule,
                  SCOUT_TIMEZONE=tz)

    assert main(["clock"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"scout-bot: {message}") and err.count("\n") == 1


@pytest.mark.parametrize(("process", "env", "missing"), [
    ("web", {}, "SLACK_BOT_TOKEN"),
    ("web", {"SLACK_BOT_TOKEN": "xoxb-x"}, "SLACK_SIGNING_SECRET"),
    ("socket", {"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
    ("socket", {"SLACK_BOT_TOKEN": "xoxb-x"}, "SLACK_APP_TOKEN"),
    ("clock", {"SCOUT_SUMMARY_CHANNEL": CHANNEL}, "SLACK_BOT_TOKEN"),
    ("clock", {"SLACK_BOT_TOKEN": "xoxb-x"}, "SCOUT_SUMMARY_CHANNEL"),
])
def test_a_missing_slack_setting_is_one_line_naming_the_variable(make_settings, capsys, process, env, missing):
    make_settings(**env)

    assert main([process]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"scout-bot: {missing} is not set: ") and err.count("\n") == 1


async def test_http_mode_serves_slack_on_the_events_path_and_refuses_unsigned_requests(env, slack):
    settings = env()
    await seed(settings.workspace, small_pipeline())
    server = TestServer(http_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        url = f"http://127.0.0.1:{server.port}{EVENTS_PATH}"
        body = slash_command("", slack.response_url())
        async with aiohttp.ClientSession() as session:
            flat_headers = {k: v[0] for k, v in signed_headers(body).items()}
            async with session.post(url, data=body, headers=flat_headers) as ok:
                assert ok.status == 200
            async with session.post(url, data=body, headers={"content-type": flat_headers["content-type"]}) as bad:
                assert bad.status == 401
            async with session.post(f"http://127.0.0.1:{server.port}/elsewhere", data=body,
                                    headers=flat_headers) as other:
                assert other.status == 404
        await slack.wait_for("response_url")
    finally:
        await server.close()
    (answer,) = slack.of("response_url")
    assert answer.args["text"] == "Usage: /scout DEAL NAME"


def _posted_deals(slack) -> list[str]:
    """The deal each thread message is about, in order (a deal message's text names it)."""
    return [m["text"].split(" for ", 1)[1].split(": ", 1)[0] for m in slack.messages.values()
            if m.get("thread_ts") and " suggestion(s) for " in m["text"]]


async def _suggested_deals(settings) -> set[str | None]:
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        (pass_run,) = [r for r in await store.list_runs() if r.kind == "pass"]
        return {r.deal_name for r in await store.run_suggestions(pass_run.id)}
    finally:
        await store.aclose()


def test_sigterm_mid_post_stops_the_clock_cleanly_and_the_next_run_posts_the_rest(scout, make_settings):
    """A real `python -m bot clock --now` process, SIGTERM'd as a platform restart does, while it posts."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.standins.slack_api import standin_on_a_thread

    with standin_on_a_thread() as slack:
        settings = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_API_URL=slack.base_url,
                                 SCOUT_SUMMARY_CHANNEL=CHANNEL, SCOUT_EXTRACTOR="offline")
        assert scout("demo", "--deals", "12")[0] == 0
        proc = subprocess.Popen([sys.executable, "-m", "bot", "clock", "--now"], env=dict(os.environ),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while len(slack.of("chat.postMessage")) < 3:  # the summary and two deals, paced a second apart
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()

        assert proc.returncode == 0, err
        assert "Traceback" not in err and "CancelledError" not in err, err
        assert "stopped after" in err  # the clock says where posting stopped
        first = _posted_deals(slack)
        wanted = asyncio.run(_suggested_deals(settings))
        assert 1 <= len(first) < len(wanted)  # cut short mid-thread

        assert scout("run", "--post")[0] == 0  # the next run

        everything = _posted_deals(slack)
        assert sorted(everything) == sorted(wanted)  # every deal posted, and none twice


async def test_http_mode_serves_the_home_tab_event_and_the_edit_modals_submission(env, slack):
    """The Events API (JSON) and a view_submission reach bolt on the one events path, signed."""
    from tests.slack_review import REVIEWER, posted_pass
    from tests.standins.slack_api import home_opened, view_submission

    settings = env(SCOUT_REVIEWERS=REVIEWER)
    await posted_pass(settings, apply=False)
    server = TestServer(http_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        url = f"http://127.0.0.1:{server.port}{EVENTS_PATH}"
        event = home_opened(REVIEWER)
        modal = {"id": "V0FORGED", "type": "modal", "callback_id": "scout_edit_submit", "private_metadata": "nope",
                 "blocks": []}
        submission = view_submission(modal, {}, user=REVIEWER)
        async with aiohttp.ClientSession() as session:
            for body, kind in ((event, "application/json"), (submission, "application/x-www-form-urlencoded")):
                headers = {k: v[0] for k, v in signed_headers(body, content_type=kind).items()}
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == 200
                    answer = await response.text()
        await slack.wait_for("views.publish")
    finally:
        await server.close()
    assert "scout_review:" in str(slack.homes[REVIEWER]["blocks"])  # the reviewer's queue, with its buttons
    assert '"response_action": "errors"' in answer or '"response_action":"errors"' in answer  # a forged form
