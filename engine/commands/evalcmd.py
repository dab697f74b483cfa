"""scout eval: score an extractor on the labelled evaluation set in eval/ (see eval/README.md).

The set lives in the source checkout, next to the `engine` package, so the command works from a clone
installed in editable mode (`pip install -e .`); elsewhere, `--data-dir` points at a copy of eval/.
The set is labelled against the built-in methods' default fields (MEDIC's seven concepts plus meddpicc's
decision_process), so the run uses `--method`'s built-in map, not the workspace's field map.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.commands import EXIT_OK, EXIT_USAGE, CommandError
from engine.commands.tables import Col, render, stdout_is_terminal
from engine.evaluate import DEFAULT_DATA_DIR, EvalReport, Rates, evaluate
from engine.extract.base import Extractor
from engine.extract.pricing import format_cost
from engine.medic import method_field_map
from engine.settings import Settings
from engine.wiring import build_extractor


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
    if kind == "claude" and settings.anthropic_api_key is None:
        raise CommandError("`scout eval --extractor claude` needs ANTHROPIC_API_KEY to be set", EXIT_USAGE)
    return build_extractor(settings, "claude" if kind == "claude" else "offline")


def _rate(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


RATE_COLS = [Col("concept"), *(Col(h, "right") for h in ("found", "pred", "tp", "fp", "gold", "fn", "prec", "rec",
                                                           "f1", "cite"))]


def format_table(report: EvalReport, *, terminal: bool = False) -> str:
    """The summary as tables (rich on a terminal, plain columns otherwise); `--json` has everything."""
    head = (f"Scout eval: split {report.split} ({report.deals} deals, {report.notes} notes), "
            f"model {report.model}, prompt {report.prompt_version}")
    def row(name: str, r: Rates) -> list[object]:
        return [name, r.findings, r.predictions, r.tp, r.fp, r.labelled, r.fn, _rate(r.precision), _rate(r.recall),
                _rate(r.f1), _rate(r.citation_validity)]

    rows = [row(str(concept), rates) for concept, rates in report.per_concept.items()]
    lines = [head, "", render(RATE_COLS, [*rows, row("overall", report.overall)], terminal=terminal,
                              sections=[len(rows)]),
             "found: findings returned; pred: what survives the citation check and field coercion (one per "
             "option); gold: labelled units; cite: share of found whose excerpt verifies and states the value", ""]
    lines.append(f"superseded facts filed correctly: {report.superseded_correct}/{report.superseded_total}")
    if report.drops:
        lines.append("drops by reason:")
        lines.append(render([Col("reason", max_width=70), Col("count", "right")], list(report.drops.items()),
                            terminal=terminal, indent=2))
    else:
        lines.append("drops by reason: none")
    u = report.usage
    lines.append(f"tokens: input {u.input_tokens}, output {u.output_tokens}, cache read {u.cache_read_tokens}, "
                 f"cache write {u.cache_write_tokens}; estimated cost {format_cost(report.cost_usd, report.model)}")
    lines.append(f"latency per deal: mean {report.latency.mean_s:.3f}s, median {report.latency.p50_s:.3f}s, "
                 f"max {report.latency.max_s:.3f}s")
    if report.errors:
        lines.append(f"extraction errors: {report.errors} deal(s)")
        lines += [f"  {r.deal_id} {r.name}: {r.error}" for r in report.per_deal if r.error]
    return "\n".join(lines)


def _per_deal_line(report: EvalReport) -> str:
    deals = max(report.deals, 1)
    cost = None if report.cost_usd is None else report.cost_usd / deals
    return (f"per deal: {report.usage.input_tokens / deals:.0f} input and {report.usage.output_tokens / deals:.0f} "
            f"output tokens, estimated {format_cost(cost, report.model)}, {report.latency.mean_s:.2f}s")


async def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    data_dir = _data_dir(args)
    extractor = _extractor(args.extractor, settings)
    try:
        report = await evaluate(extractor, split=args.split, field_map=method_field_map(args.method), data_dir=data_dir)
    except ValueError as exc:  # a malformed split file: name the file and line, not a traceback
        raise CommandError(str(exc).splitlines()[0], EXIT_USAGE) from exc
    finally:
        close = getattr(extractor, "aclose", None)
        if close is not None:
            await close()
    if args.json:
        print(report.model_dump_json(indent=2))
        return EXIT_OK
    print(format_table(report, terminal=stdout_is_terminal()))
    if args.extractor == "claude":
        print(_per_deal_line(report))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score an extractor on the labelled evaluation set (precision, recall, cost)")
    p.add_argument("--extractor", choices=("offline", "claude"), default="offline",
                   help="which extractor to score (default offline; claude needs ANTHROPIC_API_KEY and spends tokens)")
    p.add_argument("--split", choices=("dev", "test"), default="test",
                   help="dev is for tuning, test is the held-out figure (default test)")
    p.add_argument("--method", choices=("medic", "meddpicc"), default="medic",
                   help="whose concepts to score: medic (default, the seven) or meddpicc (adds decision_process)")
    p.add_argument("--json", action="store_true", help="the full report, per deal and per mistake, as JSON")
    p.add_argument("--data-dir", help=f"directory holding <split>.jsonl (default {DEFAULT_DATA_DIR})")
    p.set_defaults(func=cmd_eval)
