"""A local stand-in for Slack: the Web API and response_url endpoints on 127.0.0.1, recording every call.

It answers the methods Scout uses (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
usergroups.users.list, views.publish, views.open) the way Slack documents them, keeps the channel's messages,
each user's Home tab and the open modals so tests read what users would see, refuses what Slack refuses
(more than 50 blocks in a message, 100 in a view; views.open without a trigger_id), and can be told to fail
a method (e.g. 429 with Retry-After). Also here: the requests Slack sends us (slash commands, button clicks
in a message or a view, the Home tab opening, a modal's submission), signed as Slack signs them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlencode

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

BOT_TOKEN = "xoxb-standin-token"
SIGNING_SECRET = "standin-signing-secret"
TEAM = "T0SCOUT"
CHANNEL = "C0SUMMARY"


@dataclass
class Call:
    method: str  # Web API method, or "response_url"
    args: dict[str, Any]
    token: str | None = None
    path: str = ""


@dataclass
class Fault:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackStandIn:
    def __init__(self, *, groups: dict[str, list[str]] | None = None):
        self.calls: list[Call] = []
        self.messages: dict[str, dict[str, Any]] = {}  # ts -> message as users see it now
        self.groups = groups or {}
        self.faults: dict[str, list[Fault | None]] = {}  # per method, in order; None lets that call through
        self.homes: dict[str, dict[str, Any]] = {}  # user id -> the Home tab view they see now
        self.modals: list[dict[str, Any]] = []  # views opened, in order
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Condition | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def start(self) -> SlackStandIn:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def client(self) -> AsyncWebClient:
        return AsyncWebClient(token=BOT_TOKEN, base_url=self.base_url)

    # -- what tests read --------------------------------------------------------------------------------------

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10) -> list[Call]:
        """Until `count` calls of `method` have arrived (for work bolt runs after ack on its own task)."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.of(method)) >= count), timeout)
        return self.of(method)

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self) -> list[dict[str, Any]]:
        return [c.args for c in self.of("chat.postMessage")]

    def fail(self, method: str, status: int = 429, *, error: str = "ratelimited",
             headers: dict[str, str] | None = None, times: int = 1, after: int = 0) -> None:
        """The next `times` calls of `method` fail, after letting `after` calls through."""
        queue = self.faults.setdefault(method, [])
        queue.extend([None] * after)
        queue.extend(Fault(status, {"ok": False, "error": error}, headers or {}) for _ in range(times))

    # -- the Web API ------------------------------------------------------------------------------------------

    def _ts(self) -> str:
        self._seq += 1
        return f"1790000000.{self._seq:06d}"

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or args.get("token")
        await self._record(Call(method, args, token, request.path))
        if token != BOT_TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        fault = self.faults[method].pop(0) if self.faults.get(method) else None
        if fault is not None:
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://scout-test.slack.com/", "team": "Scout Test", "user": "scout",
                "team_id": TEAM, "user_id": "U0SCOUTBOT", "bot_id": "B0SCOUTBOT", "is_enterprise_install": False}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if len(args.get("blocks") or []) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        ts = self._ts()
        message = {"type": "message", "ts": ts, "text": args.get("text", ""), "blocks": args.get("blocks", []),
                   "thread_ts": args.get("thread_ts"), "channel": args["channel"], "user": "U0SCOUTBOT"}
        self.messages[ts] = message
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get(args.get("ts", ""))
        if message is None or message["channel"] != args.get("channel"):
            return {"ok": False, "error": "message_not_found"}
        message.update(text=args.get("text", ""), blocks=args.get("blocks", []))
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": message["text"]}

    def _view(self, args: dict[str, Any]) -> dict[str, Any] | None:
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not isinstance(view, dict) or len(view.get("blocks") or []) > 100:
            return None
        self._seq += 1
        return {**view, "id": f"V{self._seq:08d}", "hash": f"h{self._seq}", "state": {"values": {}}}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view(args)
        if view is None or view.get("type") != "home" or not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        self.homes[args["user_id"]] = view
        return {"ok": True, "view": view}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = self._view(args)
        if view is None or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        self.modals.append(view)
        return {"ok": True, "view": view}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._ts()}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup")
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.groups[group]}

    async def _response_url(self, request: web.Request) -> web.Response:
        await self._record(Call("response_url", await request.json(), None, request.path))
        return web.Response(text="ok")


# -- requests from Slack to us ----------------------------------------------------------------------------------


def signed_headers(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None,
                   content_type: str = "application/x-www-form-urlencoded") -> dict[str, list[str]]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"content-type": [content_type], "x-slack-signature": [signature], "x-slack-request-timestamp": [ts]}


