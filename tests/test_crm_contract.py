"""One contract every CRM adapter passes, run against each adapter's stand-in.

An adapter joins by providing `build_contract_env` in tests/standins/<name>.py (see tests/standins/contract.py).
Until its adapter module and stand-in exist, its parameter skips and says which file is missing.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest

from engine.crm.base import AuthError, CRMError, DealNotFound, FieldTypeConflict
from engine.fieldtypes import is_empty
from engine.medic import DECISION_CRITERIA_OPTIONS, PAPER_PROCESS_OPTIONS
from engine.models import FieldSpec, FieldType
from tests.standins.contract import (
    BASE,
    BLANK,
    CONTRACT_FIELDS,
    FULL,
    FULL_NAME,
    FULL_VALUES,
    GLOBEX,
    PLACEHOLDER,
    ContractEnv,
    contract_workspace,
)

ADAPTERS: dict[str, tuple[str, str]] = {
    "local": ("engine.crm.local", "tests.standins.local"),
    "attio": ("engine.crm.attio", "tests.standins.attio"),
    "hubspot": ("engine.crm.hubspot", "tests.standins.hubspot"),
    "salesforce": ("engine.crm.salesforce", "tests.standins.salesforce"),
}


def _import_or_skip(module: str) -> Any:
    """Skip only when the module itself is missing; a module that exists but fails to import is a real error."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            pytest.skip(f"{module.replace('.', '/')}.py is not written yet")
        raise


@pytest.fixture(params=list(ADAPTERS))
async def env(request: pytest.FixtureRequest, tmp_path) -> ContractEnv:
    adapter_module, standin_module = ADAPTERS[request.param]
    _import_or_skip(adapter_module)
    standin = _import_or_skip(standin_module)
    built: ContractEnv = await standin.build_contract_env(tmp_path)
    yield built
    await built.close()


def need(env: ContractEnv, hook: str) -> Any:
    value = getattr(env, hook)
    if value is None:
        pytest.skip(env.unsupported.get(hook, f"{hook} does not apply to this adapter"))
    return value


async def seeded(env: ContractEnv, **kwargs: Any) -> dict[str, str]:
    return await env.seed(contract_workspace(env.field_types, **kwargs))


# ---- reading ---------------------------------------------------------------------------------------


async def test_pages_through_more_deals_than_a_page(env: ContractEnv) -> None:
    bulk = max(env.page_size * 2 + 3, 5)
    ids = await seeded(env, bulk=bulk)
    refs = [ref async for ref in env.crm.iter_deal_refs()]
    assert len(refs) == len(ids), "every deal once, none twice"
    assert {r.id for r in refs} == set(ids.values())
    by_id = {r.id: r.name for r in refs}
    assert by_id[ids[FULL]] == FULL_NAME
    assert by_id[ids["d-bulk-000"]] == "Bulk Deal 000"
    assert await env.crm.count_deals() == len(ids)


async def test_notes_are_plain_text_oldest_first_per_deal(env: ContractEnv) -> None:
    count = max(env.note_page_size + 1, 3)
    ids = await seeded(env, full_notes=count)
    notes = await env.crm.list_notes(ids[FULL])
    assert [n.text for n in notes] == [
        f"Call {i + 1} summary.\nThe CFO said budget is approved for Q{(i % 4) + 1}." for i in range(count)
    ]
    # Timezone-aware and the instant the note was written, whatever the vendor's timestamp format.
    assert [n.created_at for n in notes] == [BASE + timedelta(days=i + 1) for i in range(count)]
    assert {n.deal_id for n in notes} == {ids[FULL]}
    assert len({n.id for n in notes}) == count
    assert [n.text for n in await env.crm.list_notes(ids[GLOBEX])] == ["Globex intro call."]
    assert await env.crm.list_notes(ids[BLANK]) == []


async def test_field_specs_report_each_type(env: ContractEnv) -> None:
    await seeded(env)
    specs = await env.crm.field_specs()
    for field_type in env.field_types:
        spec = CONTRACT_FIELDS[field_type]
        assert spec.name in specs, f"{spec.name} missing from field_specs"
        assert specs[spec.name].type is field_type, f"{spec.name}: {specs[spec.name].type} != {field_type}"
    if FieldType.SELECT in env.field_types:
        assert set(specs["c_select"].options) == set(PAPER_PROCESS_OPTIONS)
    if FieldType.MULTI_SELECT in env.field_types:
        assert set(specs["c_multi"].options) == set(DECISION_CRITERIA_OPTIONS)


