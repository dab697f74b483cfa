"""A long pass shows its progress: a live line on a terminal, a plain line every few seconds otherwise,
nothing with --quiet; always on stderr, never in the summary. `-v` says what each stage is doing."""

from __future__ import annotations

import asyncio
import io
import re

import pytest

from engine.commands import EXIT_OK
from engine.commands.progress import PlainProgress
from engine.jobs import run_job
from engine.progress import PassProgress


@pytest.fixture
def demo(scout, make_settings):
    settings = make_settings()
    assert scout("demo", "--deals", "30")[0] == EXIT_OK
    return settings


async def test_the_runner_reports_each_deal_to_the_progress_seam(demo):
    seen: list[PassProgress] = []
    summary, _ = await run_job(demo, apply=False, cap=12, progress=seen.append)
    assert seen[0].done == 0 and seen[0].total == 12  # the total is known before the first deal
    assert [p.done for p in seen[1:]] == list(range(1, 13))  # one report per deal, in order
    last = seen[-1]
    assert (last.would_write, last.written, last.failed) == (summary.would_write, 0, summary.failed)
    assert last.would_write > 0 and last.live is False


def test_a_live_pass_counts_each_deals_writes_when_that_deal_is_reported(scout, make_settings):
    # A page's writes go out in one batch; the line must still say what the deals done so far wrote, not the
    # whole page's writes beside "1 deal" (it read "1/600 deals, 276 written", with an ETA of two hours).
    live = make_settings(LIVE_WRITES="1")
    assert scout("demo", "--deals", "30")[0] == EXIT_OK
    assert scout("setup", "--apply")[0] == EXIT_OK
    seen: list[PassProgress] = []
    summary, _ = asyncio.run(run_job(live, apply=True, cap=30, progress=seen.append))
    per_deal = len(live.field_map.concepts)  # at most one write per concept
    assert summary.written > per_deal
    assert all(p.written <= per_deal * p.done for p in seen), [(p.done, p.written) for p in seen]
    assert [p.done for p in seen[1:]] == list(range(1, 31)) and seen[-1].written == summary.written


def test_without_a_terminal_a_plain_line_every_few_seconds():
    now = [100.0]
    out = io.StringIO()
    plain = PlainProgress(out, clock=lambda: now[0], every=5.0)
    plain(PassProgress(done=0, total=40, live=False))
    for done in range(1, 21):
        now[0] += 1.0  # one deal a second
        plain(PassProgress(done=done, total=40, would_write=done * 2, failed=1, live=False))
    lines = out.getvalue().splitlines()
    # 20 s of work, a line every 5 s: at 5, 10, 15 and 20 s; the ETA follows the pace so far.
    assert lines == [
        "scout: 5/40 deals, 10 would-write, 1 failed, 0:00:05 elapsed, ETA 0:00:35",
        "scout: 10/40 deals, 20 would-write, 1 failed, 0:00:10 elapsed, ETA 0:00:30",
        "scout: 15/40 deals, 30 would-write, 1 failed, 0:00:15 elapsed, ETA 0:00:25",
        "scout: 20/40 deals, 40 would-write, 1 failed, 0:00:20 elapsed, ETA 0:00:20",
    ]
    live = io.StringIO()
    PlainProgress(live, clock=lambda: 0.0, every=0.0)(PassProgress(done=1, total=2, written=3, live=True))
    assert "3 written" in live.getvalue() and "would-write" not in live.getvalue()


def test_on_a_terminal_the_live_line_goes_to_stderr_and_the_summary_stays_clean(scout, demo, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    code, out, err = scout("run", "--cap", "20")
    err = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", err)  # the terminal's colours and cursor codes
    assert code == EXIT_OK
    assert "20/20 deals" in err and "would-write" in err and "failed" in err and "ETA" not in out
    assert out.startswith("DRY RUN") and "20/20 deals" not in out
    code, out, err = scout("run", "--cap", "20", "--quiet")
    assert code == EXIT_OK and err == "" and out.startswith("DRY RUN")


def test_verbose_names_each_stage(scout, demo):
    code, out, err = scout("-v", "run", "--cap", "3")
    assert code == EXIT_OK
    for stage in ("listing deals", "reading notes", "extracting", "deciding"):
        assert stage in err, err
    assert "WARNING" not in err and "INFO" not in err  # one voice: "scout: ...", not raw log levels
    code, out, err = scout("run", "--cap", "3")
    assert "listing deals" not in err


async def test_a_batch_pass_reports_each_deal_as_it_settles(make_settings):
    from tests.standins.model_server import ScriptedServer
    from tests.pipeline import GOOD_SCRIPT, seed, small_pipeline

    settings = make_settings(LIVE_WRITES="1", SCOUT_BATCH_POLL_SECONDS="0")
    await seed(settings.workspace, small_pipeline())
    seen: list[PassProgress] = []
    summary, _ = await run_job(settings, apply=True, extractor=ScriptedServer(GOOD_SCRIPT, polls=1).extractor(),
                               batch=True, progress=seen.append)
    assert summary.batch_id and seen[0].total == 5 and seen[0].done == 0
    assert [p.done for p in seen] == list(range(0, 6))  # deal without notes first, then the batch's four
    assert seen[-1].written == summary.written == 6 and seen[-1].live is True
