"""The MEDIC concepts, each with its rep-owned field and Scout's own `scout_*` twin.

The default map lives here; a workspace overrides names, types and options with a TOML file
(`SCOUT_FIELD_MAP`), e.g.

    object = "deals"
    [concepts.economic_buyer]
    rep_field = "eb_name"
    rep_type = "text"
    [concepts.decision_criteria.synonyms]
    Security = ["security", "SOC 2", "pen test*"]

Each select option carries a synonym table: the phrases that, in an excerpt, state that option. A phrase
matches whole words, ignoring case, accents and quote styles; a trailing `*` matches any word ending
("integrat*" covers "integration" and "integrates") and `...` up to four words in between ("terms ...
accepted"). The option's own name always counts.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from engine.methods import (BUILT_IN_METHODS, DECISION_CRITERIA_OPTIONS, GROUNDING_RULES, METHOD_NAMES,
                            PAPER_PROCESS_OPTIONS, ConceptRow, GroundingRule, MethodName)
from engine.models import Concept, ConceptKey, FieldSpec, FieldType

__all__ = ["DECISION_CRITERIA_OPTIONS", "PAPER_PROCESS_OPTIONS"]

SCOUT_PREFIX = "scout_"
# Salesforce's API-name form of the same namespace: `Scout_<Concept>__c`, exactly. No namespace prefix, no
# other suffix, the word Scout first and whole: `My_Scout_Notes__c` or `Scouting__c` is not Scout's.
SALESFORCE_SCOUT_NAME = re.compile(r"Scout_[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*__c")

# How a CRM spells field names: snake_case (`scout_economic_buyer`), or Salesforce's custom-field API names
# (`Scout_Economic_Buyer__c`, the rep twin `Economic_Buyer__c`).
Naming = Literal["snake", "salesforce"]


def is_scout_name(name: str) -> bool:
    """Invariant 1's namespace test: `scout_*`, or Salesforce's `Scout_<Concept>__c`. Nothing looser."""
    return name.startswith(SCOUT_PREFIX) or SALESFORCE_SCOUT_NAME.fullmatch(name) is not None


def _salesforce_name(key: str) -> str:
    return "_".join(word.capitalize() for word in key.split("_") if word) + "__c"


def field_names(key: str, naming: Naming = "snake") -> tuple[str, str]:
    """(rep field, scout field) a concept key gets by default under `naming`."""
    if naming == "salesforce":
        return _salesforce_name(key), "Scout_" + _salesforce_name(key)
    return key, SCOUT_PREFIX + key

# Phrases that state each built-in option in an excerpt, in English, German, Spanish and French (accents
# folded). The citation check drops an option whose excerpt holds none of them.
DEFAULT_SYNONYMS: dict[str, tuple[str, ...]] = {
    # decision criteria
    "Security": ("security", "secure", "SSO", "SAML", "SOC 2", "SOC2", "encrypt*", "pen test*", "pentest*",
                 "penetration test*", "data protection", "security questionnaire", "seguridad", "sicherheit*",
                 "securite"),
    "Price": ("price*", "pricing", "cost", "costs", "TCO", "affordab*", "cheap*", "budget", "precio*", "coste*",
              "costo*", "preis*", "kosten", "prix", "cout", "couts", "tarif*"),
    "Integrations": ("integrat*", "interface*", "interop*", "API", "APIs", "connector*", "plug-in*", "plugin*",
                     "plug in*", "work with",
                     "works with", "working with", "connect*", "sync*", "talk to", "talks to", "talk with",
                     "talks with", "plug into", "plugs into", "integrar", "schnittstelle*", "anbindung*",
                     "s'integr*", "se integre*", "connecteur*"),
    "Ease of use": ("ease of use", "easy", "easier", "simple", "usab*", "user-friendly", "user friendly",
                    "intuitive", "adopt*", "learn*", "training", "user interface", "simplicity", "facil*",
                    "sencill*", "benutzerfreundlich*", "einfach*", "bedien*", "prise en main", "ergonomi*"),
    "Support": ("support*", "customer success", "SLA", "SLAs", "service level*", "responsiveness", "soporte",
                "atencion al cliente", "kundendienst", "betreuung", "assistance", "accompagnement"),
    "Scalability": ("scal*", "performance", "high volume*", "escalab*", "skalier*", "montee en charge"),
    "Compliance": ("complian*", "GDPR", "HIPAA", "SOX", "regulat*", "audit*", "data residency", "ISO 27001",
                   "ISO27001", "FERPA", "PCI", "cumplimiento", "normativ*", "regulatori*", "DSGVO", "datenschutz*",
                   "regulatorisch*", "conformite", "RGPD", "reglementaire*"),
    "Reporting": ("report*", "dashboard*", "analytics", "visibility", "insight*", "informes", "reportes",
                  "cuadro de mando", "cuadros de mando", "analitica", "bericht*", "auswertung*", "rapport*",
                  "tableau de bord", "tableaux de bord"),
    # paper process
    "Not started": ("not started", "not yet started", "hasn't started", "haven't started", "has not started",
                    "have not started", "hasn't yet started", "has not yet started", "not begun", "not yet begun",
                    "hasn't begun", "not kicked off", "no paperwork", "no paper work", "no contracting",
                    "no paper process", "no han iniciado", "no hemos iniciado", "no han empezado",
                    "no hemos empezado", "no han comenzado", "no hemos comenzado", "ningun tramite",
                    "noch nicht begonnen", "noch nicht gestartet", "noch nicht angefangen", "noch kein*",
                    "pas encore commence*", "pas encore demarre*", "pas encore lance*", "aucune demarche"),
    "Security review": ("security", "infosec", "vendor risk", "SIG", "CAIQ", "pen test*", "pentest*", "SOC 2",
                        "SOC2", "seguridad", "sicherheit*", "it-sicherheit", "securite", "RSSI"),
    "Legal review": ("legal*", "redlin*", "MSA", "DPA", "counsel", "contract review", "lawyer*", "attorney*",
                     "juridic*", "abogad*", "rechtsabteilung", "jurist*", "anwalt*", "anwalte*",
                     "vertragsprufung", "juridique", "avocat*"),
    "Procurement": ("procurement", "purchase order*", "PO", "POs", "vendor onboarding", "vendor registration",
                    "vendor setup", "as a vendor", "as a supplier", "supplier*", "sourcing", "purchasing",
                    "vendor form*", "vendor questionnaire", "vendor portal", "compras", "orden de compra",
                    "proveedor*", "einkauf", "beschaffung", "bestellung", "lieferant*", "achats",
                    "bon de commande", "fournisseur*"),
    "Awaiting signature": ("signature*", "countersignature", "docusign", "adobe sign", "ready to sign",
                           "signatory", "firma", "unterschrift", "signer"),
    "Signed": ("signed", "countersigned", "executed", "closed won", "closed-won", "accepted our terms",
               "accepted the terms",
               "agreed to our terms", "agreed to the terms", "agreed to terms", "terms ... accepted",
               "terms ... agreed to",
               "firmado", "firmaron", "unterschrieben", "unterzeichnet", "signe", "signee", "signes"),
}


def default_synonyms(options: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {o: DEFAULT_SYNONYMS[o] for o in options if o in DEFAULT_SYNONYMS}


class ConceptFields(BaseModel):
    model_config = ConfigDict(frozen=True)

    concept: ConceptKey
    description: str
    # What people read: the deal view, /scout and the Slack suggestions ("Decision process"); from the key
    # unless the method or field map names it.
    label: str = ""
    rep: FieldSpec
    scout: FieldSpec
    # How grounding proves the excerpt states a value: a person's name, a number, an option, or free text.
    grounding: GroundingRule
    # option -> phrases that state it in an excerpt (besides the option's own name)
    synonyms: dict[str, tuple[str, ...]] = {}

    def option_phrases(self, option: str) -> tuple[str, ...]:
        return (option, *self.synonyms.get(option, ()))

    @model_validator(mode="before")
    @classmethod
    def _labelled(cls, data: Any) -> Any:
        if isinstance(data, dict) and not str(data.get("label") or "").strip():
            data = {**data, "label": concept_label(str(data.get("concept", "")))}
        return data

    @model_validator(mode="after")
    def _scout_owned(self) -> "ConceptFields":
        # Invariant 1: whatever a config says, the agent's field lives in its own namespace.
        if not is_scout_name(self.scout.name):
            raise ValueError(f"scout field for {self.concept} must start with '{SCOUT_PREFIX}' (on Salesforce: "
                             f"be named Scout_<Concept>__c): {self.scout.name}")
        if is_scout_name(self.rep.name):
            raise ValueError(f"rep field for {self.concept} must not be a scout_* field: {self.rep.name}")
        if self.scout.type in (FieldType.PERSON, FieldType.RECORD):
            raise ValueError(f"{self.scout.name}: Scout suggests text, not {self.scout.type} links")
        unknown = [o for o in self.synonyms if o not in self.scout.options]
        if unknown:
            raise ValueError(f"synonyms for {', '.join(map(repr, unknown))}, which is not an option of "
                             f"{self.scout.name} ({', '.join(self.scout.options)})")
        return self


class FieldMap(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: str = "deals"
    method: MethodName = "medic"
    concepts: dict[ConceptKey, ConceptFields]

    @model_validator(mode="after")
    def _one_concept_per_scout_field(self) -> "FieldMap":
        # Two concepts writing one field would overwrite each other's suggestions, and undo could not tell them apart.
        owner: dict[str, str] = {}
        for concept, fields in self.concepts.items():
            name = fields.scout.name
            if name in owner:
                raise ValueError(f"{owner[name]} and {concept} both use the scout field {name}: "
                                 "give each concept its own scout_* field")
            owner[name] = concept
        return self

    def scout_fields(self) -> list[FieldSpec]:
        return [c.scout for c in self.concepts.values()]

    def is_scout_field(self, name: str) -> bool:
        return any(c.scout.name == name for c in self.concepts.values())

    def label(self, name: str | None) -> str:
        """The label of a concept named by any string (a log row); an unmapped name is shown as words."""
        fields = self.fields_for(name)
        return fields.label if fields is not None else concept_label(name or "")

    def fields_for(self, name: str | None) -> ConceptFields | None:
        """The fields of a concept named by any string (a log row, the model's dropped item); None if unmapped."""
        return next((f for c, f in self.concepts.items() if c == name), None)


def concept_label(key: str) -> str:
    """A concept key as people read it: "decision_process" is "Decision process"."""
    return key.replace("_", " ").capitalize()


def _label(name: str) -> str:
    return name.replace("_", " ").title().replace("Scout ", "Scout: ")


def _fields(row: ConceptRow, naming: Naming = "snake") -> ConceptFields:
    key = str(row.key)
    rep_name, scout_name = field_names(key, naming)
    rep = FieldSpec(name=rep_name, type=row.rep_type, label=_label(key), options=row.options)
    scout = FieldSpec(name=scout_name, type=row.scout_type, label=_label(SCOUT_PREFIX + key), options=row.options)
    return ConceptFields(concept=row.key, description=row.description, label=row.label, rep=rep, scout=scout,
                         synonyms=default_synonyms(row.options), grounding=row.grounding)


def method_field_map(method: MethodName = "medic", naming: Naming = "snake") -> FieldMap:
    """A built-in method's concepts with their default fields, named as the CRM spells them."""
    if method not in BUILT_IN_METHODS:
        raise ValueError(f"unknown method '{method}'; the methods are {', '.join(METHOD_NAMES)}")
    return FieldMap(method=method, object="Opportunity" if naming == "salesforce" else "deals",
                    concepts={row.key: _fields(row, naming) for row in BUILT_IN_METHODS[method]})


def default_field_map() -> FieldMap:
    return method_field_map("medic")


E = TypeVar("E", Concept, FieldType)


def _known(enum: type[E], value: object, message: str) -> E:
    """`enum(value)`, or a ValueError that lists the valid names (the CLI shows it as one line)."""
    try:
        if isinstance(value, str):
            return enum(value)
    except ValueError:
        pass
    raise ValueError(f"{message} {', '.join(e.value for e in enum)}")


def _type(override: dict[str, Any], key: str, default: FieldType, concept: str) -> FieldType:
    value = override.get(key, default)
    return _known(FieldType, value, f"unknown {key} '{value}' for {concept}; the types are")


def _grounding(override: dict[str, Any], default: GroundingRule, concept: str) -> GroundingRule:
    value = override.get("grounding", default)
    if value not in GROUNDING_RULES:
        raise ValueError(f"unknown grounding '{value}' for {concept}; the rules are {', '.join(GROUNDING_RULES)}")
    return value


def _new_concept(key: str, override: dict[str, Any], base: FieldMap, naming: Naming) -> ConceptFields:
    """A concept the method does not have, from its TOML table alone: it must say what the model reads."""
    if "description" not in override:
        # Most often a typo of an existing key, so name them.
        raise ValueError(f"unknown concept '{key}' in [concepts.{key}]; the concepts are "
                         f"{', '.join(base.concepts)} (a new concept needs a description: what the model reads)")
    if not key.isidentifier() or key != key.lower():
        raise ValueError(f"concept key '{key}' in [concepts.{key}] must be lower_case_with_underscores")
    scout_type = _type(override, "scout_type", FieldType.TEXT, key)
    options = tuple(override.get("options", ()))
    default_rule: GroundingRule = "option" if scout_type in (FieldType.SELECT, FieldType.MULTI_SELECT) else "text"
    return _fields(ConceptRow(key, override["description"], _type(override, "rep_type", FieldType.TEXT, key),
                              scout_type, options, _grounding(override, default_rule, key),
                              str(override.get("label", ""))), naming)


def load_field_map(path: Path | None, method: MethodName = "medic", naming: Naming = "snake") -> FieldMap:
    """The method's map, with the TOML file's overrides applied per concept and its new concepts added."""
    base = method_field_map(method, naming)
    if path is None:
        return base
    data = tomllib.loads(Path(path).read_text())
    concepts = dict(base.concepts)
    for key, override in (data.get("concepts") or {}).items():
        cur = concepts.get(key) or _new_concept(key, override, base, naming)
        concept = cur.concept
        options = tuple(override.get("options", cur.rep.options))
        rep = FieldSpec(
            name=override.get("rep_field", cur.rep.name),
            type=_type(override, "rep_type", cur.rep.type, concept),
            label=override.get("rep_label", cur.rep.label),
            options=options,
        )
        scout = FieldSpec(
            name=override.get("scout_field", cur.scout.name),
            type=_type(override, "scout_type", cur.scout.type, concept),
            label=override.get("scout_label", cur.scout.label),
            options=tuple(override.get("options", cur.scout.options)),
        )
        synonyms = {**default_synonyms(scout.options),
                    **{o: tuple(p) for o, p in (override.get("synonyms") or {}).items()}}
        concepts[concept] = ConceptFields(
            concept=concept, description=override.get("description", cur.description),
            label=str(override.get("label", cur.label)), rep=rep, scout=scout,
            synonyms=synonyms, grounding=_grounding(override, cur.grounding, concept),
        )
    return FieldMap(object=data.get("object", base.object), method=method, concepts=concepts)