async def test_emptiness_per_type_after_decoding(env: ContractEnv) -> None:
    ids = await seeded(env)
    full = await env.crm.get_deal(ids[FULL])
    blank = await env.crm.get_deal(ids[BLANK])
    assert full.name == FULL_NAME
    for field_type in env.field_types:
        name = CONTRACT_FIELDS[field_type].name
        value = full.values.get(name)
        assert not is_empty(field_type, value), f"filled {name} decoded as empty: {value!r}"
        assert is_empty(field_type, blank.values.get(name)), f"blank {name} decoded as {blank.values.get(name)!r}"
        expected = FULL_VALUES[field_type]
        if field_type is FieldType.MULTI_SELECT:
            assert sorted(value) == sorted(expected)
        elif field_type is FieldType.NUMBER:
            assert isinstance(value, float) and value == expected
        elif field_type in (FieldType.PERSON, FieldType.RECORD):
            assert isinstance(value, str) and value.strip()
        else:
            assert value == expected, f"{name}: {value!r} != {expected!r}"
    if FieldType.TEXT in env.field_types:
        placeholder = await env.crm.get_deal(ids[PLACEHOLDER])
        assert placeholder.values.get("c_text") == "TBD"
        assert is_empty(FieldType.TEXT, placeholder.values["c_text"])


async def test_find_deals_best_match_first(env: ContractEnv) -> None:
    ids = await seeded(env)
    found = await env.crm.find_deals("acme corp renewal")
    assert found and found[0].id == ids[FULL]
    acme = await env.crm.find_deals("ACME")
    assert {d.id for d in acme} >= {ids[FULL], ids[BLANK]}
    assert ids[GLOBEX] not in {d.id for d in acme}
    assert [d.id for d in await env.crm.find_deals("globex")][:1] == [ids[GLOBEX]]



async def test_the_deal_lookup_finds_by_vendor_id_or_name_and_a_word_is_never_mistaken_for_a_bad_id(
    env: ContractEnv,
) -> None:
    """`scout deal` and `/scout` on every adapter: an id goes straight to its deal, a plain word that no id
    looks like (a vendor may answer 404 or 400 to it) falls through to the name search."""
    from engine.dealview import lookup
    from engine.medic import default_field_map

    ids = await seeded(env)
    fmap = default_field_map()
    by_id = await lookup(ids[GLOBEX], env.crm, None, None, fmap)
    assert by_id.view is not None and by_id.view.deal_id == ids[GLOBEX]
    by_name = await lookup("ACME CORP RENEWAL", env.crm, None, None, fmap)
    assert by_name.view is not None and by_name.view.deal_id == ids[FULL]
    word = await lookup("acme", env.crm, None, None, fmap)
    assert word.view is None and {c.deal_id for c in word.candidates} >= {ids[FULL], ids[BLANK]}

# ---- writing ---------------------------------------------------------------------------------------

SCOUT_MULTI = FieldSpec(
    name="scout_contract_multi", type=FieldType.MULTI_SELECT, label="Scout: criteria", options=DECISION_CRITERIA_OPTIONS
)
SCOUT_SELECT = FieldSpec(
    name="scout_contract_select", type=FieldType.SELECT, label="Scout: paper", options=PAPER_PROCESS_OPTIONS
)
SCOUT_TEXT = FieldSpec(name="scout_contract_text", type=FieldType.TEXT, label="Scout: text")
SCOUT_NUMBER = FieldSpec(name="scout_contract_number", type=FieldType.NUMBER, label="Scout: number")


async def test_create_field_is_idempotent_and_refuses_other_types(env: ContractEnv) -> None:
    await seeded(env)
    assert await env.crm.create_field(SCOUT_MULTI) is True
    assert await env.crm.create_field(SCOUT_MULTI) is False
    specs = await env.crm.field_specs()
    assert specs[SCOUT_MULTI.name].type is FieldType.MULTI_SELECT
    assert set(specs[SCOUT_MULTI.name].options) == set(DECISION_CRITERIA_OPTIONS)
    clash = FieldSpec(name=SCOUT_MULTI.name, type=FieldType.TEXT)
    with pytest.raises(FieldTypeConflict) as err:
        await env.crm.create_field(clash)
    assert SCOUT_MULTI.name in str(err.value)
    assert (await env.crm.field_specs())[SCOUT_MULTI.name].type is FieldType.MULTI_SELECT


