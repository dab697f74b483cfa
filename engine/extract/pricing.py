"""The one place Claude prices live: USD per million tokens, per pinned model id.

Prices change, so keep this table the only copy. Figures are the list prices on Anthropic's pricing page
(platform.claude.com/docs/en/about-claude/pricing) for standard requests with 5-minute prompt
caching: a cache write costs 1.25x input, a cache read 0.1x input. Long-context surcharges (above 200K
input tokens on some models) are not modelled: one deal's notes stay far below that.
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


def _standard(input_usd: float, output_usd: float) -> ModelPrice:
    return ModelPrice(input=input_usd, output=output_usd, cache_write=input_usd * 1.25, cache_read=input_usd * 0.1)


_SONNET = _standard(3.0, 15.0)
_HAIKU = _standard(1.0, 5.0)
_OPUS = _standard(5.0, 25.0)

PRICES: dict[str, ModelPrice] = {
    "claude-sonnet-4-5-20250929": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-sonnet-4-6": _SONNET,  # engine.settings.DEFAULT_MODEL
    "claude-haiku-4-5-20251001": _HAIKU,
    "claude-haiku-4-5": _HAIKU,
    "claude-opus-4-5-20251101": _OPUS,
    "claude-opus-4-5": _OPUS,
    "claude-opus-4-6": _OPUS,
    "claude-opus-4-7": _OPUS,
    "claude-opus-4-8": _OPUS,
    "claude-opus-5": _OPUS,
}


def price_for(model: str) -> ModelPrice | None:
    """None for a model the table does not know: callers that show a cost should say it is unpriced."""
    return PRICES.get(model)


def estimate_cost(model: str, usage: Usage, batch: bool = False) -> float:
    """Estimated USD for `usage` on `model`; 0.0 for the offline extractor or a model not in the table.

    `batch`: the tokens were spent through the Message Batches API, at BATCH_PRICE_FACTOR of the list price.
    """
    price = price_for(model)
    if price is None:
        return 0.0
    standard = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) * _PER_TOKEN
    return standard * BATCH_PRICE_FACTOR if batch else standard
