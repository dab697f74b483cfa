"""Who may promote or dismiss: user ids in SCOUT_REVIEWERS, or members of the SCOUT_REVIEWER_GROUP user group."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from engine.settings import Settings

log = logging.getLogger("scout.bot")


async def is_reviewer(settings: Settings, client: AsyncWebClient, user_id: str) -> bool:
    """Listed ids first (no API call); the group is asked each time, so membership changes apply at once."""
    if user_id in settings.reviewer_ids:
        return True
    group = (settings.reviewer_group or "").strip()
    if not group:
        return False
    try:
        resp = await client.usergroups_users_list(usergroup=group)
    except SlackApiError as exc:
        # Fail closed: a missing usergroups:read scope or a wrong group id must not let anyone through.
        log.warning("reviewer group %s could not be read (%s): treating %s as not a reviewer",
                    group, exc.response.get("error"), user_id)
        return False
    return user_id in (resp.get("users") or [])


def rejection_text(settings: Settings, user_id: str) -> str:
    if not settings.reviewer_ids and not settings.reviewer_group:
        return (f"Sorry <@{user_id}>, no Scout reviewers are configured yet, so suggestions cannot be promoted "
                "or dismissed. An admin can set SCOUT_REVIEWERS (user ids) or SCOUT_REVIEWER_GROUP.")
    return (f"Sorry <@{user_id}>, only Scout reviewers can promote or dismiss suggestions. "
            "Ask your Scout admin to add you to the reviewers if you should be one.")