def slash_command(text: str, response_url: str, *, user: str = "U0REP") -> str:
    return urlencode({
        "token": "legacy-verification-token", "team_id": TEAM, "team_domain": "scout-test",
        "channel_id": "C0DEALS", "channel_name": "deals", "user_id": user, "user_name": "rep",
        "command": "/scout", "text": text, "api_app_id": "A0SCOUT", "response_url": response_url,
        "trigger_id": "123.456.abc",
    })


def button_click(message: dict[str, Any], action_id: str, *, user: str, action_ts: str,
                 response_url: str, block_id: str | None = None) -> str:
    """The block_actions payload Slack sends when `user` clicks `action_id` (in block `block_id`, if given)."""
    block, button = next((b, e) for b in message["blocks"] if b["type"] == "actions"
                         and block_id in (None, b.get("block_id")) for e in b["elements"]
                         if e["action_id"] == action_id)
    payload = {
        "type": "block_actions", "team": {"id": TEAM, "domain": "scout-test"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM}, "api_app_id": "A0SCOUT",
        "token": "legacy-verification-token", "trigger_id": "123.456.def",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"],
                      "is_ephemeral": False, "thread_ts": message.get("thread_ts")},
        "channel": {"id": message["channel"], "name": "scout-runs"},
        "message": {k: v for k, v in message.items() if k != "channel" and v is not None},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block.get("block_id", ""), "type": "button",
                     "value": button["value"], "action_ts": action_ts, "text": button["text"]}],
    }
    return urlencode({"payload": json.dumps(payload)})


def _interactive(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _envelope(user: str) -> dict[str, Any]:
    return {"team": {"id": TEAM, "domain": "scout-test"}, "user": {"id": user, "username": user.lower(),
            "team_id": TEAM}, "api_app_id": "A0SCOUT", "token": "legacy-verification-token",
            "trigger_id": f"trigger.{user}.{time.monotonic_ns()}"}


def home_opened(user: str, view: dict[str, Any] | None = None) -> str:
    """The Events API callback Slack sends when `user` opens the app's Home tab (JSON, not form-encoded)."""
    event = {"type": "app_home_opened", "user": user, "channel": "D0SCOUTDM", "tab": "home",
             "event_ts": "1790000000.000100", **({"view": view} if view else {})}
    return json.dumps({"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0SCOUT",
                       "event": event, "type": "event_callback", "event_id": f"Ev{time.monotonic_ns()}",
                       "event_time": 1790000000, "authorizations": [{"team_id": TEAM, "user_id": "U0SCOUTBOT",
                                                                     "is_bot": True}]})


def json_headers(body: str) -> dict[str, list[str]]:
    return signed_headers(body, content_type="application/json")


def view_click(view: dict[str, Any], action_id: str, *, user: str, action_ts: str, block_id: str | None = None,
               option: str | None = None) -> str:
    """A click on a button (or a choice in a select, `option`) in a published view such as the Home tab."""
    block, element = next((b, e) for b in view["blocks"] if block_id in (None, b.get("block_id"))
                          for e in [*b.get("elements", []), *([b["accessory"]] if "accessory" in b else [])]
                          if e.get("action_id") == action_id)
    action: dict[str, Any] = {"action_id": action_id, "block_id": block.get("block_id", ""), "type": element["type"],
                              "action_ts": action_ts}
    if element["type"] == "button":
        action.update(value=element.get("value", ""), text=element["text"])
    else:
        chosen = next(o for o in element["options"] if o["value"] == option)
        action["selected_option"] = chosen
    return _interactive({
        "type": "block_actions", **_envelope(user),
        "container": {"type": "view", "view_id": view["id"]},
        "view": view, "actions": [action],
    })


def view_submission(view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]], *, user: str) -> str:
    """The submission of a modal `view` holding `values` (block id -> action id -> the element's state)."""
    return _interactive({"type": "view_submission", **_envelope(user),
                         "view": {**view, "state": {"values": values}}, "response_urls": []})


async def dispatch(app: AsyncApp, body: str, headers: dict[str, list[str]] | None = None) -> BoltResponse:
    """Through bolt's real request handling; returns once the listener bolt started after ack() has finished."""
    before = asyncio.all_tasks()
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers or signed_headers(body)))
    listeners = [t for t in asyncio.all_tasks() - before
                 if "slack_bolt" in getattr(t.get_coro(), "cr_code", None).co_filename]  # type: ignore[union-attr]
    if listeners:
        _, pending = await asyncio.wait(listeners, timeout=15)
        assert not pending, "a listener did not finish"
    return response


@contextmanager
def standin_on_a_thread(**kwargs: Any) -> Iterator[SlackStandIn]:
    """A stand-in served from its own thread and loop, for tests that call the CLI (which runs its own loop)."""
    loop = asyncio.new_event_loop()
    slack = SlackStandIn(**kwargs)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(slack.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield slack
    finally:
        asyncio.run_coroutine_threadsafe(slack.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
