"""The dependency rule: the engine never imports the Slack app; only the thin application layer knows both."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_no_engine_module_imports_the_bot() -> None:
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for path in sorted((ROOT / "engine").rglob("*.py"))
                 for name in _imports(path) if name == "bot" or name.startswith("bot.")]
    assert offenders == []


def test_the_console_script_is_the_application_layer() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["scout"] == "scout_app.cli:main"


def test_the_engine_cli_alone_says_posting_needs_the_slack_app(capsys) -> None:
    from engine.cli import main

    assert main(["run", "--post"]) == 2
    assert "--post needs the Slack app" in capsys.readouterr().err
