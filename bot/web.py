"""Serving the app: HTTP mode (deployment, `Procfile` web) and Socket Mode (local use, no public URL)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.signature import SignatureVerifier

from bot.app import build_app
from bot.config import require, value
from engine.settings import Settings

log = logging.getLogger("scout.bot")

EVENTS_PATH = "/slack/events"  # the manifest's slash command and interactivity URLs end with this


class _Interactive(BaseModel):
    """The shape bolt relies on in an interactive `payload=`: anything else would fail inside bolt (a 500)."""

    model_config = ConfigDict(extra="allow")
    type: str
    actions: list[dict[str, Any]] | None = None
    user: dict[str, Any] | None = None
    channel: dict[str, Any] | None = None


def well_formed(body: str) -> bool:
    """A form body whose `payload`, if any, is a JSON object of the shape bolt expects."""
    payload = parse_qs(body).get("payload")
    if payload is None:
        return True
    try:
        _Interactive.model_validate_json(payload[0])
    except ValidationError:
        return False
    return True


def http_app(settings: Settings) -> web.Application:
    """The aiohttp application Slack posts to. Every request's signature is checked first, on the raw body;
    then its shape, so a malformed payload is a 400 rather than an error inside bolt. Only then does bolt
    (which checks the signature again) dispatch it."""
    require(settings, "slack_bot_token", "slack_signing_secret")
    bolt = build_app(settings)
    verifier = SignatureVerifier(value(settings, "slack_signing_secret"))

    async def events(request: web.Request) -> web.Response:
        body = await request.text()
        if not verifier.is_valid_request(body, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        if not well_formed(body):
            log.warning("refused a signed request with a malformed payload")
            return web.json_response({"error": "malformed payload"}, status=400)
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    application = web.Application()
    application.add_routes([web.post(EVENTS_PATH, events)])
    return application


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
