"""The provenance log behind small interfaces, one module per concern.

Callers are typed against the narrow protocol they need; `engine.provenance.ProvenanceStore` is the SQLite
implementation of all of them. A second backend (a shared PostgreSQL) adds a module that implements
`ProvenanceLog` and its own opener; no caller changes.
"""

from __future__ import annotations

from typing import Protocol

from engine.store.actions import (
    EXPIRED_REASON, SUGGESTIONS, ActionLog, ActionRow, AppliedWrites, Outcome, OutcomeUpdate, RunRow, is_suggestion,
    suggestion_key,
)
from engine.store.batches import BatchEntry, BatchRow, Batches
from engine.store.cache import ExtractionCache
from engine.store.locks import PassLock, holder_dead, this_process
from engine.store.reader import LogReader
from engine.store.review import ReviewClaim, ReviewState, SlackPostRow
from engine.store.scans import ScanMarks


class ProvenanceLog(ActionLog, ScanMarks, ExtractionCache, PassLock, Batches, ReviewState, LogReader, Protocol):
    """The whole writable log, for the jobs that own a pass (runner, undo, promotion, setup)."""


__all__ = [
    "EXPIRED_REASON", "SUGGESTIONS",
    "ActionLog", "ActionRow", "AppliedWrites", "BatchEntry", "BatchRow", "Batches", "ExtractionCache",
    "LogReader", "Outcome", "PassLock", "ProvenanceLog", "ReviewClaim", "ReviewState", "RunRow", "ScanMarks",
    "SlackPostRow", "holder_dead", "is_suggestion", "suggestion_key", "this_process",
]
