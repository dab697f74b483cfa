"""The cached prompt prefix: long enough that every current model caches it, and its worked examples teach the
rules they state (their excerpts pass Scout's own citation check)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from engine.extract.cache import CacheKeys
from engine.extract.citations import verify_citations
from engine.extract.claude import PROMPT_VERSION, TOOL_NAME, ClaudeExtractor, system_prompt, tool_definition
from engine.extract.prompt_examples import WORKED_EXAMPLES
from engine.medic import default_field_map
from engine.models import Finding, Note
from tests.standins.anthropic_api import AnthropicStandIn
from tests.samples import DEAL, GOOD_INPUT, NOTES

FIELD_MAP = default_field_map()
# The largest minimum cacheable prefix any model in the price table is documented or reported to need: 4,096
# tokens (Haiku 4.5, Opus 4.5/4.6); Sonnet 4.6 was reported to cache only from 2,048, Sonnet 5.5 documents 512.
LARGEST_MINIMUM = 4_096
NUMBER = r"\d+(?:[.,]\d+)*"


def cached_prefix(field_map=FIELD_MAP) -> str:
    """What the cache breakpoint on the system block covers: the tools, then the system text."""
    return json.dumps([tool_definition(field_map)]) + system_prompt(field_map)


def test_the_cached_prefix_is_above_every_current_models_minimum():
    prefix = cached_prefix()
    # Two conservative lower bounds on its token count: English runs at about 4 characters a token on the older
    # tokenizers (Sonnet 5's produces ~30% more tokens for the same text), and a word is never less than one token.
    by_chars, by_words = len(prefix) // 4, len(prefix.split())
    print(f"cached prefix: {len(prefix)} characters, >= {by_chars} tokens by chars/4, >= {by_words} by words")
    assert by_chars >= LARGEST_MINIMUM
    assert by_words >= 2_048


def example_notes_and_answers() -> tuple[list[Note], list[Finding]]:
    when = datetime(2026, 3, 1, tzinfo=timezone.utc)
    notes = [Note(id=m.group(1), deal_id="example", created_at=when, text=m.group(2))
             for m in re.finditer(r'Note (ex\w+)(?: part=\S+)? \([\d-]+\): "(.*?)"\n(?=Correct|Note)',
                                  WORKED_EXAMPLES, re.S)]
    answers = [json.loads(m.group(1)) for m in
               re.finditer(r'Correct input:\n(\{"findings": \[\]\}|\{.*?\n\]\})', WORKED_EXAMPLES, re.S)]
    findings = [Finding.model_validate(f) for a in answers for f in a["findings"]]
    return notes, findings


def test_every_worked_example_passes_the_citation_check_it_teaches():
    notes, findings = example_notes_and_answers()
    assert len(notes) >= 14 and len(findings) >= 14
    kept, dropped = verify_citations(findings, notes, FIELD_MAP)
    assert dropped == [] and len(kept) == len(findings)
    for f in findings:  # values in the excerpt's own words: every number in a value is in its excerpt
        assert set(re.findall(NUMBER, str(f.value))) <= set(re.findall(NUMBER, f.excerpt)), f


def test_the_prompt_asks_for_values_in_the_excerpts_own_words():
    text = system_prompt(FIELD_MAP)
    for rule in ("in the excerpt's own words", "a name exactly as the excerpt writes it",
                 "a number exactly as the excerpt writes it", "an option only", "when the excerpt states it",
                 "Never answer with a placeholder", f"Always answer by calling {TOOL_NAME}, exactly once"):
        assert rule in text, rule


def test_the_prompt_version_is_part_of_the_cache_key():
    standin = AnthropicStandIn()
    key = CacheKeys(ClaudeExtractor(standin.client(), model="m", max_tokens=1024), FIELD_MAP).key(DEAL, NOTES)
    assert key.endswith(f"|m|{PROMPT_VERSION}") and PROMPT_VERSION == "claude-v3"


async def test_a_thinking_block_before_the_tool_call_is_read_past():
    # Current models think adaptively by default: the call comes after a thinking block.
    standin = AnthropicStandIn()
    thinking = {"type": "thinking", "thinking": "The CFO signs.", "signature": "sig"}
    call = {"type": "tool_use", "id": "toolu_1", "name": TOOL_NAME, "input": GOOD_INPUT}
    standin.queue_message([thinking, call], "tool_use")

    result = await ClaudeExtractor(standin.client(), model="claude-sonnet-5-5", max_tokens=1024).extract(
        DEAL, NOTES, FIELD_MAP)

    assert len(result.findings) == 3
