"""Qualification methods as data: SCOUT_METHOD picks a built-in, the field map adds or overrides concepts."""

from __future__ import annotations

import pytest

from engine.commands import EXIT_OK, EXIT_USAGE
from engine.extract.claude import system_prompt, tool_definition
from engine.extract.grounding import ground
from engine.medic import default_field_map, load_field_map, method_field_map
from engine.models import Concept
from tests.test_cli import demo  # noqa: F401  (the demo workspace fixture)


def test_meddpicc_setup_rehearses_eight_scout_fields(scout, demo, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SCOUT_METHOD", "meddpicc")
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.startswith("DRY RUN (LIVE_WRITES is not set)")
    assert out.count("would_create") == 8 and "scout_decision_process" in out


@pytest.mark.parametrize(("method", "keys"), [
    ("medic", ["metrics", "economic_buyer", "decision_criteria", "identified_pain", "champion", "paper_process",
               "competition"]),
    ("meddpicc", ["metrics", "economic_buyer", "decision_criteria", "identified_pain", "champion",
                  "paper_process", "competition", "decision_process"]),
    ("bant", ["budget", "authority", "need", "timeline"]),
    ("spiced", ["situation", "pain", "impact", "critical_event", "decision"]),
])
def test_each_built_in_method_names_its_concepts_to_the_model(method, keys):
    fm = method_field_map(method)
    assert list(fm.concepts) == keys
    assert [f.scout.name for f in fm.concepts.values()] == [f"scout_{k}" for k in keys]
    tool = tool_definition(fm)
    assert f"Concepts: {', '.join(keys)}." in tool["description"]
    prompt = system_prompt(fm)
    assert all(k in prompt for k in keys)


def test_the_default_is_medic_with_the_concept_members_as_keys():
    fm = default_field_map()
    assert fm.method == "medic" and all(type(k) is Concept for k in fm.concepts)
    assert [fm.concepts[c].grounding for c in Concept] == [
        "text", "person", "option", "text", "person", "option", "text"]


def test_unknown_method_is_one_line(scout, monkeypatch):
    monkeypatch.setenv("SCOUT_METHOD", "medicc")
    code, _, err = scout("run")
    assert code == EXIT_USAGE and "SCOUT_METHOD" in err and "meddpicc" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_field_map_adds_a_concept_and_overrides_another(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('[concepts.implementation_partner]\n'
                    'description = "The systems integrator who will roll the product out."\n'
                    '[concepts.need]\ndescription = "What they need, in their words."\n')
    fm = load_field_map(path, "bant")
    assert list(fm.concepts) == ["budget", "authority", "need", "timeline", "implementation_partner"]
    added = fm.concepts["implementation_partner"]
    assert added.scout.name == "scout_implementation_partner" and added.grounding == "text"
    assert fm.concepts["need"].description == "What they need, in their words."
    assert "implementation_partner" in tool_definition(fm)["description"]


@pytest.mark.parametrize(("content", "expected"), [
    ('[concepts.decision_process]\nscout_field = "scout_paper_process"\n',
     "paper_process and decision_process both use the scout field scout_paper_process"),
    ('[concepts.Budget-2]\ndescription = "x"\n', "must be lower_case_with_underscores"),
    ('[concepts.metrics]\ngrounding = "fuzzy"\n',
     "unknown grounding 'fuzzy' for metrics; the rules are person, number, option, text"),
])
def test_a_bad_method_map_is_one_line(scout, make_settings, tmp_path, content, expected):
    path = tmp_path / "map.toml"
    path.write_text(content)
    make_settings(SCOUT_FIELD_MAP=str(path), SCOUT_METHOD="meddpicc")
    code, _, err = scout("run")
    assert code == EXIT_USAGE and expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_grounding_rule_is_the_concepts_own():
    budget = method_field_map("bant").concepts["budget"]
    assert ground("$120k this year", "They have $120,000 set aside this year.", budget)[0] == "$120k this year"
    kept, dropped = ground("set aside", "They have money set aside.", budget)
    assert kept is None and dropped[0][1] == "the value states no number"
    authority = method_field_map("bant").concepts["authority"]
    assert ground("Dana Ruiz", "Dana Ruiz approves all spend.", authority)[0] == "Dana Ruiz"
    assert ground("Pat Lee", "Dana Ruiz approves all spend.", authority)[0] is None


def test_offline_rules_say_which_concepts_they_do_not_extract(scout, demo, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("SCOUT_METHOD", "meddpicc")
    code, out, _ = scout("run")
    assert code == EXIT_OK and "do not extract" not in out  # decision_process has rules
    path = tmp_path / "map.toml"
    path.write_text(CUSTOM_MAP)
    monkeypatch.setenv("SCOUT_FIELD_MAP", str(path))
    code, out, _ = scout("run")
    assert code == EXIT_OK
    assert "the offline rules do not extract implementation_partner: they stay empty" in out
    code, out, _ = scout("check")
    assert "the offline rules do not extract implementation_partner: they stay empty" in out
    monkeypatch.delenv("SCOUT_FIELD_MAP")
    monkeypatch.setenv("SCOUT_METHOD", "spiced")
    code, out, _ = scout("check")
    assert "the offline rules do not extract situation, pain, impact, critical_event, decision" in out


def test_medic_offline_run_has_no_such_notice(scout, demo):  # noqa: F811
    code, out, _ = scout("run")
    assert code == EXIT_OK and "do not extract" not in out


CUSTOM_MAP = ('[concepts.implementation_partner]\n'
              'description = "The systems integrator who will roll the product out."\n'
              'label = "Implementation partner (SI)"\n')
KICKOFF = "Umbrella kickoff. Deloitte will run the rollout as our implementation partner; board approves in June."
CUSTOM_SCRIPT = {"n6": [
    {"concept": "implementation_partner", "value": "Deloitte", "note_id": "n6",
     "excerpt": "Deloitte will run the rollout as our implementation partner"},
    {"concept": "decision_process", "value": "Board approves in June", "note_id": "n6",
     "excerpt": "board approves in June"},
    {"concept": "implementation_partner", "value": "Accenture", "note_id": "n6",  # the excerpt does not say it
     "excerpt": "Deloitte will run the rollout"},
]}


async def custom_workspace(make_settings, tmp_path, with_scout: bool = True, **env):
    """meddpicc plus a concept of the field map's own, on the small pipeline with a note that states both.
    `with_scout=False` leaves every scout_* field for `scout setup` to create."""
    from engine.models import FieldSpec, FieldType, Note
    from tests.pipeline import T0, seed, small_pipeline

    path = tmp_path / "map.toml"
    path.write_text(CUSTOM_MAP)
    settings = make_settings(SCOUT_FIELD_MAP=str(path), SCOUT_METHOD="meddpicc", **env)
    data = small_pipeline(with_scout=with_scout)
    names = ["decision_process", "implementation_partner"]
    names += ["scout_decision_process", "scout_implementation_partner"] if with_scout else []
    data.fields += [FieldSpec(name=n, type=FieldType.TEXT) for n in names]
    data.notes.append(Note(id="n6", deal_id="d4", author="Alex Rep", created_at=T0, title="Kickoff", text=KICKOFF))
    await seed(settings.workspace, data)
    return settings


async def test_a_custom_concept_is_extracted_verified_written_and_undone(make_settings, tmp_path):
    from engine.crm.local import LocalCRM
    from engine.jobs import run_job, undo_job
    from tests.pipeline import snapshot
    from tests.standins.scripted_model import ScriptedModel

    settings = await custom_workspace(make_settings, tmp_path, LIVE_WRITES="1")
    before = await snapshot(settings.workspace)
    model = ScriptedModel(CUSTOM_SCRIPT)
    summary, _ = await run_job(settings, apply=True, extractor=model.extractor())
    assert (summary.written, summary.dropped) == (2, 1)
    tool = model.requests[-1].json["tools"][0]
    assert tool["input_schema"]["$defs"]["Concept"]["enum"][-2:] == ["decision_process", "implementation_partner"]
    after = await snapshot(settings.workspace)
    assert after["d4"]["scout_implementation_partner"] == "Deloitte"
    assert after["d4"]["scout_decision_process"] == "Board approves in June"

    _, result = await undo_job(settings, summary.run_id, apply=True)
    assert (result.reverted, result.conflicts, result.failed) == (2, 0, 0)
    assert await snapshot(settings.workspace) == before
    crm = await LocalCRM.open(settings.workspace)
    assert (await crm.get_deal("d4")).values.get("scout_implementation_partner") in (None, "")
    await crm.aclose()


def test_labels_follow_the_method_and_the_field_map(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(CUSTOM_MAP + '[concepts.metrics]\nlabel = "Success metrics"\n')
    fm = load_field_map(path, "meddpicc")
    assert [f.label for f in fm.concepts.values()] == [
        "Success metrics", "Economic buyer", "Decision criteria", "Identified pain", "Champion", "Paper process",
        "Competition", "Decision process", "Implementation partner (SI)"]
    assert [f.label for f in default_field_map().concepts.values()][:2] == ["Metrics", "Economic buyer"]


async def test_the_deal_view_slash_scout_and_the_thread_show_the_methods_labels(make_settings, tmp_path, slack,
                                                                                capsys):
    from bot.app import build_app
    from bot.post import post_run_summary
    from engine.dealview import format_view, lookup
    from engine.crm.local import LocalCRM
    from engine.jobs import open_log, run_job
    from tests.standins.clock import FakeTime
    from tests.standins.scripted_model import ScriptedModel
    from tests.standins.slack_api import CHANNEL, SIGNING_SECRET, dispatch, slash_command
    from tests.test_bot_command import ephemeral, text_of

    settings = await custom_workspace(make_settings, tmp_path, SLACK_BOT_TOKEN="xoxb-standin-token",
                                      SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.base_url,
                                      SCOUT_SUMMARY_CHANNEL=CHANNEL)
    model = ScriptedModel(CUSTOM_SCRIPT)
    summary, _ = await run_job(settings, apply=False, extractor=model.extractor())

    crm = await LocalCRM.open(settings.workspace)
    async with open_log(settings) as log:
        view = (await lookup("d4", crm, log, None, settings.field_map)).view
    await crm.aclose()
    shown = format_view(view)
    assert "\nDecision process\n  rep   decision_process: (empty)" in shown
    assert "\nImplementation partner (SI)\n  rep   implementation_partner: (empty)" in shown

    await dispatch(build_app(settings, extractor=model.extractor()), slash_command("d4", slack.response_url()))
    cells = text_of(ephemeral(slack)["blocks"])
    assert "*Decision process* · rep `decision_process`" in cells
    assert "*Implementation partner (SI)* · rep `implementation_partner`" in cells
    assert "MEDIC" not in cells

    await post_run_summary(settings, summary.run_id, pacer=FakeTime().pacer())
    thread = "\n".join(b["text"]["text"] for p in slack.posts()[1:] for b in p["blocks"] if "text" in b)
    assert "*Implementation partner (SI)*: *Deloitte*" in thread
    assert "*Decision process*: *Board approves in June*" in thread


def test_a_promotion_may_write_a_custom_concepts_own_rep_field_and_no_other(tmp_path):
    from engine.writeguard import refusal

    path = tmp_path / "map.toml"
    path.write_text('[concepts.implementation_partner]\n'
                    'description = "The systems integrator who will roll the product out."\n')
    fm = load_field_map(path, "bant")
    rep = fm.concepts["implementation_partner"].rep.name
    assert refusal(fm, rep, rep_of="implementation_partner") is None  # its own rep twin: a promotion may write it
    assert refusal(fm, fm.concepts["budget"].rep.name, rep_of="implementation_partner") is not None
    assert refusal(fm, rep, rep_of="budget") is not None


def test_a_label_is_for_people_not_the_model_so_it_leaves_the_cache_key_alone(tmp_path):
    """Labels came after the cache: a workspace that upgrades or relabels a concept pays no new extraction."""
    from engine.extract.cache import CacheKeys
    from engine.extract.offline import OfflineExtractor
    from engine.models import Deal

    path = tmp_path / "map.toml"
    path.write_text('[concepts.metrics]\nlabel = "Success metrics"\n')
    deal, extractor = Deal(id="d1", name="Acme"), OfflineExtractor()

    def key(field_map) -> str:
        return CacheKeys(extractor, field_map).key(deal, [])

    assert key(load_field_map(path)) == key(default_field_map())
    path.write_text('[concepts.metrics]\ndescription = "Numbers they care about."\n')
    assert key(load_field_map(path)) != key(default_field_map())


def test_resolution_through_the_cli_meddpicc_setup_a_custom_concept_written_and_undone_and_medic_unchanged(
        scout, make_settings, monkeypatch, tmp_path):
    """The issue's resolution, as an operator meets it: Claude through the real client against a local
    Messages stand-in, the field map TOML, `scout setup`, `scout run --apply`, `scout log`, `scout undo`."""
    import asyncio
    import json

    from tests.pipeline import snapshot
    from tests.standins.http_server import StandInServer
    from tests.standins.model_server import ScriptedServer

    asyncio.run(custom_workspace(make_settings, tmp_path, with_scout=False, ANTHROPIC_API_KEY="sk-ant-test"))
    # The default, on the same workspace: seven fields, none of the method's or the map's own.
    monkeypatch.delenv("SCOUT_METHOD")
    monkeypatch.delenv("SCOUT_FIELD_MAP")
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.count("would_create") == 7
    assert "decision_process" not in out and "implementation_partner" not in out
    monkeypatch.setenv("SCOUT_METHOD", "meddpicc")
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.count("would_create") == 8 and "scout_decision_process" in out
    monkeypatch.setenv("SCOUT_FIELD_MAP", str(tmp_path / "map.toml"))

    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.count("created") == 9 and "scout_implementation_partner" in out
    before = asyncio.run(snapshot(make_settings().workspace))
    server = ScriptedServer(CUSTOM_SCRIPT)
    with StandInServer(server.handle) as http:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", http.url)
        code, out, err = scout("run", "--apply")
    assert code == EXIT_OK, err
    assert out.startswith("LIVE") and "2 written" in out and "1 dropped" in out
    after = asyncio.run(snapshot(make_settings().workspace))
    assert after["d4"]["scout_implementation_partner"] == "Deloitte"
    assert after["d4"]["scout_decision_process"] == "Board approves in June"
    run_id = json.loads(scout("log", "--json")[1])[0]["id"]
    rows = json.loads(scout("log", str(run_id), "--json")[1])["actions"]
    written = {r["field"]: r["excerpt"] for r in rows if r["action"] == "written"}
    assert written == {"scout_implementation_partner": "Deloitte will run the rollout as our implementation partner",
                       "scout_decision_process": "board approves in June"}
    (dropped,) = [r for r in rows if r["action"] == "dropped"]
    assert dropped["field"] == "scout_implementation_partner" and "Accenture" in json.dumps(dropped)

    code, out, _ = scout("undo", str(run_id), "--apply")
    assert code == EXIT_OK and out.startswith("LIVE") and " 0 conflicts" in out
    assert asyncio.run(snapshot(make_settings().workspace)) == before


@pytest.mark.parametrize("field", ["scout_decision_process", "scout_implementation_partner"])
async def test_a_methods_own_suggestion_is_promoted_into_its_rep_field(make_settings, tmp_path, field):
    from engine.jobs import open_log, run_job
    from engine.promote import ReviewOutcome, promote
    from tests.pipeline import snapshot
    from tests.standins.scripted_model import ScriptedModel

    settings = await custom_workspace(make_settings, tmp_path, LIVE_WRITES="1")
    summary, _ = await run_job(settings, apply=True, extractor=ScriptedModel(CUSTOM_SCRIPT).extractor())
    async with open_log(settings) as store:
        ids = {r.field: r.id for r in await store.run_suggestions(summary.run_id)}

    result = await promote(ids[field], "U123", settings)

    assert result.outcome is ReviewOutcome.PROMOTED, result.detail
    rep = field.removeprefix("scout_")
    assert (await snapshot(settings.workspace))["d4"][rep] == {
        "decision_process": "Board approves in June", "implementation_partner": "Deloitte"}[rep]
