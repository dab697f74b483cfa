"""The one place Claude prices live: USD per million tokens, per pinned model id.

Prices change, so keep this table the only copy. Figures are the list prices on Anthropic's pricing page
(platform.claude.com/docs/en/about-claude/pricing) for standard requests with 5-minute prompt
caching: a cache write costs 1.25x input, a cache read 0.1x input unless a model page says otherwise
(Sonnet 5.5 reads at 0.05x). Long-context surcharges (above 200K input tokens on some models) are not
modelled: one deal's notes stay far below that.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from engine.models import Usage

_PER_TOKEN = 1 / 1_000_000
# Message Batches bill every token kind (input, output, cache reads and writes) at half the standard price.
BATCH_PRICE_FACTOR = 0.5


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True)

    input: float
    output: float
    cache_write: float
    cache_read: float


def _standard(input_usd: float, output_usd: float, cache_read: float | None = None) -> ModelPrice:
    return ModelPrice(input=input_usd, output=output_usd, cache_write=input_usd * 1.25,
                      cache_read=input_usd * 0.1 if cache_read is None else cache_read)


_SONNET_4 = _standard(3.0, 15.0)
_HAIKU_4 = _standard(1.0, 5.0)
_OPUS_4 = _standard(5.0, 25.0)

# Checked on 2026-12-01 against Anthropic's models overview and model pages (platform.claude.com/docs/about-claude/
# models/overview; models/sonnet-5-5/migration-guide): Sonnet 5.5 $2/$10 with cache reads at $0.10 (half Sonnet
# 5's $0.20); Opus 5.5 $4/$20; Fable 5.1 $10/$50; Haiku 5.5 from $0.10/$0.50 (its lower band, prompts up to 100K
# tokens, which one deal's request stays far below).
PRICES: dict[str, ModelPrice] = {
    "claude-sonnet-5-5": _standard(2.0, 10.0, cache_read=0.10),  # engine.settings.DEFAULT_MODEL
    "claude-sonnet-5": _standard(2.0, 10.0),
    "claude-opus-5-5": _standard(4.0, 20.0),
    "claude-opus-5": _OPUS_4,
    "claude-fable-5-1": _standard(10.0, 50.0),
    "claude-haiku-5-5": _standard(0.10, 0.50),
    "claude-sonnet-4-5-20250929": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-6": _SONNET_4,
    "claude-haiku-4-5-20251001": _HAIKU_4,
    "claude-haiku-4-5": _HAIKU_4,
    "claude-opus-4-5-20251101": _OPUS_4,
    "claude-opus-4-5": _OPUS_4,
    "claude-opus-4-6": _OPUS_4,
    "claude-opus-4-7": _OPUS_4,
    "claude-opus-4-8": _OPUS_4,
}


def price_for(model: str) -> ModelPrice | None:
    """None for a model the table does not know: callers that show a cost should say it is unpriced."""
    return PRICES.get(model)


def estimate_cost(model: str, usage: Usage, batch: bool = False) -> float | None:
    """Estimated USD for `usage` on `model`: 0.0 when nothing was spent (the offline extractor, cache hits),
    None when tokens were spent on a model the table does not know. Show None as "unpriced", never "$0.00".

    `batch`: the tokens were spent through the Message Batches API, at BATCH_PRICE_FACTOR of the list price.
    """
    if usage == Usage():
        return 0.0
    price = price_for(model)
    if price is None:
        return None
    standard = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) * _PER_TOKEN
    return standard * BATCH_PRICE_FACTOR if batch else standard


def format_cost(cost: float | None, model: str, digits: int = 4) -> str:
    """"$0.0123", or "unpriced (MODEL is not in the price table)": one wording for the summary, log and eval."""
    if cost is None:
        return f"unpriced ({model} is not in engine/extract/pricing.py)"
    return f"${cost:.{digits}f}"
