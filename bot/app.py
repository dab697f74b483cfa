"""The slack-bolt AsyncApp: built from Settings, no module-level state."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import require, value, web_client
from bot import edit, home
from bot.listeners import actions, command
from engine.extract.base import Extractor
from engine.settings import Settings
from engine.wiring import build_extractor

log = logging.getLogger("scout.bot")


def build_app(
    settings: Settings, *, client: AsyncWebClient | None = None, extractor: Extractor | None = None,
    socket_mode: bool = False,
) -> AsyncApp:
    """`client` lets tests point the Web API at a stand-in; `extractor` the fresh look `/scout` takes.

    HTTP mode verifies every request's signature with SLACK_SIGNING_SECRET; Socket Mode requests come over
    the authenticated websocket instead, so the secret is not needed there.
    """
    if not socket_mode:
        require(settings, "slack_signing_secret")
    client = client or web_client(settings)
    app = AsyncApp(
        name="scout", client=client, signing_secret=value(settings, "slack_signing_secret"),
        process_before_response=False,  # ack first, work after: Slack's 3 seconds never wait on the CRM or model
    )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)

    command.register(app, settings, extractor=extractor or build_extractor(settings))
    actions.register(app, settings)
    home.register(app, settings)
    edit.register(app, settings)
    return app
