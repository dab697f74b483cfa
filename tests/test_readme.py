"""The README's shell examples, run as written (a drift test).

Every ```sh block of README.md runs, in order, in one fresh directory, through bash and the installed `scout`
as a real subprocess: the Quick start seeds the demo, the later blocks run on what it left. Each command must
exit as expected and show what is listed for it below, so an example that stops working, or a README line
nobody here has said what it must show, fails the suite. A block preceded by `<!-- readme-test: skip (why) -->`
is not run (it needs real Slack tokens). No network: the offline extractor and the embedded CRM.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The Quick start's first line installs, then uses what it installed; the suite is already installed.
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e . && "
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -q"
ACTIVATE = ". .venv/bin/activate"
SKIP = re.compile(r"<!-- readme-test: skip \(.+\) -->\s*$")


@dataclass
class Expect:
    code: int = 0
    shows: tuple[str, ...] = ()  # literal text the output must contain
    matches: tuple[str, ...] = ()  # regular expressions the output must match
    file: tuple[str, str] | None = None  # (path, text it must contain) after the command


# (section, command) -> what it must show. The section is the README's `## ` heading above the block.
EXPECT: dict[tuple[str, str], Expect] = {
    ("Quick start", ".venv/bin/scout demo && .venv/bin/scout run --cap 212"): Expect(
        shows=("212 deals, 466 notes", "scanned 212/212 (cap 212)")),  # and the README's sample output, below
    ("Quick start", ACTIVATE): Expect(),
    ("Quick start", "scout log"): Expect(matches=(r"\n +1 +pass +DRY RUN .* 212/212 \(cap 212\)",)),
    ("Quick start", "scout log 1"): Expect(shows=("would_write", "Acme Corp — Platform renewal", "scout_metrics")),
    ("Quick start", 'scout deal "acme corp - platform renewal"'): Expect(
        shows=("Acme Corp — Platform renewal (d0001)", "economic_buyer", "last scanned: ")),
    ("Quick start", "scout deal d0001"): Expect(shows=("Acme Corp — Platform renewal (d0001)",)),
    ("Quick start", "scout deal pilot"): Expect(
        code=5, shows=("'pilot' matches 24 deals:", "  d0159  Globex — Pilot", "  and 19 more",
                       "Pick one by its id, e.g. `scout deal ")),
    ("Quick start", "scout setup"): Expect(shows=("DRY RUN", "would_create", "Nothing was created")),
    ("Quick start", "LIVE_WRITES=1 scout setup --apply && LIVE_WRITES=1 scout run --apply"): Expect(
        shows=("LIVE: setup run 3", "scanned 50/212 (cap 50)", "run 4 · model offline-rules-1"),
        matches=(r"LIVE: [1-9]\d* written",)),
    ("Quick start", "scout undo last"): Expect(
        matches=(r"DRY RUN \(--apply was not given and LIVE_WRITES is not set\): undo of run 4 \(run 5\): 0 reverted, [1-9]\d* would-revert",)),
    ("Quick start", "LIVE_WRITES=1 scout undo last --apply"): Expect(
        matches=(r"LIVE: undo of run 4 \(run 6\): [1-9]\d* reverted, 0 would-revert, 0 conflicts, 0 failed",)),

    ("Rehearse on your own data", "export SCOUT_DATA_DIR=./rehearsal"): Expect(),
    ("Rehearse on your own data", "scout import deals.csv --notes notes.csv"): Expect(
        shows=("2 deals, 2 notes",), matches=(r"'Economic Buyer' +economic_buyer \(person\)",)),
    ("Rehearse on your own data", "scout check"): Expect(code=4, shows=("2 visible", "scout_metrics missing")),
    ("Rehearse on your own data", "scout run"): Expect(shows=("DRY RUN", "scanned 2/2")),
    ("Rehearse on your own data", "scout log 1"): Expect(shows=("would_write", "Blackline")),
    ("Rehearse on your own data", "LIVE_WRITES=1 scout setup --apply && LIVE_WRITES=1 scout run --apply"): Expect(
        shows=("LIVE: setup run", "scanned 2/2"), matches=(r"LIVE: [1-9]\d* written",)),
    ("Rehearse on your own data", "scout export suggestions.jsonl"): Expect(
        file=("suggestions.jsonl", '"scout_competition": "Blackline"')),

    ("Deploy", "scout db status"): Expect(shows=("(the newest)",)),
    ("Deploy", "scout db upgrade"): Expect(shows=("nothing to do",)),
    ("Connecting a CRM", "scout check"): Expect(shows=("Ready: Scout can run here",)),
    ("Connecting a CRM", "scout setup"): Expect(shows=("scout_champion", " exists")),
    ("Connecting a CRM", "LIVE_WRITES=1 scout setup --apply"): Expect(shows=("LIVE: setup run",)),
    ("Connecting a CRM", "scout run"): Expect(shows=("DRY RUN (--apply was not given and LIVE_WRITES is not set)",
                                                     "scanned 50/212 (cap 50)")),

    # A method on its own copy of the demo (the export lasts for its block only).
    ("Connecting a CRM", "export SCOUT_DATA_DIR=./meddpicc SCOUT_METHOD=meddpicc"): Expect(),
    ("Connecting a CRM", "scout demo && scout run --cap 212"): Expect(
        shows=("212 deals, 466 notes", "scanned 212/212 (cap 212)"), matches=(r"[1-9]\d* would-write",)),
    ("Connecting a CRM", "scout deal d0001"): Expect(shows=("\nDecision process\n  rep   decision_process: ",)),
    ("Connecting a CRM", "printf '[concepts.implementation_partner]\\ndescription = \"The systems integrator who "
                         "will roll the product out.\"\\n' > partner.toml"): Expect(
        file=("partner.toml", 'description = "The systems integrator who will roll the product out."')),
    ("Connecting a CRM", "SCOUT_FIELD_MAP=partner.toml scout setup"): Expect(
        shows=("DRY RUN", "scout_decision_process", "scout_implementation_partner")),
    ("Connecting a CRM", "SCOUT_FIELD_MAP=partner.toml scout check"): Expect(
        code=4, shows=("the offline rules do not extract implementation_partner",)),
    ("Connecting a CRM", "scout eval --method meddpicc"): Expect(shows=("split test", "decision_process")),

    # The Quick start has already reverted its live pass: undoing it again restores nothing more.
    ("Going live", "scout undo last"): Expect(matches=(r"undo of run 4 \(run \d+\): .* [1-9]\d* already reverted",)),
    ("Going live", "LIVE_WRITES=1 scout undo last --apply"): Expect(
        matches=(r"LIVE: undo of run 4 \(run \d+\): 0 reverted, .* [1-9]\d* already reverted",)),
}

# A small HubSpot export with every MEDIC column, so the rehearsal's live pass has the rep fields it needs.
DEALS_CSV = (
    "Record ID,Deal Name,Deal Stage,Amount,Create Date,Metrics,Economic Buyer,Decision Criteria,"
    "Identified Pain,Champion,Paper Process,Competition\r\n"
    "1001,Acme Corp — Platform,Appointment Scheduled,120000,2026-09-01 09:00,,Dana Ruiz,,,,,\r\n"
    "1002,Globex — Expansion,Contract Sent,80000,2026-09-02 10:30,,,,,,,\r\n"
)
NOTES_CSV = (
    "Record ID,Activity date,Created by,Note body,Associated Deal IDs\r\n"
    '5001,2026-09-04 15:00,Alex Rep,"<p>Discovery call. Dana Ruiz, the CFO, holds the budget.</p>",1001\r\n'
    "5002,2026-09-05 16:30,Sam Lee,<p>Globex intro. They are also evaluating Blackline.</p>,1002\r\n"
)


@dataclass
class Block:
    section: str
    lines: list[str]
    skipped: bool = False


@dataclass
class Ran:
    command: str
    code: int
    output: str = field(repr=False)


def command_of(line: str) -> str:
    """A README line without its trailing `# comment`."""
    return re.split(r"\s+#\s", line, maxsplit=1)[0].strip()


def sh_blocks(text: str) -> list[Block]:
    blocks, section, previous = [], "", ""
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line[3:].strip()
        if line.strip() == "```sh":
            body = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                body.append(inner)
            commands = [command_of(b) for b in body if b.strip() and not b.lstrip().startswith("#")]
            blocks.append(Block(section, commands, skipped=bool(SKIP.match(previous))))
        if line.strip():
            previous = line
    return blocks


def sample_output(text: str) -> list[str]:
    """The lines the Quick start says its first command ends with."""
    after = text.split("the first command ends with:", 1)[1]
    return re.search(r"```\n(.*?)```", after, re.S).group(1).strip().splitlines()


def environment(venv_bin: Path) -> dict[str, str]:
    """A user's shell: none of Scout's settings, and `scout` on PATH only after `. .venv/bin/activate`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SCOUT_", "SLACK_", "HUBSPOT_", "ATTIO_", "ANTHROPIC_"))
           and k not in ("LIVE_WRITES", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and Path(p).resolve() != venv_bin.resolve())
    return env


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> list[Ran]:
    """One bash per block (an `export` lasts for its block), each command followed by a marker with its exit code.
    After the Quick start, a block runs in a shell that sourced `.venv/bin/activate`, as the README says."""
    script = "" if block.section == "Quick start" else f"{ACTIVATE}\n"
    script += "".join(f"{command}\nprintf '\\n@@readme-test %d\\n' $?\n" for command in block.lines)
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    parts = re.split(r"\n@@readme-test (\d+)\n", done.stdout)
    ran = [Ran(command, int(code), output) for command, output, code in zip(block.lines, parts[0::2], parts[1::2])]
    assert len(ran) == len(block.lines), f"the block under '{block.section}' stopped early:\n{done.stdout[-2000:]}"
    return ran


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_every_sh_example_in_the_readme_runs_as_written(readme, tmp_path):
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "scout").exists(), f"`scout` is not installed next to {sys.executable}: pip install -e ."
    # The Quick start's `.venv`: the environment this suite runs in (nothing here re-creates it).
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    (tmp_path / "notes.csv").write_text(NOTES_CSV, encoding="utf-8")
    env = environment(venv_bin)

    blocks = [b for b in sh_blocks(readme) if not b.skipped]
    quick = blocks[0]
    assert quick.section == "Quick start" and quick.lines[0].startswith(INSTALL) and quick.lines[1] == TEST_COMMAND
    quick.lines = [quick.lines[0].removeprefix(INSTALL)] + quick.lines[2:]  # the suite is CI's job (.ci/run)

    listed = {(b.section, line) for b in blocks for line in b.lines}
    unexplained = sorted(listed - set(EXPECT))
    assert not unexplained, f"README commands with no expectation in tests/test_readme.py: {unexplained}"
    assert not set(EXPECT) - listed, f"expectations for commands the README no longer has: {set(EXPECT) - listed}"

    for block in blocks:
        for ran in run_block(block, tmp_path, env):
            expect = EXPECT[(block.section, ran.command)]
            where = f"README ({block.section}): `{ran.command}` printed:\n{ran.output}"
            assert ran.code == expect.code, f"exit {ran.code}, expected {expect.code}. {where}"
            assert "Traceback" not in ran.output, where
            for text in expect.shows:
                assert text in ran.output, f"{text!r} missing. {where}"
            for pattern in expect.matches:
                assert re.search(pattern, ran.output), f"no match for {pattern!r}. {where}"
            if expect.file:
                name, text = expect.file
                assert text in (tmp_path / name).read_text(encoding="utf-8"), f"{name} lacks {text!r}"
            if ran.command == quick.lines[0]:
                for line in sample_output(readme):
                    assert line in ran.output, f"the README's sample output line {line!r} is not printed. {where}"


def test_ci_runs_exactly_the_readme_test_command(readme):
    assert TEST_COMMAND in readme.splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert TEST_COMMAND in ci and ci[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in ci
