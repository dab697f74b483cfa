"""Regression tests for the review's findings: each asserts what an operator would see."""

from __future__ import annotations

import pytest

from engine.cli import main
from engine.commands import EXIT_OK, EXIT_USAGE
from engine.jobs import run_job


def scout(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse reports usage errors by exiting
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo(capsys, make_settings):
    settings = make_settings()
    code, out, _ = scout(capsys, "demo", "--deals", "12")
    assert code == EXIT_OK and "12 deals" in out
    return settings


# -- 2. --cap is validated ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cap, message", [("-1", "must be at least 1, not -1"), ("0", "must be at least 1, not 0"),
                                          ("many", "'many' is not a whole number")])
def test_a_cap_below_one_is_a_usage_error_not_a_bypass_or_the_default(capsys, demo, cap, message):
    code, out, err = scout(capsys, "run", "--cap", cap)
    assert code == EXIT_USAGE and out == ""
    assert f"argument --cap: {message}" in err
    assert not demo.log_db.exists()  # nothing ran


def test_a_cap_of_one_scans_one_deal(capsys, demo):
    code, out, _ = scout(capsys, "run", "--cap", "1")
    assert code == EXIT_OK and "scanned 1/12 (cap 1)" in out


async def test_run_job_refuses_a_zero_cap_instead_of_using_the_default(demo):
    with pytest.raises(ValueError, match="cap must be at least 1, not 0"):
        await run_job(demo, apply=False, cap=0)
