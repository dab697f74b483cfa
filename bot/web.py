"""Serving the app: HTTP mode (deployment, `Procfile` web) and Socket Mode (local use, no public URL)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import build_app
from bot.config import require, value
from engine.settings import Settings

log = logging.getLogger("scout.bot")

EVENTS_PATH = "/slack/events"  # the manifest's slash command and interactivity URLs end with this


def http_app(settings: Settings) -> web.Application:
    """The aiohttp application Slack posts to: every request's signature is checked before anything runs."""
    require(settings, "slack_bot_token", "slack_signing_secret")
    return build_app(settings).web_app(path=EVENTS_PATH, port=settings.port)


def serve_http(settings: Settings) -> None:
    application = http_app(settings)
    log.warning("scout web: listening on 0.0.0.0:%s%s", settings.port, EVENTS_PATH)
    web.run_app(application, host="0.0.0.0", port=settings.port, print=None)


async def serve_socket(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    require(settings, "slack_bot_token", "slack_app_token")
    app = build_app(settings, socket_mode=True)
    log.warning("scout socket: connecting to Slack over Socket Mode")
    await AsyncSocketModeHandler(app, value(settings, "slack_app_token")).start_async()
