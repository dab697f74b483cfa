"""manifest.yml and Procfile agree with the code: one command, the events path, the fewest scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.web import EVENTS_PATH

ROOT = Path(__file__).resolve().parent.parent


def test_the_manifest_declares_the_command_interactivity_home_tab_and_only_the_scopes_used():
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())

    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/scout" and command["usage_hint"] == "[deal name]"
    assert command["url"].endswith(EVENTS_PATH)
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    assert settings["socket_mode_enabled"] is False and settings["org_deploy_enabled"] is False
    # chat:write covers postMessage, update and postEphemeral; usergroups:read only for a reviewer group;
    # views.publish, views.open and the app_home_opened event need no scope of their own.
    assert manifest["oauth_config"]["scopes"]["bot"] == ["commands", "chat:write"]
    assert "user" not in manifest["oauth_config"]["scopes"]
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True and home["messages_tab_enabled"] is False
    events = settings["event_subscriptions"]
    assert events["bot_events"] == ["app_home_opened"] and "user_events" not in events
    assert events["request_url"].endswith(EVENTS_PATH)  # the one path HTTP mode serves


def test_the_procfile_runs_the_web_and_clock_processes_after_the_release_phase_upgrades_the_log():
    lines = (ROOT / "Procfile").read_text().splitlines()

    assert lines == ["release: scout db upgrade", "web: python -m bot web", "clock: python -m bot clock"]
