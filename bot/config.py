"""What each bot process needs from Settings, checked up front so a missing variable is one clear line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pydantic import SecretStr
from slack_sdk.http_retry.builtin_async_handlers import async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import RateLimitRetry
from engine.errors import EXIT_USAGE, ScoutError
from engine.settings import Settings

# Settings attribute -> (environment variable, where to find the value).
_NEEDS = {
    "slack_bot_token": ("SLACK_BOT_TOKEN",
                        "the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"),
    "slack_signing_secret": ("SLACK_SIGNING_SECRET", "the Signing Secret from the app's Basic Information page"),
    "slack_app_token": ("SLACK_APP_TOKEN", "an app-level token (xapp-...) with connections:write, for Socket Mode"),
    "summary_channel": ("SCOUT_SUMMARY_CHANNEL", "the ID of the run-summary channel (e.g. C0123ABCD); invite the bot"),
}


class MissingSetting(ScoutError):
    """A required variable is unset; the message names it (exit 2, as for any missing setting)."""

    exit_code = EXIT_USAGE


def value(settings: Settings, attr: str) -> str:
    raw = getattr(settings, attr)
    if isinstance(raw, SecretStr):
        raw = raw.get_secret_value()
    return (raw or "").strip()


def require(settings: Settings, *attrs: str) -> None:
    for attr in attrs:
        if not value(settings, attr):
            env, where = _NEEDS[attr]
            raise MissingSetting(f"{env} is not set: {where}")


def web_client(settings: Settings, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> AsyncWebClient:
    """The Web API client for the configured bot token (SLACK_API_URL points tests at a local stand-in).
    slack_sdk retries a 429 after Retry-After, as well as its default connection retries."""
    require(settings, "slack_bot_token")
    return AsyncWebClient(token=value(settings, "slack_bot_token"), base_url=settings.slack_api_url,
                          retry_handlers=[*async_default_handlers(), RateLimitRetry(sleep=sleep)])
