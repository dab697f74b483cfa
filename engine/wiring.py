"""Builds the extractor a command needs from Settings."""

from __future__ import annotations

from typing import Literal

from engine.extract.base import Extractor
from engine.settings import Settings


def build_extractor(settings: Settings, kind: Literal["offline", "claude"] | None = None) -> Extractor:
    """The extractor `kind` names, else the one the settings choose (Claude when a key is set)."""
    if (kind or settings.extractor_kind()) == "claude":
        from engine.extract.claude import ClaudeExtractor

        return ClaudeExtractor.from_settings(settings)
    from engine.extract.offline import OfflineExtractor

    return OfflineExtractor()
