"""Salesforce sessions from an External Client App: the client-credentials flow (client id + secret, run as
the app's execution user) or the JWT bearer flow (client id + username + the private key of the app's
certificate). Either gives an access token and the org's instance URL; a 401 INVALID_SESSION_ID asks for a
fresh one (`refresh`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import httpx

from engine.crm.base import AuthError, CRMUnreachable, TokenMissing
from engine.crm.salesforce_codec import error_line

if TYPE_CHECKING:
    from engine.settings import Settings

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME = 180  # seconds; Salesforce accepts an assertion whose exp is at most a few minutes ahead
CREDENTIALS_ENV = "SALESFORCE_CLIENT_ID"
MISSING = (
    "SALESFORCE_CLIENT_ID is not set: create an External Client App in Salesforce (Setup > External Client App "
    "Manager), enable the client credentials flow, and export SALESFORCE_LOGIN_URL (your My Domain URL), "
    "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (or SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE "
    "for the JWT bearer flow)"
)


@dataclass(frozen=True)
class Session:
    access_token: str
    instance_url: str
    user_id: str = ""  # the integration user: the last part of the identity URL
    org_id: str = ""
    scope: str = ""
    flow: str = ""


class SalesforceAuth:
    """Gets a session once and again on `refresh`; concurrent callers share one token request."""

    def __init__(self, client: httpx.AsyncClient, login_url: str, client_id: str, *,
                 client_secret: str | None = None, username: str | None = None, private_key: str | None = None,
                 audience: str = "https://login.salesforce.com", clock: Callable[[], float] = time.time) -> None:
        if not client_secret and not (username and private_key):
            raise TokenMissing("SALESFORCE_CLIENT_SECRET is not set: export the External Client App's consumer "
                               "secret (client credentials flow), or SALESFORCE_USERNAME and "
                               "SALESFORCE_PRIVATE_KEY_FILE (JWT bearer flow)")
        self._client = client
        self.login_url = login_url.rstrip("/")
        self._client_id = client_id
        self._secret = client_secret
        self._username = username
        self._key = private_key
        self._audience = audience
        self._clock = clock
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self.flow = "jwt" if username and private_key else "client_credentials"
        self.issued = 0  # tokens obtained so far (a refresh counts)

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.AsyncClient) -> "SalesforceAuth":
        client_id = (settings.salesforce_client_id or "").strip()
        if not client_id:
            raise TokenMissing(MISSING)
        login = (settings.salesforce_login_url or settings.crm_base_url or "").strip()
        if not login:
            raise TokenMissing("SALESFORCE_LOGIN_URL is not set: export your org's My Domain URL, e.g. "
                               "https://acme.my.salesforce.com")
        key = None
        if settings.salesforce_private_key_file is not None:
            path = Path(settings.salesforce_private_key_file)
            try:
                key = path.read_text()
            except OSError as exc:
                raise TokenMissing(f"SALESFORCE_PRIVATE_KEY_FILE {path} cannot be read ({exc.strerror})") from exc
        secret = settings.salesforce_client_secret.get_secret_value().strip() if settings.salesforce_client_secret else None
        return cls(client, login, client_id, client_secret=secret or None, username=settings.salesforce_username,
                   private_key=key, audience=settings.salesforce_jwt_audience)

    async def session(self) -> Session:
        async with self._lock:
            if self._session is None:
                self._session = await self._token()
            return self._session

    async def refresh(self, stale: Session) -> Session:
        """A new session, unless another caller already replaced `stale`."""
        async with self._lock:
            if self._session is None or self._session.access_token == stale.access_token:
                self._session = await self._token()
            return self._session

    def _form(self) -> dict[str, str]:
        if self.flow == "jwt":
            return {"grant_type": JWT_GRANT, "assertion": self._assertion()}
        return {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret or ""}

    def _assertion(self) -> str:
        try:
            import jwt  # PyJWT, with `cryptography` for RS256: the optional `salesforce-jwt` extra
        except ImportError as exc:
            raise TokenMissing("the JWT bearer flow needs PyJWT: pip install 'scout[salesforce-jwt]'") from exc
        claims = {"iss": self._client_id, "sub": self._username, "aud": self._audience,
                  "exp": int(self._clock()) + JWT_LIFETIME}
        try:
            return str(jwt.encode(claims, self._key or "", algorithm="RS256"))
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise TokenMissing(f"SALESFORCE_PRIVATE_KEY_FILE is not a usable RSA private key ({exc})") from exc

    async def _token(self) -> Session:
        url = self.login_url + TOKEN_PATH
        try:
            response = await self._client.post(url, data=self._form(), headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise CRMUnreachable(f"Salesforce unreachable at {httpx.URL(url).host} ({type(exc).__name__}: {exc}) "
                                 "getting a token; check SALESFORCE_LOGIN_URL") from exc
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            which = ("SALESFORCE_CLIENT_ID / SALESFORCE_USERNAME / SALESFORCE_PRIVATE_KEY_FILE" if self.flow == "jwt"
                     else "SALESFORCE_CLIENT_ID / SALESFORCE_CLIENT_SECRET")
            why = error_line(body) or f"HTTP {response.status_code}"
            raise AuthError(f"Salesforce rejected the {self.flow.replace('_', ' ')} login ({which}) at "
                            f"{self.login_url}: {why}; check the External Client App's consumer key and secret, "
                            "that its flow is enabled, and its execution user (client credentials) or "
                            "pre-authorised user (JWT)")
        identity = str(body.get("id") or "").rstrip("/").split("/")
        self.issued += 1
        return Session(
            access_token=str(body["access_token"]), instance_url=str(body.get("instance_url") or self.login_url).rstrip("/"),
            user_id=identity[-1] if len(identity) >= 2 else "", org_id=identity[-2] if len(identity) >= 2 else "",
            scope=str(body.get("scope") or ""), flow=self.flow,
        )