async def test_set_field_changes_only_that_field(env: ContractEnv) -> None:
    ids = await seeded(env)
    for spec in (SCOUT_MULTI, SCOUT_SELECT, SCOUT_TEXT, SCOUT_NUMBER):
        await env.crm.create_field(spec)
    before_full = (await env.crm.get_deal(ids[FULL])).values
    before_other = (await env.crm.get_deal(ids[GLOBEX])).values

    await env.crm.set_field(ids[FULL], SCOUT_TEXT.name, "Budget approved by the CFO")
    await env.crm.set_field(ids[FULL], SCOUT_SELECT.name, "Legal review")
    await env.crm.set_field(ids[FULL], SCOUT_NUMBER.name, 250000.0)
    await env.crm.set_field(ids[FULL], SCOUT_MULTI.name, ["Price"])
    # A second write overwrites a multi-select rather than appending to it.
    await env.crm.set_field(ids[FULL], SCOUT_MULTI.name, ["Security", "Support"])

    after = (await env.crm.get_deal(ids[FULL])).values
    assert after[SCOUT_TEXT.name] == "Budget approved by the CFO"
    assert after[SCOUT_SELECT.name] == "Legal review"
    assert after[SCOUT_NUMBER.name] == 250000.0
    assert sorted(after[SCOUT_MULTI.name]) == ["Security", "Support"]
    touched = {SCOUT_TEXT.name, SCOUT_SELECT.name, SCOUT_NUMBER.name, SCOUT_MULTI.name}
    assert {k: v for k, v in after.items() if k not in touched} == {
        k: v for k, v in before_full.items() if k not in touched
    }
    assert (await env.crm.get_deal(ids[GLOBEX])).values == before_other

    await env.crm.set_field(ids[FULL], SCOUT_SELECT.name, None)
    await env.crm.set_field(ids[FULL], SCOUT_MULTI.name, None)
    cleared = (await env.crm.get_deal(ids[FULL])).values
    assert is_empty(FieldType.SELECT, cleared.get(SCOUT_SELECT.name))
    assert is_empty(FieldType.MULTI_SELECT, cleared.get(SCOUT_MULTI.name))
    assert cleared[SCOUT_TEXT.name] == "Budget approved by the CFO"


async def test_first_filled_finds_a_value_in_any_of_the_fields_or_says_none(env: ContractEnv) -> None:
    ids = await seeded(env)
    for spec in (SCOUT_TEXT, SCOUT_SELECT):
        await env.crm.create_field(spec)
    names = [SCOUT_TEXT.name, SCOUT_SELECT.name]
    assert await env.crm.first_filled(names) is None  # a new install: Scout has written nothing

    await env.crm.set_field(ids[GLOBEX], SCOUT_SELECT.name, "Legal review")

    assert await env.crm.first_filled(names) == (ids[GLOBEX], SCOUT_SELECT.name)
    assert await env.crm.first_filled([SCOUT_TEXT.name]) is None


# ---- faults ----------------------------------------------------------------------------------------


async def test_rate_limited_with_retry_after_then_success(env: ContractEnv) -> None:
    fail_next = need(env, "fail_next")
    ids = await seeded(env)
    refused_before = need(env, "refusals")()
    fail_next("get", 429, 2, 2.0)
    deal = await env.crm.get_deal(ids[FULL])
    assert deal.name == FULL_NAME
    assert env.refusals() - refused_before == 2
    # Backoff alone would wait at most 1 s for the first two retries: these waits came from Retry-After.
    assert len([s for s in env.sleeps if s >= 2.0]) >= 2, env.sleeps


async def test_server_error_then_success(env: ContractEnv) -> None:
    fail_next = need(env, "fail_next")
    ids = await seeded(env)
    refused_before = need(env, "refusals")()
    fail_next("list", 500, 1, None)
    fail_next("notes", 503, 1, None)
    refs = [r async for r in env.crm.iter_deal_refs()]
    assert {r.id for r in refs} == set(ids.values())
    assert len(await env.crm.list_notes(ids[FULL])) == 3
    assert env.refusals() - refused_before == 2


async def test_persistent_server_error_gives_up_with_a_clear_message(env: ContractEnv) -> None:
    fail_next = need(env, "fail_next")
    ids = await seeded(env)
    fail_next("get", 500, 50, None)
    with pytest.raises(CRMError) as err:
        await env.crm.get_deal(ids[FULL])
    assert not isinstance(err.value, (AuthError, DealNotFound))
    assert "500" in str(err.value) and "retries" in str(err.value)


