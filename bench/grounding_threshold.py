"""Figures behind `MIN_CONTENT_SHARE` (engine/extract/grounding.py), on the eval set's dev split only.

    python bench/grounding_threshold.py            # dev split (the one to tune on)
    python bench/grounding_threshold.py --split test

For every free-text label (metrics, identified_pain, competition) it takes the sentence of the note that
holds the label's verbatim phrasing, as a truthful model would quote it, and measures the share of content
words each accepted phrasing shares with that sentence. Against that it measures fabricated values: every
other note's labels attached to the same sentence (a model that files another deal's pain under a genuine
quote), by the share alone and together with the number rule that runs first. A good threshold keeps the
honest phrasings and drops the fabricated ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.evaluate import load_split  # noqa: E402
from engine.extract.grounding import MIN_CONTENT_SHARE, Excerpt, content_share, missing_numbers  # noqa: E402
from engine.extract.normalise import normalise  # noqa: E402
from engine.extract.offline import split_sentences  # noqa: E402
from engine.models import Concept  # noqa: E402

FREE_TEXT = (Concept.METRICS, Concept.IDENTIFIED_PAIN, Concept.COMPETITION)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    deals = load_split(args.split)
    quotes: list[tuple[str, Concept, str]] = []  # (note id, concept, the sentence stating it)
    first: list[float] = []  # the verbatim phrasing, as the prompt asks for
    honest: list[float] = []  # every accepted phrasing, paraphrases included
    labels: list[tuple[str, Concept, str]] = []
    for deal in deals:
        for note in deal.notes:
            for concept, values in deal.labels.get(note.id, {}).items():
                if concept not in FREE_TEXT:
                    continue
                verbatim = next(v for v in values if normalise(v).lower() in normalise(note.text).lower())
                sentence = next((note.text[a:b] for a, b in split_sentences(note.text)
                                 if normalise(verbatim).lower() in normalise(note.text[a:b]).lower()), verbatim)
                excerpt = Excerpt.of(sentence)
                first.append(content_share(verbatim, excerpt))
                honest += [content_share(v, excerpt) for v in values]
                quotes.append((note.id, concept, sentence))
                labels += [(note.id, concept, v) for v in values]
    # (share, whether its numbers are all in the sentence too: the number rule runs before this one)
    fabricated = [(content_share(value, Excerpt.of(sentence)), not missing_numbers(value, Excerpt.of(sentence)))
                  for note_id, concept, sentence in quotes
                  for other_id, other_concept, value in labels
                  if other_id != note_id and other_concept is concept]

    def kept(shares: list[float], t: float) -> str:
        return f"{sum(s >= t for s in shares) / len(shares):6.1%}"

    print(f"split {args.split}: {len(first)} free-text labels, {len(honest)} accepted phrasings, "
          f"{len(fabricated)} fabricated values (another note's label on a genuine sentence)")
    print(f"{'threshold':>9}  {'verbatim kept':>13}  {'phrasings kept':>14}  {'fabricated kept':>15}  "
          f"{'... and past the number rule':>28}")
    for t in THRESHOLDS:
        mark = "  <- MIN_CONTENT_SHARE" if t == MIN_CONTENT_SHARE else ""
        words = [share for share, _ in fabricated]
        both = [share if numbers_ok else 0.0 for share, numbers_ok in fabricated]
        print(f"{t:>9.1f}  {kept(first, t):>13}  {kept(honest, t):>14}  {kept(words, t):>15}  "
              f"{kept(both, t):>28}{mark}")


if __name__ == "__main__":
    main()
