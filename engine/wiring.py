"""Builds the pieces a command needs from Settings: the extractor and the cost function."""

from __future__ import annotations

from typing import Callable

from engine.extract.base import Extractor
from engine.models import Usage
from engine.settings import Settings


def build_extractor(settings: Settings) -> Extractor:
    if settings.extractor_kind() == "claude":
        from engine.extract.claude import ClaudeExtractor

        return ClaudeExtractor.from_settings(settings)
    from engine.extract.offline import OfflineExtractor

    return OfflineExtractor()


def cost_function() -> Callable[[str, Usage], float | None] | None:
    try:
        from engine.extract.pricing import estimate_cost
    except ImportError:
        return None
    return estimate_cost
