"""Benchmark: the citation check (engine.extract.citations.verify_citations) on one deal with a long note.

    python bench/bench_citations.py                 # a 5 MB note, 1..64 findings citing it
    python bench/bench_citations.py --mb 20 -f 1,16

The check normalises each note once per deal, so its time is one pass over the note plus a little per finding:
the time for 64 findings should be close to the time for 1 (issue 10: a 5 MB note once took 30 s for a deal).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.extract.citations import verify_citations  # noqa: E402
from engine.medic import default_field_map  # noqa: E402
from engine.models import Concept, Finding, Note  # noqa: E402

FILLER = ("Weekly sync with the ops team about rollout timing, training slots and the next steering call. "
          "They asked about SSO, data export and whether the dashboards can be shared with finance.\n")


def long_note(megabytes: float) -> tuple[Note, list[str]]:
    """A note of about `megabytes` MB of filler with a distinct, quotable sentence every so often."""
    parts, quotes, size, i = [], [], 0, 0
    while size < megabytes * 1_000_000:
        quote = f"Update {i}: month-end close takes {i % 30 + 2} days because invoices are matched by hand."
        block = FILLER * 40 + quote + "\n"
        parts.append(block)
        quotes.append(quote)
        size += len(block)
        i += 1
    return Note(id="n1", deal_id="d1", created_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
                text="".join(parts)), quotes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("-f", "--findings", default="1,8,64")
    args = parser.parse_args()
    note, quotes = long_note(args.mb)
    field_map = default_field_map()
    print(f"note: {len(note.text) / 1e6:.1f} MB, {len(quotes)} quotable sentences")
    print(f"{'findings':>8}  {'seconds':>8}  {'per finding':>11}  kept")
    for n in (int(x) for x in args.findings.split(",")):
        picks = [quotes[(k * 7919) % len(quotes)] for k in range(n)]  # spread over the whole note
        findings = [Finding(concept=Concept.IDENTIFIED_PAIN, value=q.split(": ", 1)[1], note_id="n1", excerpt=q)
                    for q in picks]
        started = time.perf_counter()
        kept, _ = verify_citations(findings, [note], field_map)
        took = time.perf_counter() - started
        print(f"{n:>8}  {took:>8.3f}  {took / n:>11.4f}  {len(kept)}/{n}")


if __name__ == "__main__":
    main()
