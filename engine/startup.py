"""Settings read once at process start, shared by `scout` and `python -m bot`, so both say the same thing
about a bad setting and exit with the same code (EXIT_USAGE)."""

from __future__ import annotations

import tomllib

from pydantic import ValidationError

from engine.errors import SettingsError  # noqa: F401 (re-exported)
from engine.settings import Settings


def load_settings() -> Settings:
    """The Settings, with the field map already parsed (a bad file is one line now, not a traceback later)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise SettingsError(f"configuration error in {err.get('loc', ['?'])[0]}: {err.get('msg')}") from None
    try:
        settings.field_map
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else exc.errors()[0]["msg"]
        raise SettingsError(f"configuration error in SCOUT_FIELD_MAP ({settings.field_map_path}): {detail}") from None
    return settings