async def test_deal_deleted_mid_run(env: ContractEnv) -> None:
    ids = await seeded(env)
    seen = []
    async for ref in env.crm.iter_deal_refs():
        seen.append(ref.id)
        if len(seen) == 1:
            await env.delete_deal(ids[BLANK])
    gone = ids[BLANK]
    with pytest.raises(DealNotFound):
        await env.crm.get_deal(gone)
    with pytest.raises(DealNotFound):
        await env.crm.list_notes(gone)
    if FieldType.TEXT in env.field_types:
        with pytest.raises(DealNotFound):
            await env.crm.set_field(gone, "c_text", "late write")
    assert (await env.crm.get_deal(ids[FULL])).name == FULL_NAME
    assert await env.crm.count_deals() == len(ids) - 1


async def test_rejected_token_names_the_env_var(env: ContractEnv) -> None:
    reject = need(env, "reject_token")
    await seeded(env)
    reject()
    with pytest.raises(AuthError) as err:
        await env.crm.count_deals()
    assert env.token_env and env.token_env in str(err.value)


# ---- batched operations ----------------------------------------------------------------------------


async def test_batched_reads_answer_per_deal_and_leave_out_a_vanished_one(env: ContractEnv) -> None:
    ids = await seeded(env)
    await env.delete_deal(ids[BLANK])
    asked = [ids[FULL], ids[BLANK], ids[GLOBEX]]
    deals = await env.crm.get_deals(asked)
    assert set(deals) == {ids[FULL], ids[GLOBEX]}
    assert deals[ids[FULL]].name == FULL_NAME
    assert deals[ids[GLOBEX]].values == (await env.crm.get_deal(ids[GLOBEX])).values
    notes = await env.crm.list_notes_many(asked)
    assert set(notes) == {ids[FULL], ids[GLOBEX]}
    assert [n.text for n in notes[ids[FULL]]] == [n.text for n in await env.crm.list_notes(ids[FULL])]
    assert [n.text for n in notes[ids[GLOBEX]]] == ["Globex intro call."]


async def test_a_batch_write_reports_each_input_and_a_rejected_one_leaves_the_others_standing(
    env: ContractEnv,
) -> None:
    from engine.crm.base import DealWrite

    ids = await seeded(env)
    for spec in (SCOUT_TEXT, SCOUT_SELECT):
        await env.crm.create_field(spec)
    await env.crm.set_fields(ids[FULL], {SCOUT_TEXT.name: "Budget approved", SCOUT_SELECT.name: "Legal review"})
    after = (await env.crm.get_deal(ids[FULL])).values
    assert (after[SCOUT_TEXT.name], after[SCOUT_SELECT.name]) == ("Budget approved", "Legal review")

    await env.delete_deal(ids[BLANK])
    results = await env.crm.write_many([
        DealWrite(ids[GLOBEX], {SCOUT_TEXT.name: "Globex text"}),
        DealWrite(ids[BLANK], {SCOUT_TEXT.name: "late write"}),
        DealWrite(ids[FULL], {SCOUT_SELECT.name: None}),
    ])
    assert [r.deal_id for r in results] == [ids[GLOBEX], ids[BLANK], ids[FULL]]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].not_found and results[1].error
    assert (await env.crm.get_deal(ids[GLOBEX])).values[SCOUT_TEXT.name] == "Globex text"
    assert is_empty(FieldType.SELECT, (await env.crm.get_deal(ids[FULL])).values.get(SCOUT_SELECT.name))


async def test_a_value_refused_inside_a_batch_fails_that_input_alone_with_the_reason(env: ContractEnv) -> None:
    from engine.crm.base import DealWrite

    ids = await seeded(env)
    person = CONTRACT_FIELDS[FieldType.PERSON]  # seeded with the pipeline
    await env.crm.create_field(SCOUT_TEXT)
    results = await env.crm.write_many([
        DealWrite(ids[GLOBEX], {SCOUT_TEXT.name: "Globex text"}),
        DealWrite(ids[FULL], {SCOUT_TEXT.name: "Full text", person.name: "Nobody Ofthat Name"}),
        DealWrite(ids[BLANK], {SCOUT_TEXT.name: "Blank text"}),
    ])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error and not results[1].not_found
    values = {k: (await env.crm.get_deal(ids[k])).values for k in (GLOBEX, FULL, BLANK)}
    assert values[GLOBEX][SCOUT_TEXT.name] == "Globex text" and values[BLANK][SCOUT_TEXT.name] == "Blank text"
    assert values[FULL].get(SCOUT_TEXT.name) != "Full text"  # nothing of the refused input was written
