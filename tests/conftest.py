from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from engine.settings import Settings

_OURS = ("LIVE_WRITES", "ANTHROPIC_API_KEY", "ATTIO_API_TOKEN", "HUBSPOT_TOKEN", "SLACK_BOT_TOKEN",
         "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL", "PORT")


_POSTGRES_LEFT_OUT: list[str] = []


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    names = getattr(item, "fixturenames", ())
    return "pg_schema" in names or (callspec is not None and callspec.params.get("log_target") == "postgres")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """No PostgreSQL server (and not CI): its tests are left out, and the summary says so in one line."""
    from tests import pg

    wanted = [item for item in items if _needs_postgres(item)]
    if not wanted or pg.unreachable() is None or pg.required():
        return
    keep = [item for item in items if not _needs_postgres(item)]
    config.hook.pytest_deselected(items=wanted)
    items[:] = keep
    _POSTGRES_LEFT_OUT.append(f"SKIPPED {len(wanted)} PostgreSQL tests: {pg.reason()}")


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _POSTGRES_LEFT_OUT:
        terminalreporter.write_line(line, yellow=True)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's real configuration, and all state lives in tmp_path."""
    import os

    for name in list(os.environ):
        if name.startswith("SCOUT_") or name.startswith("HUBSPOT_") or name in _OURS:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCOUT_DATA_DIR", str(tmp_path / "scout-data"))


@pytest.fixture
def scout(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Runs the real CLI in-process: (exit code, stdout, stderr), as an operator would see them."""
    from scout_app.cli import main  # the console script, as an operator runs it

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse reports usage errors by exiting
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def scout_cli(scout):
    """`scout` under a name that does not clash with a test's own helper of that name."""
    return scout


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    def make(**env: str) -> Settings:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Settings()

    return make


@pytest.fixture
async def slack():
    """A local stand-in for the Slack Web API (and response_url) that records every call."""
    from tests.standins.slack_api import SlackStandIn

    standin = await SlackStandIn().start()
    yield standin
    await standin.stop()


@pytest.fixture
def reviewers() -> str | None:
    """Who may promote and dismiss (SCOUT_REVIEWERS); a module that tests review names them."""
    return None


@pytest.fixture
def env(make_settings, slack, reviewers):
    """Settings for the Slack faces, talking to the Slack stand-in; extra settings as keywords."""
    from tests.standins.slack_api import CHANNEL, SIGNING_SECRET

    def make(**extra: str) -> Settings:
        base = {"SLACK_BOT_TOKEN": "xoxb-standin-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url, "SCOUT_SUMMARY_CHANNEL": CHANNEL}
        if reviewers is not None:
            base["SCOUT_REVIEWERS"] = reviewers
        return make_settings(**base, **extra)

    return make


@pytest.fixture
def small_demo(scout, make_settings) -> Settings:
    """A 12-deal demo workspace, made through the CLI."""
    from engine.commands import EXIT_OK

    settings = make_settings()
    code, out, _ = scout("demo", "--deals", "12")
    assert code == EXIT_OK and "12 deals" in out
    return settings


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema on the test server (skips, or fails under CI, when there is none)."""
    from tests.pg import Schema, require_server

    require_server()
    schema = Schema()
    schema.create()
    yield schema
    schema.drop()


@pytest.fixture(params=["sqlite", "postgres"])
async def log_target(request, tmp_path):
    """Where a store contract test keeps its log: a SQLite file, then a fresh PostgreSQL schema."""
    from engine.db.engines import LogTarget

    if request.param == "sqlite":
        yield LogTarget.sqlite(tmp_path / "log.sqlite")
        return
    from tests.pg import Schema, require_server

    require_server()
    made = Schema()
    made.create()
    yield LogTarget.postgres(made.url, schema=made.name)
    made.drop()


@pytest.fixture
def private_pg():
    """A PostgreSQL server of this test's own, to restart at will (skips when the machine has no initdb)."""
    from tests.pg import PrivateServer

    server = PrivateServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
