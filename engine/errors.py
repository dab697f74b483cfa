"""Scout's exceptions, under one root. A ScoutError's message is one line meant for a human and it carries
the exit code the CLI and `python -m bot` end with, so an entry point catches one type. Exit codes are part
of the interface: scripts and the scheduler rely on them. The Slack app's own errors (bot.config, bot.post)
descend from ScoutError too; the modules that raise these re-export them under their old names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.models import Usage

if TYPE_CHECKING:
    from engine.importer import Problem

EXIT_OK = 0
EXIT_ERROR = 1  # configuration, CRM or extractor error; nothing half-done is left unlogged
EXIT_USAGE = 2  # bad arguments or settings
EXIT_BUSY = 3  # another pass holds the lock
EXIT_PARTIAL = 4  # finished, but some actions failed or conflicted (see `scout log RUN`)
EXIT_NOT_FOUND = 5  # no such run or deal
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it

MAX_PROBLEMS = 25  # an import's problems listed: enough to fix a file in one go without drowning the terminal


class ScoutError(Exception):
    """The root. `exit_code` is the class's unless one is given."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str = "", exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class CommandError(ScoutError):
    """A CLI command refuses (bad combination of arguments, wrong CRM for the command)."""


class SettingsError(ScoutError):
    """One line naming the setting at fault."""

    exit_code = EXIT_USAGE


# ---- the CRM ---------------------------------------------------------------------------------------------


class CRMError(ScoutError):
    """A CRM call failed after its retries; the message is meant for a human."""


class AuthError(CRMError):
    """The token is missing or was rejected; the message names the variable to fix."""


class TokenMissing(AuthError):
    """The token's variable is unset: a missing setting (exit 2), not a refusal."""

    exit_code = EXIT_USAGE


class CRMUnreachable(CRMError):
    """No answer at all (connection refused, DNS, timeout) after the retries; the message names the host."""


class CRMRetriesSpent(CRMError):
    """The CRM kept answering 429 or 5xx until the retries were spent: the call failed, not one input of it."""


class DealNotFound(CRMError):
    """The deal does not exist (any more): deleted or merged mid-run."""


class CRMBudgetSpent(CRMError):
    """The CRM's daily API allocation is used up, down to the reserve left for the team's other integrations:
    the pass stops here, and the deals it did not reach lead the next run."""


class FieldTypeConflict(CRMError):
    """A field with Scout's name exists with another type; Scout refuses to touch it."""


class CoercionError(ScoutError, ValueError):
    """A proposed value does not fit the target field; the finding is dropped with this reason."""


# ---- a pass, undo and review -----------------------------------------------------------------------------


def rep_fields_warning(missing: list[str]) -> str:
    return (f"rep field(s) {', '.join(missing)} not found in the CRM: Scout cannot see what reps filled there, "
            "so it would suggest over their answers. Fix the names in SCOUT_FIELD_MAP; `scout check` lists them.")


class MissingFields(ScoutError):
    def __init__(self, missing: list[str]):
        super().__init__(f"missing scout fields {', '.join(missing)}: run `scout setup --apply` first")
        self.missing = missing


class MissingRepFields(ScoutError):
    def __init__(self, missing: list[str]):
        super().__init__(f"live pass refused: {rep_fields_warning(missing)}")
        self.missing = missing


class LogReplaced(ScoutError):
    """The log has no pass on record, yet the CRM holds scout_* values: it was emptied, replaced or lost."""


class LockHeld(ScoutError):
    """Another pass holds the lock."""

    exit_code = EXIT_BUSY


class UndoRefused(ScoutError):
    """No such run to undo, or not one that can be undone."""

    exit_code = EXIT_NOT_FOUND


class ReviewInterrupted(ScoutError):
    """Something unplanned stopped a click after its run started. The run is closed as failed (so a later
    pass's reconcile settles a pending intent at once); `intent_pending` says the CRM write's outcome is unknown."""

    def __init__(self, cause: BaseException, *, run_id: int, intent_pending: bool):
        super().__init__(str(cause) or type(cause).__name__)
        self.run_id, self.intent_pending = run_id, intent_pending


class InvalidEdit(ScoutError, ValueError):
    """A reviewer's edited value the rep field cannot hold; the message says why, for the edit form."""

    exit_code = EXIT_USAGE


# ---- extraction ------------------------------------------------------------------------------------------


class ExtractionError(ScoutError):
    """The extractor could not produce an answer at all (service down after retries, auth rejected, a reply cut
    short or unreadable). `usage`: tokens already spent on the deal, so the run's cost still counts them."""

    def __init__(self, message: str, usage: Usage | None = None):
        super().__init__(message)
        self.usage = usage or Usage()


class CutShort(ExtractionError):
    """The model stopped without a complete record_findings call (max_tokens, refusal, prose): no answer."""

    def __init__(self, message: str, stop_reason: str, usage: Usage):
        super().__init__(message, usage)
        self.stop_reason = stop_reason


class WaitTooLong(ExtractionError):
    """The API asked for a longer wait than Scout honours."""


class BatchGone(ExtractionError):
    """The API no longer knows the batch (deleted, or results archived): its deals are retried."""


# ---- import ----------------------------------------------------------------------------------------------


class NotText(ScoutError):
    """The file is a spreadsheet workbook (or other binary), not the text format asked for; nothing imported."""


class ImportFailed(ScoutError):
    """The input is not importable; nothing was imported. `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        more = "" if len(problems) < MAX_PROBLEMS else f" (stopped after {MAX_PROBLEMS})"
        super().__init__(f"{len(problems)} problem(s){more}, nothing imported")
