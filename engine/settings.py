"""Every knob, read once from the environment into one object that is passed down.

Each default is the safe one: no live writes, the embedded CRM, the offline extractor when no key is set.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.db.engines import DEFAULT_POOL_SIZE, LogTarget
from engine.medic import FieldMap, load_field_map
from engine.methods import MethodName

# The production scan cap: at most this many deals are extracted per pass. At ~2 notes a deal this keeps a
# daily Claude bill predictable, and fair ordering rotates the cap through the whole pipeline.
PRODUCTION_SCAN_CAP = 50
# Anthropic's models overview lists Claude Sonnet 5.5 as the current Sonnet (4.6 and 5 are legacy). It refuses
# forced tool use, so the request asks for the tool with tool_choice "auto" (engine/extract/claude.py).
DEFAULT_MODEL = "claude-sonnet-5-5"
# Deadlines on the Claude path: one request, one server-requested wait, one pass. A longer retry-after fails
# the deal for this run (it leads the next); past the pass deadline the remaining deals wait for the next run.
DEFAULT_ANTHROPIC_TIMEOUT = 120.0
DEFAULT_RETRY_AFTER_CAP = 30.0
DEFAULT_PASS_DEADLINE = 1800.0
# Long notes: one request carries at most this much note text (~6k tokens); a longer note is cut into pieces
# that overlap, so a quote across a cut is still seen whole. Keep the overlap above the longest excerpt (600).
DEFAULT_NOTE_CHUNK_CHARS = 24_000
DEFAULT_NOTE_CHUNK_OVERLAP = 1_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    # Lock 2 of 2. Only the exact string "1" opens it; anything else keeps every run a rehearsal.
    live_writes_raw: str = Field(default="", validation_alias="LIVE_WRITES")

    crm: Literal["local", "attio", "hubspot", "salesforce"] = Field(default="local", validation_alias="SCOUT_CRM")
    data_dir: Path = Field(default=Path(".scout"), validation_alias="SCOUT_DATA_DIR")
    workspace_path: Path | None = Field(default=None, validation_alias="SCOUT_WORKSPACE")
    log_path: Path | None = Field(default=None, validation_alias="SCOUT_LOG_DB")
    # A shared PostgreSQL log (postgresql:// or Heroku's postgres://) for every process; unset: the SQLite file.
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    # Connections each process may open to it (the pass lock holds one). Keep web + clock + release under
    # the plan's limit: a hobby plan allows about 20.
    db_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=2, le=50, validation_alias="SCOUT_DB_POOL_SIZE")
    # The PostgreSQL schema the log's tables live in (default: the role's search_path, normally `public`).
    db_schema: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$", validation_alias="SCOUT_DB_SCHEMA")
    field_map_path: Path | None = Field(default=None, validation_alias="SCOUT_FIELD_MAP")
    method: MethodName = Field(default="medic", validation_alias="SCOUT_METHOD")

    scan_cap: int = Field(default=PRODUCTION_SCAN_CAP, ge=1, validation_alias="SCOUT_SCAN_CAP")
    concurrency: int = Field(default=4, ge=1, le=64, validation_alias="SCOUT_CONCURRENCY")

    extractor: Literal["auto", "offline", "claude"] = Field(default="auto", validation_alias="SCOUT_EXTRACTOR")
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    model: str = Field(default=DEFAULT_MODEL, validation_alias="SCOUT_MODEL")
    # Room for adaptive thinking (on by default on current models) as well as the findings. Capped because the
    # SDK skips its own non-streaming guard (about 21K tokens) once a timeout is set.
    max_tokens: int = Field(default=8192, ge=256, le=20_000, validation_alias="SCOUT_MAX_TOKENS")
    anthropic_max_retries: int = Field(default=4, ge=0, le=10, validation_alias="SCOUT_ANTHROPIC_MAX_RETRIES")
    anthropic_timeout: float = Field(default=DEFAULT_ANTHROPIC_TIMEOUT, gt=0, le=600,
                                     validation_alias="SCOUT_ANTHROPIC_TIMEOUT")
    retry_after_cap: float = Field(default=DEFAULT_RETRY_AFTER_CAP, ge=0, le=600,
                                   validation_alias="SCOUT_RETRY_AFTER_CAP")
    # 0 turns the pass deadline off (a batch pass's wait for its batch is bounded by the API's 24 h instead).
    pass_deadline: float = Field(default=DEFAULT_PASS_DEADLINE, ge=0, validation_alias="SCOUT_PASS_DEADLINE")
    note_chunk_chars: int = Field(default=DEFAULT_NOTE_CHUNK_CHARS, ge=2000, validation_alias="SCOUT_NOTE_CHUNK_CHARS")
    note_chunk_overlap: int = Field(default=DEFAULT_NOTE_CHUNK_OVERLAP, ge=0,
                                    validation_alias="SCOUT_NOTE_CHUNK_OVERLAP")
    # Message Batches: half price, results within 24 h. `scout run --batch`, or every pass with SCOUT_BATCH=1.
    batch: bool = Field(default=False, validation_alias="SCOUT_BATCH")
    batch_poll_seconds: float = Field(default=60.0, ge=0, validation_alias="SCOUT_BATCH_POLL_SECONDS")

    attio_api_token: SecretStr | None = Field(default=None, validation_alias="ATTIO_API_TOKEN")
    hubspot_token: SecretStr | None = Field(default=None, validation_alias="HUBSPOT_TOKEN")
    hubspot_requests_per_10s: int = Field(default=100, ge=1, validation_alias="HUBSPOT_RATE_PER_10S")
    # Salesforce: an External Client App's client-credentials flow (client id + secret), or its JWT bearer flow
    # (client id + username + private key file). SALESFORCE_LOGIN_URL is the org's My Domain URL.
    salesforce_login_url: str | None = Field(default=None, validation_alias="SALESFORCE_LOGIN_URL")
    salesforce_client_id: str | None = Field(default=None, validation_alias="SALESFORCE_CLIENT_ID")
    salesforce_client_secret: SecretStr | None = Field(default=None, validation_alias="SALESFORCE_CLIENT_SECRET")
    salesforce_username: str | None = Field(default=None, validation_alias="SALESFORCE_USERNAME")
    salesforce_private_key_file: Path | None = Field(default=None, validation_alias="SALESFORCE_PRIVATE_KEY_FILE")
    salesforce_jwt_audience: str = Field(default="https://login.salesforce.com",
                                         validation_alias="SALESFORCE_JWT_AUDIENCE")
    salesforce_api_version: str = Field(default="66.0", pattern=r"^\d+\.0$", validation_alias="SALESFORCE_API_VERSION")
    # Per cent of the org's daily API allocation Scout leaves for the team's other integrations.
    salesforce_api_reserve: int = Field(default=20, ge=0, le=95, validation_alias="SALESFORCE_API_RESERVE")
    # Requests in flight at once: well inside the org's 25 concurrent long-running requests (5 on trial orgs).
    salesforce_max_concurrent: int = Field(default=5, ge=1, le=20, validation_alias="SALESFORCE_MAX_CONCURRENT")
    salesforce_note_sources: str = Field(default="tasks,content_notes", validation_alias="SALESFORCE_NOTE_SOURCES")
    salesforce_permission_set: str = Field(default="Scout_Integration", validation_alias="SALESFORCE_PERMISSION_SET")
    salesforce_reviewer_profiles: str = Field(default="", validation_alias="SALESFORCE_REVIEWER_PROFILES")
    crm_base_url: str | None = Field(default=None, validation_alias="SCOUT_CRM_BASE_URL")
    deal_url_template: str | None = Field(default=None, validation_alias="SCOUT_DEAL_URL")

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    summary_channel: str | None = Field(default=None, validation_alias="SCOUT_SUMMARY_CHANNEL")
    # Deals posted to the summary thread per run; the rest wait in the review queue (one message per deal).
    thread_deals: int = Field(default=25, ge=1, le=1000, validation_alias="SCOUT_THREAD_DEALS")
    reviewers: str = Field(default="", validation_alias="SCOUT_REVIEWERS")
    reviewer_group: str | None = Field(default=None, validation_alias="SCOUT_REVIEWER_GROUP")
    schedule: str = Field(default="0 7 * * 1-5", validation_alias="SCOUT_SCHEDULE")
    # The scheduled pass's `--apply` (lock 1 of 2 for unattended runs). Only "1" opens it; LIVE_WRITES is lock 2.
    schedule_apply_raw: str = Field(default="", validation_alias="SCOUT_SCHEDULE_APPLY")
    timezone: str = Field(default="UTC", validation_alias="SCOUT_TIMEZONE")
    port: int = Field(default=3000, validation_alias=AliasChoices("PORT", "SCOUT_PORT"))

    # Exact comparison, no strip: a lock that " 1" or "1\n" opens is not the documented lock.
    @property
    def live_writes(self) -> bool:
        return self.live_writes_raw == "1"

    @property
    def schedule_apply(self) -> bool:
        return self.schedule_apply_raw == "1"

    @property
    def workspace(self) -> Path:
        return self.workspace_path or self.data_dir / "workspace.sqlite"

    @property
    def log_db(self) -> Path:
        return self.log_path or self.data_dir / "log.sqlite"

    @property
    def log_target(self) -> LogTarget:
        """Where the provenance log is: DATABASE_URL's PostgreSQL when set, else the SQLite file `log_db`."""
        if self.database_url is not None and self.database_url.get_secret_value().strip():
            return LogTarget.postgres(self.database_url.get_secret_value().strip(), pool_size=self.db_pool_size,
                                     schema=self.db_schema)
        return LogTarget.sqlite(self.log_db)

    @property
    def shared_log(self) -> bool:
        return self.log_target.is_postgres

    @property
    def reviewer_ids(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.reviewers.split(",") if r.strip())

    @cached_property
    def field_map(self) -> FieldMap:
        return load_field_map(self.field_map_path, self.method,
                              naming="salesforce" if self.crm == "salesforce" else "snake")

    def extractor_kind(self) -> Literal["offline", "claude"]:
        if self.extractor == "auto":
            return "claude" if self.anthropic_api_key else "offline"
        return self.extractor
