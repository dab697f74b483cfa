"""scout eval: score an extractor on the labelled evaluation set in eval/ (see eval/README.md).

The set lives in the source checkout, next to the `engine` package, so the command works from a clone
installed in editable mode (`pip install -e .`); elsewhere, `--data-dir` points at a copy of eval/.
The set is labelled against the default MEDIC field map, so the run uses that map, not the workspace's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands import EXIT_OK, EXIT_USAGE, CommandError
from engine.evaluate import DEFAULT_DATA_DIR, EvalReport, evaluate, format_table
from engine.extract.base import Extractor
from engine.extract.pricing import format_cost
from engine.medic import default_field_map
from engine.settings import Settings


def _data_dir(args: argparse.Namespace) -> Path:
    path = Path(args.data_dir) if args.data_dir else DEFAULT_DATA_DIR
    if not (path / f"{args.split}.jsonl").is_file():
        raise CommandError(
            f"no evaluation set at {path / f'{args.split}.jsonl'}: `scout eval` needs the eval/ directory of a "
            "source checkout (pip install -e .) or --data-dir DIR",
            EXIT_USAGE,
        )
    return path


def _extractor(kind: str, settings: Settings) -> Extractor:
    if kind == "claude":
        if settings.anthropic_api_key is None:
            raise CommandError("`scout eval --extractor claude` needs ANTHROPIC_API_KEY to be set", EXIT_USAGE)
        from engine.extract.claude import ClaudeExtractor

        return ClaudeExtractor.from_settings(settings)
    from engine.extract.offline import OfflineExtractor

    return OfflineExtractor()


def _per_deal_line(report: EvalReport) -> str:
    deals = max(report.deals, 1)
    cost = None if report.cost_usd is None else report.cost_usd / deals
    return (f"per deal: {report.usage.input_tokens / deals:.0f} input and {report.usage.output_tokens / deals:.0f} "
            f"output tokens, estimated {format_cost(cost, report.model)}, {report.latency.mean_s:.2f}s")


async def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    data_dir = _data_dir(args)
    extractor = _extractor(args.extractor, settings)
    try:
        report = await evaluate(extractor, split=args.split, field_map=default_field_map(), data_dir=data_dir)
    except ValueError as exc:  # a malformed split file: name the file and line, not a traceback
        raise CommandError(str(exc).splitlines()[0], EXIT_USAGE) from exc
    finally:
        close = getattr(extractor, "aclose", None)
        if close is not None:
            await close()
    if args.json:
        print(report.model_dump_json(indent=2))
        return EXIT_OK
    print(format_table(report))
    if args.extractor == "claude":
        print(_per_deal_line(report))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score an extractor on the labelled evaluation set (precision, recall, cost)")
    p.add_argument("--extractor", choices=("offline", "claude"), default="offline",
                   help="which extractor to score (default offline; claude needs ANTHROPIC_API_KEY and spends tokens)")
    p.add_argument("--split", choices=("dev", "test"), default="test",
                   help="dev is for tuning, test is the held-out figure (default test)")
    p.add_argument("--json", action="store_true", help="the full report, per deal and per mistake, as JSON")
    p.add_argument("--data-dir", help=f"directory holding <split>.jsonl (default {DEFAULT_DATA_DIR})")
    p.set_defaults(func=cmd_eval)
