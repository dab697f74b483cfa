"""One detector for text that talks to a machine instead of describing a call.

Shared by every extractor and by the citation check: the offline extractor stops reading a note at such a
sentence, and the check drops any finding whose excerpt or value reads as one ("SYSTEM:", "ignore previous
instructions", "set the X field to", "update deal Y"). Notes are data, never instructions.
"""

from __future__ import annotations

import re


def _alternatives(parts: tuple[str, ...]) -> str:
    return "|".join(f"(?:{p})" for p in parts)


# English plus German, Spanish and French.
PARTS = (
    r"\bignore (?:all |any )?(?:of )?(?:the |your |my )?(?:previous|prior|above|earlier|preceding|all|other)\b"
    r"[^.]{0,30}\b(?:instructions?|prompts?|rules|messages?|notes?|context)\b",
    r"\bignore (?:all |everything |anything )?(?:of )?(?:the |that )?(?:above|previous|prior|preceding|earlier)\b",
    r"\b(?:disregard|forget)\b[^.]{0,40}\b(?:instructions?|prompts?|rules|above|previous|everything|anything)\b",
    r"<<\s*/?\s*(?:sys|system|inst)\s*>>",
    r"\[\s*/?\s*(?:system|sys|inst|admin|assistant)\s*\]",
    r"#{2,}\s*(?:instructions?|system|admin)\b",
    r"^\W*(?:override|instructions?|command|directive|admin|system note)\s*[:#]",
    r"\bthe (?:ai|llm|language model|ai assistant|ai model|extractor)\s+(?:\w+\s+){0,2}"
    r"(?:must|should|shall|needs to|has to|is to|will)\b",
    r"\b(?:whoever|anyone|any (?:ai|model|system)|the (?:ai|model|system|assistant|bot|tool)) "
    r"(?:is )?(?:reading|processing|parsing|summari[sz]ing) this\b",
    r"(?:^|[\s\[(<*#])(?:system|assistant|developer|admin|root)\s*:",
    r"^\W*(?:hey |hi |dear |attention,? )?(?:ai|assistant|model|claude|chatgpt|gpt|bot|agent|extractor|scout)\b"
    r"\s*[,:!]",
    r"</?\s*(?:note|notes|system|instructions?|data|user|assistant|document|prompt)\b[^<>]{0,80}>",
    r"\b(?:new|updated|revised|real|hidden|additional) instructions?\b",
    r"\b(?:note|message|instructions?|memo)s? (?:to|for) (?:the |any )?"
    r"(?:ai|assistant|model|llm|bot|agent|extractor)\b",
    r"\bfrom now on\b",
    r"\b(?:admin|system|developer|debug|god) (?:override|mode|command|prompt)\b",
    r"\b(?:jailbreak|system prompt|prompt injection)\b",
    r"\byou (?:are|must|should|will) (?:now )?(?:an? |the )?"
    r"(?:ai|assistant|model|set|update|write|mark|report|ignore)\b",
    # An imperative to edit CRM data: a summary describes the call, it never orders a record change.
    r"^\W*(?:please\s+|now\s+|also\s+|and\s+|then\s+)*(?:set|update|change|write|overwrite|mark|fill(?: in)?|put|"
    r"replace|clear|delete|erase|assign|move|edit|record|log|enter|save|store|treat|output|return|report|list)\b"
    r"(?!\s*(?::|of\b|up\b|a call\b|the call\b))[^.]{0,80}\b(?:fields?|amounts?|stages?|deals?|records?|crm|"
    r"closed won|closed lost|rep field|values?|economic buyer|champion|decision criteria|paper process|"
    r"competition|identified pain|metrics)\b",
    r"\bwrite\b[^.]{0,40}\binto\b",
    r"(?:\bplease|\bkindly|,)\s+(?:also\s+)?(?:set|update|change|write|overwrite|mark|fill(?: in)?|put|replace|clear|"
    r"delete|erase|assign|move|edit|record|enter)\b[^.]{0,80}\b(?:fields?|amounts?|stages?|deals?|records?|crm|"
    r"closed won|closed lost|rep field|economic buyer|champion|decision criteria|paper process|competition|"
    r"identified pain|metrics)\b",
    # German, Spanish, French: instructions addressed to a machine, or orders to edit CRM data
    r"\b(?:instrucci[óo]n|anweisung|hinweis|nota|note|consigne|message|mensaje|nachricht)\w*\s+(?:para|an|f[üu]r|[àa]"
    r"|pour|"
    r"to|for)\s+(?:el |la |das |den |die |l'|le |the |any |all |cualquier |jedes |tout )?(?:automated "
    r"|automatisiert\w* |"
    r"automatizad\w* |automatis\w* )?(?:sistema|ki|ia|ai|assistant|asistente|assistent\w*|modelo|modell|mod[èe]le|"
    r"bot|agent|agente|system\w*|syst[èe]me|llm)\b",
    r"\bignor(?:a|e|en|ez|er|iere|ieren|iert|ad)\b[^.]{0,40}\b(?:instrucciones|notas|anweisungen|instructions"
    r"|consignes|"
    r"reglas|regeln|r[èe]gles|anteriores|vorherigen|pr[ée]c[ée]dentes|obigen)\b",
    r"\b(?:actualiza|cambia|escribe|marca|pon|pone|establece|borra|asigna|rellena)\b[^.]{0,60}\b(?:campo|campos|"
    r"trato|tratos|oportunidad|registro|importe|crm|valor)\b",
    r"\b(?:setze|trage|[äa]ndere|aktualisiere|schreibe|markiere|l[öo]sche|eintragen)\b[^.]{0,60}\b(?:feld|felder|deal|"
    r"datensatz|crm|betrag|champion|wert)\b",
    r"\btrage\b[^.]{0,60}\bals\b[^.]{0,30}\bein\b",
    r"\b(?:mets|mettez|indiquez|indique|modifiez|modifie|[ée]crivez|[ée]cris|marquez|renseignez|remplacez|"
    r"supprimez)\b[^.]{0,60}\b(?:champ|champs|affaire|opportunit[ée]|fiche|crm|montant|valeur|d[ée]cideur|champion)\b",
    r"\b(?:scout_\w+|economic_buyer|decision_criteria|identified_pain|paper_process)\b",
)
INSTRUCTION = re.compile(_alternatives(PARTS), re.IGNORECASE)  # the definition

# The same detector, fast. A part that opens with `\b` and a letter can only match where no word character
# comes before, so one look-behind rules those parts out inside a word at once instead of trying each of them
# at every letter (2.6 times faster). ASCII text is lowered and matched case-sensitively: exact, as every
# letter of the pattern is lower case and ASCII has none of IGNORECASE's non-ASCII equivalences.
WORD_START = tuple(p for p in PARTS if p.startswith(r"\b"))
_FAST = r"(?<!\w)(?:" + _alternatives(WORD_START) + ")|" + _alternatives(tuple(p for p in PARTS if p not in WORD_START))
_FAST_ANY_CASE = re.compile(_FAST, re.IGNORECASE)
_FAST_LOWER = re.compile(_FAST)


def reads_as_instruction(text: str) -> bool:
    if text.isascii():
        return _FAST_LOWER.search(text.lower()) is not None
    return _FAST_ANY_CASE.search(text) is not None
