"""One error root: every exception Scout defines descends from ScoutError, which carries the exit code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import bot
import engine
from engine.errors import EXIT_BUSY, EXIT_NOT_FOUND, EXIT_USAGE, ScoutError


def _our_exceptions() -> list[type[BaseException]]:
    found = {}
    for package in (engine, bot):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if (inspect.isclass(obj) and issubclass(obj, BaseException) and not name.startswith("_")
                        and obj.__module__.split(".")[0] in ("engine", "bot")):
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def test_every_scout_exception_descends_from_the_one_root() -> None:
    classes = _our_exceptions()
    assert len(classes) >= 16
    assert [c.__qualname__ for c in classes if not issubclass(c, ScoutError)] == []


def test_the_bots_errors_are_not_cli_command_errors() -> None:
    from bot.config import MissingSetting
    from bot.post import PostFailed
    from engine.errors import CommandError

    assert not issubclass(MissingSetting, CommandError) and not issubclass(PostFailed, CommandError)


@pytest.mark.parametrize("name, code", [("LockHeld", EXIT_BUSY), ("UndoRefused", EXIT_NOT_FOUND),
                                        ("TokenMissing", EXIT_USAGE), ("SettingsError", EXIT_USAGE)])
def test_each_error_carries_its_exit_code(name: str, code: int) -> None:
    import engine.errors

    assert getattr(engine.errors, name)("x").exit_code == code
