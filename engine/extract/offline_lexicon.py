"""Cue phrases and word lists for the offline extractor, kept apart from its logic so they can grow alone.

All patterns are compiled case-insensitive unless the name says otherwise. They describe how sales teams
write call summaries in general; nothing here names a company, person or phrase from the demo data.
Tuning against the evaluation set uses its dev split only (eval/dev.jsonl), never eval/test.jsonl.
"""

from __future__ import annotations

import re

from engine.extract.injection import INSTRUCTION

I = re.IGNORECASE


def _rx(*parts: str, flags: int = I) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), flags)


# ---------------------------------------------------------------------------------- prompt injection
# One detector for every extractor and the citation check (engine/extract/injection.py).
INJECTION = INSTRUCTION

# ------------------------------------------------------------------------------------------- people
EB_CUE = _rx(
    r"\beconomic buyer\b",
    r"\bsign(?:s|ed|ing)?[- ]off\b",
    r"\bsigns? (?:off on )?(?:the |our |this |any |all |every |their )?(?:\w+ )?(?:contracts?|deals?|paper(?:work)?|"
    r"order forms?|checks?|cheques?|POs?|purchases?|agreements?)\b",
    r"\bsigning authority\b",
    r"^\W*(?:budget|budget owner|signer|signatory|approver|decision[- ]maker)\s*:",
    r"\bsignatory\b",
    r"\b(?:the one|the person|person|the only one|whoever) (?:who |that )?signs\b",
    r"\b(?:the one|the person|the only one|whoever) (?:signing|approving|deciding|holding the budget|"
    r"who (?:approves|decides))\b",
    r"\b(?:he|she|they|who|and|now|also) signs\b(?! up)",
    r"\bsigns\s*(?:[.;!]|$)",
    r"\bbudget (?:owner|holder|authority|sits with|is with|lives with|comes from|belongs to)\b",
    r"\b(?:owns?|owned|holds?|held|controls?|controlled|manages?|has|have|had|runs?) (?!no\b|not\b)(?:the |their "
    r"|all |our |this )?(?:\w+ )?"
    r"(?:budget|purse strings|money|spend)\b",
    r"\bpurse strings\b",
    r"\bfinal (?:say|approval|decision|sign-?off|signature|word|call)\b",
    r"\blast word\b",
    r"\bapprov(?:es|ing|e) (?:the |any |all |every |our |this )?(?:\w+ )?(?:spend|spending|purchases?|budgets?|"
    r"deals?|contracts?|tools?|software|vendors?)\b",
    r"\bwrites? the (?:check|cheque)\b",
    r"\bneeds? (?:the )?(?:approval|sign-?off|signature) (?:from|of)\b",
    r"\b(?:money|budget|spend|funding) (?:sits|lives|is|comes) (?:with|from)\b",
    r"\b(?:final |ultimate )?decision[- ]maker\b",
    r"\b(?:comes?|paid|funded) (?:out of|from) (?:[\w']+ ){0,3}budget\b",
    r"\bmakes? the (?:final |buying |purchase |purchasing )?(?:call|decision)\b",
    # German: "unterschreibt", "verantwortet das Budget", "entscheidet", "Budgetverantwortung"
    r"\bunterschreib\w*|\bunterzeichne\w*|\bzeichnet\b",
    r"\bbudget\w* verantwort\w*|\bverantwort\w+ (?:das |den )?budget\w*|\bbudgetverantwort\w*",
    r"\bentscheidet\b|\bentscheider(?:in)?\b|\bdie entscheidung (?:liegt|trifft)\b|\bgibt (?:das budget )?frei\b",
    # Spanish: "firma", "aprueba el presupuesto", "la decisión final", "controla el presupuesto"
    r"\bfirma (?:el |los |la |las )?(?:contratos?|pedido|compra)|\bquien firma\b|\bes quien (?:firma|decide)\b",
    r"\b(?:aprueba|controla|maneja|lleva|tiene|decide sobre) (?:el |los )?presupuestos?\b",
    r"\bla decisi[oó]n (?:la )?(?:toma|tiene)\b|\btoma la decisi[oó]n\b|\bdecisi[oó]n final\b"
    r"|\bla [uú]ltima palabra\b|\bdecide (?:la compra|el presupuesto)\b",
    r"\bresponsable del presupuesto\b|\bdue[nñ]o del presupuesto\b",
    # French: "signe", "valide le budget", "décision finale", "détient le budget", "décideur"
    r"\bsigne (?:le |les |la )?(?:contrats?|bon de commande)|\bc'est (?:lui|elle) qui (?:signe|d[ée]cide)\b",
    r"\b(?:qui )?signe\s*(?:[.;,!]|$|et\b)",
    r"\b(?:valide|approuve|d[ée]tient|g[èe]re|contr[ôo]le|porte) (?:le |les |son |leur )?budgets?\b",
    r"\bd[ée]cision finale\b|\bdernier mot\b|\bd[ée]cideur\b|\bd[ée]cisionnaire\b",
)
EB_ABBREV = re.compile(r"\bEB\b")  # case-sensitive: "eb" in lower case is not the abbreviation

CHAMPION_CUE = _rx(
    r"\bchampion(?:s|ed|ing)?\b",
    r"\b(?:internal|inside|main|our|biggest|strongest|key|real) (?:advocate|ally|supporter|coach|sponsor|fan)\b",
    r"\badvocate\b",
    r"\bally\b",
    r"\bcoach(?:ing)? us\b",
    r"\bsell(?:s|ing)? (?:this|it|us|our \w+) internally\b",
    r"\bselling (?:this|it|us) (?:in|inside) (?:the|their) (?:org|company|business)\b",
    r"\bgo(?:ing|es)? to bat for us\b",
    r"\bpushing (?:hard )?(?:for (?:us|this)|(?:it|us|this) internally)\b|\bpushing\b[^.;]{0,30}\binternally\b",
    r"\b(?:is|are|very much|fully|completely|now) on board\b",
    r"\bin our corner\b",
    r"\bon our side\b",
    r"\bchamp\b",
    r"\b(?:will |to |happy to |agreed to )?sponsor(?:s|ing)? (?:it|this|us|the project|the deal|the rollout)\b",
    r"\bour (?:guy|person|man|woman|contact|eyes and ears) (?:inside|on the inside)\b|\binside (?:man|woman|guy)\b",
    r"\blobb(?:y|ies|ying|ied)\b|\bback(?:s|ing|ed)? us\b|\bpush(?:es|ing|ed)? (?:this|it|us) through\b",
    r"\b(?:very |fully |really |completely )?bought[- ]in\b",
    r"\bpresent(?:s|ing|ed)? (?:our|the|this) (?:proposal|business case|case|deck) to (?:the |their |his |her )?"
    r"(?:board|steering|exec|leadership|committee|management|ceo|cfo)",
    r"\brooting for us\b",
    r"\bvolunteered to\b",
    r"\b(?:build|built|building|make|making|made|write|wrote|writing|draft|drafted|drafting|own|owns|owning) "
    r"(?:the |an? |our |their )?(?:internal )?(?:business case|justification|case for us)\b",
    r"\b(?:driving|drives|leading|leads|running|runs) (?:the |this |our )?(?:evaluation|project|buying process|"
    r"selection|initiative)\b",
    # German: "unser Fürsprecher", "unterstützt uns", "treibt das Projekt"
    r"\bf[üu]rsprecher(?:in)?\b|\bbef[üu]rworter(?:in)?\b|\bunterst[üu]tzt uns\b"
    r"|\bsetzt sich\b[^.;]{0,30}\bf[üu]r uns ein\b",
    r"\btreibt (?:das |unser )?(?:projekt|thema|vorhaben)\b",
    # Spanish: "nos apoya", "lleva el tema internamente", "defensora"
    r"\bnuestr[oa] alia[dt][oa]\b|\bnos apoya\w*|\bdefensor(?:a)?\b|\bimpuls(?:a|ando) (?:el proyecto|la propuesta"
    r"|internamente)\b",
    r"\blleva el (?:tema|proyecto) internamente\b|\bpromueve (?:el proyecto|la propuesta|internamente)\b",
    r"\bpresent[óo] la propuesta\b",
    # French: "nous soutient", "porte le projet", "défend notre dossier"
    r"\bpousse (?:le projet|notre (?:dossier|solution|offre))\b|\bnous soutient\b|\bsoutient (?:le projet|notre"
    r"|la d[ée]marche)\b|\bporte (?:le projet|notre dossier|le sujet)\b",
    r"\bd[ée]fend (?:le projet|notre|la solution)\b|\balliée?\b|\bnotre (?:champion(?:ne)?|sponsor|relais)\b",
)

# Said about a whole sentence: nobody named there is a confirmed answer.
PERSON_UNCERTAIN = _rx(
    r"\b(?:not sure|unsure|unclear|not clear|unknown|no idea|no clear|don't know|do not know|doesn't know|"
    r"didn't know|did not know|haven't (?:identified|found|confirmed|met)|have not (?:identified|found|confirmed|met)|"
    r"to be (?:confirmed|determined)|tbd|tbc|yet to (?:identify|find|confirm)|"
    r"still (?:need|trying|looking|have) to (?:find|identify|figure|confirm)|figure out who|find out who|"
    r"might be|may be|maybe|perhaps|possibly|probably|we think|i think|i guess|we guess|hopefully|"
    r"thinks|believes|assumes|guessing|suspects|rumou?red|supposedly|presumably)\b",
    r"\bno (?:\w+ )?(?:champion|economic buyer|eb|advocate|internal advocate|ally|sponsor|decision[- ]maker)\b",
    r"\b(?:don't|do not|doesn't|does not|didn't) have (?:a|an|any) (?:real |clear |new )?"
    r"(?:champion|economic buyer|internal advocate|advocate|ally)\b",
    r"\bwithout (?:a|an) (?:champion|economic buyer|advocate)\b",
    r"\b(?:ask|asked|asking|know|sure|clear|confirm|check|checked|wonder|wondering|said|say|says|told|tell|idea)\b"
    r"[^.;]{0,25}\bwho\b",
    r"\b(?:nobody|no one|none of them)\b[^.;]{0,40}\bwho\b",
    r"\?\s*$",
    # German, Spanish, French hedges
    r"\b(?:noch offen|unklar|unbekannt|nicht sicher|wissen wir nicht|wei[ßs] (?:noch )?nicht|vielleicht|"
    r"wahrscheinlich|vermutlich|kein(?:en)? (?:champion|f[üu]rsprecher))\b",
    r"\b(?:no sabemos|no sab[ée]|no est[áa] claro|todav[íi]a no (?:sabemos|est[áa] claro)|quiz[áa]s?|tal vez|"
    r"probablemente|desconocido|sin (?:champion|defensor))\b",
    r"\b(?:on ne sait pas|ne sait pas|ne savons pas|pas clair|peut-[êe]tre|probablement|inconnu|incertain|"
    r"pas encore de (?:champion|sponsor|d[ée]cideur))\b",
)
# After a denied or doubted cue, the words that introduce the right person instead.
PERSON_CORRECTION = _rx(
    r"\b(?:turns out|turned out|actually|in fact|instead|rather|the real (?:one|buyer|decision[- ]maker|signer|"
    r"champion)|it's|it is|that's|that is|that will be|that would be|that'll be|sondern|sino|c'est plut[ôo]t)\b"
)
# Just before a cue: the cue is denied ("he isn't a decision maker", "not the one who signs").
CUE_NEGATED_BEFORE = re.compile(
    r"(?:\bnot|n't|\bno longer|\bnever|\bnicht|\bkein\w*|\bno es|\bn'est pas|\bne \w+ pas)\s+(?:[\w-]+\s+){0,3}$", I
)

# Just before a name: the name is being replaced or denied, not proposed.
NAME_DENIED_BEFORE = re.compile(
    r"(?:\bnot|\breplacing|\breplaces|\breplaced|\binstead of|\brather than|\bover from|\bmoved from|"
    r"\bshifted from|\bformer(?:ly)?|\bprevious(?:ly)?|\bold|\bex-|\bunlike|\bexcept)\s*(?:[\w-]+\s+){0,2}$",
    I,
)
# Just after a name (and its role, if one follows): the person left, declined or is only a maybe.
# A bare "not" after a name belongs to the next name ("it's Dana, not Tom"), so only "is not" counts.
NAME_DENIED_AFTER = re.compile(
    r"^\W*(?:who\s+)?(?:(?:has|had|is|was|just|recently|since|already)\s+)*"
    r"(?:left|moved|departed|leaving|resigned|retired|went|on leave|no longer|gone|out of the picture|used to|"
    r"isn't|wasn't|doesn't|didn't|won't|can't|cannot|might|may|could|probably)\b"
    r"|^\W*(?:who\s+)?(?:is|was|does|did|will|would|has|had|can)\s+not\b",
    I,
)

# A courtesy title makes a lone surname a name: "Herr Müller", "Mrs. Patel", "Señora Ortiz".
HONORIFIC_BEFORE = re.compile(
    r"\b(?:Herr|Frau|Mr|Mrs|Ms|Mx|Dr|Prof|Sr|Sra|Señor|Señora|Don|Doña|Mme|Monsieur|Madame)\.?\s+$"
)
UPPER, LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"  # Latin letters with accents: "Lucía", "Krüger", "Héctor"
# "Aisha is backing us": a lone capitalised word opening the sentence as its subject.
LONE_SUBJECT = re.compile(
    rf"^[\"'(]?([{UPPER}][{LOWER}]+(?:-[{UPPER}][{LOWER}]+)?)(?='s\b|\s+(?:is|was|has|had|will|remains|seems|became|"
    r"keeps|now|ist|hat|es|est|a)\b)"
)
# Name tokens: "Dana", "O'Brien", "MacLeod", "Al-Sayed". Lower-case particles may sit between tokens.
NAME_TOKEN = re.compile(rf"(?<![\w'’.])[{UPPER}][{LOWER}]*(?:['’\-]?[{UPPER}][{LOWER}]+)*(?![\w])")
NAME_PARTICLES = frozenset("van von de der den del della da di du la le bin ten".split())

# Department words that may follow "VP", "Head of" or precede "Manager". Capitalised, as titles are.
_DEPT = (
    r"Sales|Finance|Financial|Operations|Ops|RevOps|Revenue|Marketing|Engineering|IT|Product|People|HR|"
    r"Procurement|Purchasing|Legal|Security|Data|Analytics|Enablement|Customer|Success|Support|Growth|Strategy|"
    r"Technology|Information|Partnerships|Business|Development|Platform|Infrastructure|Commercial|Digital|"
    r"Transformation|Accounting|Planning|FP&A|GTM|Go-to-Market|Systems|Applications|Risk|Compliance|Treasury|"
    r"Supply|Chain|Talent|Account|Accounts|Field|Inside|Regional|Global|EMEA|APAC|Americas|Corporate|CRM|"
    r"Program|Programs|Project|Projects|Services|Service|Experience|Insights|Intelligence|Deal|Desk|Channel|"
    r"Alliances|Procurement|Vendor|Contracts|Administration|Admin|Office|Clinical|Medical|Research|Design|"
    r"Communications|Brand|Content|Demand|Generation|Lifecycle|Retention|Renewals|Partner|Training|Learning"
)
_DEPT_RUN = rf"(?:{_DEPT})(?:\s+(?:and\s+|&\s+)?(?:{_DEPT})){{0,2}}"
ROLE = re.compile(
    "|".join(
        [
            r"\bChief (?:[A-Z][a-z]+ ){1,2}Officer\b",
            r"\b(?:S|E)?VP(?:,|\s+of)?\s+" + _DEPT_RUN + r"\b",
            r"\bVice President(?:,|\s+of)?\s+" + _DEPT_RUN + r"\b",
            r"\b(?:Global |Regional )?Head of " + _DEPT_RUN + r"\b",
            r"\b(?:Senior |Sr\.? |Managing |Executive )?Director of " + _DEPT_RUN + r"\b",
            r"\b(?:Senior |Sr\.? |Lead |Principal )?(?:" + _DEPT_RUN + r")\s+(?:Director|Manager|Lead|Leader|"
            r"Analyst|Engineer|Architect|Administrator|Admin|Specialist|Coordinator|Owner|Partner|Counsel)\b",
            r"\b(?:CEO|CFO|COO|CTO|CIO|CRO|CMO|CISO|CPO|CHRO|CDO|CCO|GC)\b",
            r"\b(?:General Counsel|Controller|Comptroller|Treasurer|Co-?[Ff]ounder|Founder|President|"
            r"Managing Director|Managing Partner|Owner)\b",
        ]
    )
)

# Capitalised words that start sentences or name things other than people.
NOT_A_NAME = frozenset(
    """
    The A An Our Their They We He She It Its This That These Those Then There Here And But Or So If When While
    After Before Since Until Once Also Still Just Only Not No Yes Per Via With Without For From To In On At By Of As
    Call Called Calls Met Meeting Meetings Spoke Talked Asked Told Sent Confirmed Heard Heads Update Updated Note
    Notes Next Last First Final Good Great Quick Short Long Main Biggest Key Top Real Core Strongest Correction
    Turns Budget Champion Champions Competition Competitive Metrics Metric Pain Paper Process Decision Criteria
    Success Target Goal Action Items Attendees Anything Everyone Everybody Nobody Nothing Someone Somebody Agreed
    Will Would Could Should Can May Might Must Did Does Do Has Have Had Is Are Was Were Be Been Please Thanks Hi
    Hello Dear Team Follow Demo Discovery Pricing Check Sync Exec Intro Kickoff Recap Summary Today Tomorrow
    Yesterday Tonight Morning Afternoon Evening Week Weekend Monday Tuesday Wednesday Thursday Friday Saturday
    Sunday January February March April June July August September October November December Feb Mar Apr Jun
    Jul Aug Sep Sept Oct Nov Dec Q Head Heads Director Manager Lead Leader Chief Officer Vice President Senior
    Junior Founder Owner Partner Counsel General Controller Administrator Admin Analyst Engineer Architect
    Specialist Coordinator Operating Executive Managing Principal Global Regional Corp Corporation Inc Ltd Llc Co
    Company Group Labs Bank Systems Industries Health Holdings Partners Solutions Technologies Software Services
    Closed Won Lost Proposal Negotiation Qualification Stage Deal Deals Contract Order Form Legal Procurement
    Security Review Signed Signature Salesforce Hub Spot HubSpot Slack Zoom Teams Google Microsoft Excel Docu
    DocuSign Info InfoSec Sec Ops Rev RevOps Sales Finance Operations Revenue Marketing Product People Customer
    Data Analytics Enablement Support Platform Business Development Strategy Growth Accounting Planning Procure
    Turned Looks Looking Seems Sounds Went Got Gave Made Moved Spent Shared Sent Left Joined Introduced Booked
    Explained Mentioned Said Says Wants Needs Plans Expect Expects Expected Everyone Reps Rep Sales
    Strong Weak Big Small New Old Former Current Overall Some Many Most All Both Each Every Any Either Neither
    Ask Tell Let Get Make Take Give Send Share Book Loop Find Keep Try Set Ignore System Assistant
    Success Customer Onboarding Renewal Renewals Expansion Pilot Rollout Upgrade Platform Suite Add On Seat Seats
    Emea Apac Americas Europe Asia America North South East West Lisbon London Paris Berlin York
    Der Die Das Den Dem Des Ein Eine Einen Einem Einer Wir Sie Er Es Ihr Ihre Unser Unsere Wer Was Wie Wo Noch
    Auch Aber Und Oder Dann Heute Morgen Termin Ziel Budget Einkauf Entscheidend Leiter Leiterin Geschäftsführer
    Geschäftsführerin Vertrag Projekt Team Kunde Kunden Laut Beim Bei Mit Nach Vor Im Am Zum Zur Herr Frau
    El La Los Las Un Una Unos Unas Lo Al Del Hoy También Quien Quieren Quiere Reunión Llamada Nos Nada Ella Él
    Ellos Ellas Nosotros Pero Porque Cuando Como Según Objetivo Presupuesto Contrato Director Directora Señor
    Señora Dueño Dueña Equipo Cliente Clientes Todavía Ya Sin Con Para Por Sobre Entre Además Según
    Le Les Une Des Du Au Aux Il Elle Ils Elles Nous Vous On Mais Ou Et Donc Aujourd Ensuite Selon Objectif
    Directeur Directrice Monsieur Madame Équipe Contrat Appel Réunion Avec Pour Sans Chez Dans Sur Leur Leurs
    Dr Prof Mx
    """.split()
)

# --------------------------------------------------------------------------------------------- metrics
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"dos|tres|cuatro|cinco|seis|diez|zwei|drei|vier|f[üu]nf|sechs|zehn|deux|trois|quatre|cinq|six|dix)"
)
_UNIT = (
    r"(?:hours?|hrs?|days?|weeks?|months?|quarters?|years?|minutes?|mins?|seconds?|points?|pts|FTEs?|headcount|"
    r"heads|people|reps?|deals?|accounts?|tickets?|calls?|leads?|horas?|d[íi]as?|semanas?|meses|mes|minutos?|"
    r"stunden|tage[n]?|wochen|monate[n]?|minuten|heures?|jours?|semaines?|mois|ans)"
)
QUANTITY = re.compile(
    rf"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?\s?(?:k|m|bn|million|billion|thousand)?\b"
    rf"|\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|pct\b|x\b|×)"
    rf"|\b\d[\d,]*(?:\.\d+)?\s?(?:k|m)?\s?(?:business |working |full |calendar )?{_UNIT}\b"
    rf"|\b{_NUMBER_WORD}\s+(?:business |working |full |calendar )?{_UNIT}\b"
    rf"|\b\d[\d,]*\b(?=\s?(?:/|\s(?:a|an|per|each|every|al|pro|par)\s)(?:day|week|month|year|shift|d[íi]a|semana|mes|"
    rf"tag|woche|monat|jour|semaine|mois)\b)"
    rf"|\bfrom \d[\d,.]*\b[^,;]{{0,25}}?\bto \d[\d,.]*"
    rf"|\b(?:to|a|auf|[àa]) (?:zero|cero|null|z[ée]ro)\b"
    rf"|\b(?:same|next)[- ]day\b"
    rf"|\b(?:double|doubling|triple|tripling|halve|halving|quadruple)\b(?!-))",
    I,
)
METRIC_CUE = _rx(
    r"\b(?:cut|cuts|cutting|reduc\w+|sav(?:e|es|ed|ing)|increas\w+|improv\w+|lift\w*|boost\w*|grow\w*|shorten\w*|"
    r"shrink\w*|decreas\w+|lower\w*|rais\w+|doubl\w+(?!-)|tripl\w+|halv\w+|recover\w*|eliminat\w+|accelerat\w+|"
    r"speed(?:ing)? up|free(?:ing)? up|hit|reach|achieve|fewer|bring\b[^,;]{0,30}\b(?:down|under|below|to)|"
    r"get\b[^,;]{0,30}\b(?:down|under|below))\b",
    r"\b(?:down|up) from\b",
    r"\bby \d",
    r"\b(?:roi|payback|kpis?|target|goal|objective|success (?:metric|criteria|means|looks like))\b",
    r"\b(?:bajar|reducir|aumentar|subir|mejorar|recortar|disminuir|objetivo|meta)\b",
    r"\b(?:ziel|senken|reduzieren|steigern|erh[öo]hen|verbessern|verk[üu]rzen|halbieren|verdoppeln)\b",
    r"\b(?:objectif|cible|r[ée]duire|baisser|augmenter|am[ée]liorer|diminuer|atteindre)\b",
)
# Someone wants a number: "She wants churn under 2%", "Quieren bajar ... un 25 %", "Ziel: ...".
METRIC_WANT = _rx(
    r"\b(?:wants?|wanted|would like|hopes?|aims?|aiming|plans?|expects?|needs?|goal|target|objective|aspiration)\b",
    r"\b(?:quieren|quiere|esperan|buscan|objetivo|meta)\b",
    r"\b(?:wollen|m[öo]chten|ziel|zielen)\b",
    r"\b(?:veulent|veut|souhaitent|souhaite|visent|vise|objectif)\b",
)
METRIC_WANT_LEAD = re.compile(
    r"^(?:[\w'-]+\s+){0,5}?(?:wants?|would like|hopes?|aims?|plans?|expects?|needs?|quieren|quiere|wollen|"
    r"m[öo]chten|veulent|veut|souhaitent|souhaite)\s+(?:to\s+)?",
    I,
)
# What a goal may be stated with: a quantity, or a comparison to a bare number ("wants it under 10").
METRIC_GOAL_QUANTITY = re.compile(
    QUANTITY.pattern + r"|\b(?:zero|cero|null|z[ée]ro)\b"
    r"|\b(?:under|below|above|over|at least|at most|less than|more than|fewer than|at|to|within)"
    r"\s+~?\d[\d,.]*",
    I,
)
METRIC_RATE = _rx(
    r"(?:/\s?|\s(?:a|an|per|each|every|al|pro|par|im)\s)(?:day|week|month|year|quarter|cycle|shift|transfer|"
    r"d[íi]a|semana|mes|a[ñn]o|tag|woche|monat|jahr|jour|semaine|mois|an)\b",
    r"\b(?:daily|weekly|monthly|yearly|annually|every day|a day|al d[íi]a|pro tag|par jour)\b",
)
# A measured state of affairs: a rate, a share, or time and money spent.
METRIC_BASELINE = _rx(
    METRIC_RATE.pattern,
    r"\d\s?(?:%|percent\b)",
    r"\b(?:takes?|took|taking|spends?|spent|spending|lose|loses|lost|losing|wastes?|wasted|costs?|runs? at|"
    r"tardan?|dauert|dauern|kostet|prend|prennent|perd\w*)\b",
)
METRIC_TIME_COST = _rx(
    r"\b(?:takes?|took|taking|spends?|spent|spending|wastes?|wasted|costs?|tardan?|dauert|dauern|kostet|prend|"
    r"prennent)\b"
)
PRONOUN_OBJECT = re.compile(r"^(?:it|this|that|them|those|these)\b", I)
# Money talk about our price is not the buyer's metric.
METRIC_NOT = _rx(
    r"\b(?:discount\w*|(?<!-)quoted?|(?<!-)quotes|pric(?:e|es|ing)|per seat|list price|licen[cs]e(?: fee)?|invoice\w*|"
    r"contract value|acv|tcv|payment terms|net \d+|deal size of|budget of|budget is|amount|spend over|over \$)\b",
    r"\b(?:no|not|haven't|hasn't|have not|without)\b[^.;]{0,25}\b(?:numbers?|metrics?|quantif\w+|kpis?)\b",
)
NOT_A_QUANTITY = re.compile(
    r"\b(?:19|20)\d\d\b|\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|\bQ[1-4]\b|\b\d{1,2}(?:st|nd|rd|th)\b", I
)

# --------------------------------------------------------------------------------------- identified pain
PAIN_CUE = _rx(
    r"\bpain(?:s|ful)?\b",
    r"\bpain points?\b",
    r"\bstruggl\w*",
    r"\bfrustrat\w*",
    r"\bproblems?\b",
    r"\bchallenges?\b",
    r"\bbottlenecks?\b",
    r"\bheadaches?\b",
    r"\bcomplain\w*",
    r"\blos(?:ing|e|es|t) (?:time|money|hours|days|deals|revenue|customers|visibility|track|sleep)\b",
    r"\bhurts?\b",
    r"\b(?:fall|falls|falling|fell|slip|slips|slipping|slipped) through the cracks\b",
    r"\bno visibility\b",
    r"\bnobody trusts\b",
    r"\bbiggest complaint\b",
    r"\bblockers?\b",
    r"\b(?:biggest|main|key|real|core|major) issues?\b",
    r"\bnightmare\b",
    r"\bsuffer\w*",
    r"\berror-prone\b",
    r"\bkeeps? (?:breaking|failing)\b",
)
PAIN_NOT = _rx(
    r"(?:\b(?:no|not|without|any|hardly|little)\b|n't\b)[^.;]{0,25}\b(?:pain|problems?|issues?|urgency|challenges?)\b",
    r"\bnice[- ]to[- ]have\b",
    r"\b(?:pain|problem|challenge)s? (?:isn't|is not|aren't|are not|wasn't|was not)\b",
    r"\bno problem\b",
    r"\b(?:done|good|great|fine|sense|strong) on paper\b",
)
# What a pain looks like when nobody calls it one: manual work, blind spots, delay, loss, error.
_INFO_VERB = (
    r"(?:see|find|track|tell|tie|get|segment|report|trust|measure|know|access|share|reconcile|forecast|keep up|"
    r"keep track|scale|search|attribute|follow|monitor|prove|match|connect|sync|answer|plan|predict|spot)"
)
PAIN_SYMPTOM = _rx(
    r"\bby hand\b|\bmanual(?:ly)?\b|\bre-?key\w*|\bre-?enter\w*|\bre-?typ(?:e|es|ed|ing)\b|\bcopy[- ]?past\w*|"
    r"\bdouble[- ]entry\b",
    r"\b(?:in|on|via|through|using) (?:a |shared |their )?(?:spreadsheets?|excel|google sheets|paper|post-its?|"
    r"sticky notes|whiteboards?)\b|\bpaper[- ]based\b|\bspreadsheets?\b",
    r"\b(?:by|via|over the) (?:phone|email|e-mail|text|fax|post|whatsapp)\b|\bover the phone\b",
    rf"\b(?:can't|cannot|can not|unable to|no way to|couldn't|could not)\s+(?:\w+\s+)?{_INFO_VERB}\b",
    r"\b(?:nobody|no one)\s+(?:can|could|knows|sees|trusts|owns)\b",
    r"\btoo (?:late|long|slow|often|many|much time)\b",
    r"\b(?:errors?|mistakes?|typos?)\b(?! message)",
    r"\bmiss(?:ed|es|ing)\b(?! (?:the |our |each |a )?(?:call|meeting|other|you|them))",
    r"\blos(?:e|es|ing) (?:track|maybe|about|roughly|around|\d|one|a lot|hours|days|time|money|deals|customers|"
    r"revenue|orders|data|leads)\b|\blost (?:track|time|hours|revenue|money|customers|data|leads|orders)\b",
    r"\blost (?:\w+ ){1,2}(?:customers|clients|deals|accounts|orders|contracts)\b",
    r"\blate (?:deliveries|payments|shipments|invoices|filings)\b",
    r"\b(?:double[- ]book\w*|duplicat\w+|overbook\w*)\b",
    r"\b(?:delays?|delayed|backlogs?|late payments?)\b",
    r"\bchurn\b|\bno-?shows?\b|\bunder-?bill\w*|\brefund\w*|\bescalat\w+|\bmess\b|\bmessy\b|\bchao(?:s|tic)\b",
    r"\bfailed (?:audit|inspection|review|launch|rollout|migration)s?\b",
    r"\b(?:spends?|spending|spent|wastes?|wasting|wasted|takes?|took|taking)\s+(?:[\w~]+\s+){0,4}?~?"
    r"(?:\d[\d,.]*|two|three|four|five|six|seven|eight|ten|twelve)(?:[-–]\d+)?\s*(?:business |working )?"
    r"(?:hours?|hrs?|days?|weeks?|months?|minutes?|mins?)\b",
    r"\bcost(?:s|ing)? (?:them|us|each \w+|every \w+|the \w+)? ?(?:about |roughly |around |~)?[$€£]?\d",
    r"\bcost(?:s|ing)? (?:them|us) (?:a|an|the) (?:major |big |key |large )?\w+",
    # German, Spanish, French
    r"\bper hand\b|\bmanuell\w*|\bh[äa]ndisch\w*|\bhinterher\b|\bkeine? (?:live|echtzeit|[üu]bersicht|transparenz|"
    r"sicht|zentrale)\w*|\bauf papier\b|\bfehler\w*|\bverz[öo]ger\w*|\bzu (?:sp[äa]t|lange|langsam)\b|"
    r"\bverlier\w*|\bverloren\b|\babtipp\w*|\bdoppelt (?:erfasst|gebucht|eingegeben)\b|\bin excel\b|\bbeschwer\w*",
    r"\ba mano\b|\bmanualmente\b|\bpor (?:whatsapp|tel[ée]fono|correo|email|e-mail|papel)\b|\ben (?:excel|papel)\b|"
    r"\bhojas de c[áa]lculo\b|\bno (?:pueden|puede|podemos|saben|sabe) (?:ver|saber|encontrar|seguir|controlar)\b|"
    r"\btardan?\b|\bpierden?\b|\berrores\b|\bsin cubrir\b|\bretrasos?\b|\bse quejan\b|\bquejas?\b",
    r"\b[àa] la main\b|\bmanuellement\b|\bressaisi\w*|\bpar (?:t[ée]l[ée]phone|e-?mail|courriel|whatsapp|papier)\b|"
    r"\b(?:sur|dans|sous) (?:excel|papier)\b|\btableurs?\b|\bperd(?:ent|ons|ez)?\b|\berreurs\b|\bretards?\b|"
    r"\bplaintes?\b|\bse plaignent\b|\bne (?:peuvent|peut|pouvons) pas\b|\bimpossible de\b|\btrop (?:long|tard"
    r"|lent)\w*",
)
# "Tom Riley says ...", "She explained that ...": who said it is not part of the pain.
PAIN_ATTRIBUTION = re.compile(
    r"^(?:[\w.'-]+\s+){0,6}?(?:said|says|explained|mentioned|noted|told us|complained|described|admitted|"
    r"confirmed|dijo|explic[óo]|coment[óo]|sagt|sagte|erkl[äa]rte|dit|explique|a expliqu[ée])(?: that| que| dass| qu')?"
    r"[\s:,]+",
    I,
)
# A lead-in that names the pain rather than describing it ("Main pain:", "They're struggling with").
PAIN_LEAD = re.compile(
    r"^(?:[\w'’-]+\s+){0,6}?(?:pain(?: point)?s?|problems?|issues?|challenges?|headaches?|complaints?|bottlenecks?|"
    r"struggl\w+(?: with| to)?|frustrat\w+(?: that| with| by| about)?|complain\w+(?: about| that)?|"
    r"hurts? most(?: today| right now)?|losing time (?:to|on)|suffer\w*(?: from)?)\b"
    r"[\s:,-]*(?:(?:right now|today|for them|here|so far)\s+)?(?:(?:is|was|are|were)\s+)?"
    r"(?:(?:mostly|mainly|largely|all|really)\s+)?(?:(?:that|about)\s+)?",
    I,
)

# -------------------------------------------------------------------------------- decision criteria
CRITERIA_CUE = _rx(
    r"\bdecision criteria\b",
    r"\bcriteri(?:a|on)\b",
    r"\bjudg\w* (?:vendors |us |them |tools |options |solutions )?on\b",
    r"\bevaluat\w* (?:vendors |us |tools |options |solutions )?(?:on|against|based on)\b",
    r"\bcompar\w* (?:[\w-]+ ){0,4}on\b",
    r"\bscor(?:ecard|ing)\b",
    r"\bmust[- ]haves?\b|\bmusts\b",
    r"\brequirements?\b",
    r"\bmatters? (?:most|a lot|more|to (?:them|him|her))\b",
    r"\bcare(?:s)? (?:most |a lot |deeply |mostly )?about\b",
    r"\bpriorit(?:y|ies)\b",
    r"\b(?:deciding|key|main|biggest|big|top|primary) (?:factors?|things?|concerns?|requirements?|questions?)\b",
    r"\bmost important\b|\bimportant (?:to|for) (?:them|him|her)\b",
    r"\bweigh(?:s|ts|ting)?\b",
    r"\bnon-negotiable\b",
    r"\bdeal-?breakers?\b",
    r"\bselection\b",
    r"\blooking for\b",
    r"\bcomes? down to\b",
    r"\bhinges? on\b|\bhinge on\b",
    r"\bdecide (?:on|based on|it|this)\b|\bwill decide\b|\bdecides it\b",
    r"\bwon't compromise on\b",
    r"\b(?:it's|it is|is|are) all about\b",
    r"\b(?:pick|picks|choose|chooses|select|selects|go with|goes with)\b[^.;]{0,20}\b(?:whichever|vendor|tool|"
    r"solution|based on)\b",
    # German, Spanish, French
    r"\bentscheidend\w*|\bausschlaggebend\w*|\bkriteri(?:en|um)\b|\bwichtig\w*|\banforderung\w*|\blegen wert auf\b",
    r"\bimportante?s?\b|\bcriterios?\b|\brequisitos?\b|\bdecisiv[oa]\b|\bclave\b|\bpesa\b|\bprioridad\w*",
    r"\bcrit[èe]res?\b|\bessentiel\w*|\bexigences?\b|\bd[ée]cisi(?:f|ve)\b|\bcompte(?:nt)? (?:le plus|beaucoup)\b|"
    r"\btiennent [àa]\b",
)
# Weaker cues: they make a criterion of what follows them in the same sentence ("wants reporting and a price ...").
CRITERIA_WANT = _rx(
    r"\b(?:wants?|wanted|needs?|needed|requires?|required|asked for|asks for|asking for|expects?|insists? on|must|"
    r"has to|have to)\b",
    r"\b(?:quieren|quiere|necesitan|necesita|pidieron|piden|pide|exigen|requieren|buscan)\b",
    r"\b(?:wollen|brauchen|braucht|ben[öo]tigen|fordern|erwarten|m[üu]ssen|muss)\b",
    r"\b(?:veulent|veut|ont besoin|a besoin|exigent|demandent|cherchent|doit|doivent)\b",
)
CRITERIA_NEGATED = _rx(
    r"\b(?:not|isn't|aren't|doesn't|don't|no longer|never|less important|least|irrelevant|secondary|"
    r"nice-to-have|not a factor|no concern)\b",
    r"\b(?:nicht|kein\w*|weniger wichtig|no es|menos importante|pas|moins important)\b",
)
# Keyword patterns per default option. A workspace's own option names are also matched literally.
CRITERIA_KEYWORDS: dict[str, re.Pattern[str]] = {
    "Security": _rx(r"\bsecurity\b(?! review| questionnaire| team| assessment)", r"\bSSO\b", r"\bSAML\b",
                    r"\bSOC ?2\b", r"\bencrypt\w*", r"\bpen(?:etration)? test\w*", r"\bdata protection\b",
                    r"(?<!revisión de )(?<!cuestionario de )\bseguridad\b", r"\bsicherheit\b",
                    r"(?<!revue de )(?<!questionnaire de )\bs[ée]curit[ée]\b"),
    "Price": _rx(r"\bpric(?:e|es|ing)\b", r"\bcosts?\b", r"\bTCO\b", r"\baffordab\w+", r"\bcheap\w*",
                 r"\bbudget\b", r"\bprecios?\b|\bcostes?\b|\bcostos?\b", r"\bpreis\w*|\bkosten\b",
                 r"\bprix\b|\bco[ûu]ts?\b|\btarifs?\b"),
    "Integrations": _rx(r"\bintegrat\w+", r"\bAPIs?\b", r"\bconnectors?\b", r"\bplug[- ]?ins?\b",
                        r"\b(?:work|works|working|connect|connects|sync|syncs|talk|talks) (?:\w+ )?with (?:their|our"
                        r"|the|its|"
                        r"existing)\b",
                        r"\b(?:work|works|working|connect|connects|sync|syncs|talk|talks|plug|plugs) (?:\w+ )?(?:with"
                        r"|into) "
                        r"(?-i:[A-Z])",
                        r"\bse integre\w*|\bintegraci[óo]n\w*|\bintegrar\b", r"\bschnittstelle\w*|\banbindung\w*",
                        r"\bint[ée]gration\w*|\bs'int[ée]gr\w+|\bconnecteurs?\b"),
    "Ease of use": _rx(r"\bease of use\b", r"\beasy (?:to use|it is)\b", r"\bhow easy\b", r"\busab\w+",
                       r"\buser[- ]friendly\b", r"\bintuitive\b", r"\badoption\b", r"\blearning curve\b",
                       r"\bsimplicity\b",
                       r"\b(?:easy|simple) (?:enough )?(?:for [\w ]{1,30} )?to (?:use|learn|adopt)\b",
                       r"\beasy for\b", r"\bwithout training\b", r"\badopt(?:s|ed|ing)?\b",
                       r"\bf[áa]cil(?:es)? de usar\b|\bfacilidad de uso\b|\busabilidad\b|\bsencill\w+ de usar\b",
                       r"\bbenutzerfreundlich\w*|\beinfach(?:e|en)? (?:zu )?bedien\w*|\bbedienbarkeit\b",
                       r"\bfacilit[ée] d'utilisation\b|\bfacile(?:s)? (?:à|a) (?:utiliser|prendre en main)\b|"
                       r"\bprise en main\b|\bergonomi\w+"),
    "Support": _rx(r"\bsupport\b", r"\bcustomer success\b", r"\bSLAs?\b", r"\bservice levels?\b",
                   r"\bresponsiveness\b", r"\bsoporte\b|\batenci[óo]n al cliente\b", r"\bkundendienst\b|\bbetreuung\b",
                   r"\bassistance\b|\baccompagnement\b"),
    "Scalability": _rx(r"\bscal(?:e|es|ing|ability|able)\b", r"\bperformance\b", r"\bhigh volumes?\b",
                       r"\bescalab\w+", r"\bskalier\w+", r"\bscalabilit[ée]\b|\bmont[ée]e en charge\b"),
    "Compliance": _rx(r"\bcomplian(?:ce|t)\b", r"\bGDPR\b", r"\bHIPAA\b", r"\bSOX\b", r"\bregulat\w+",
                      r"\baudit[- ](?:trails?|logs?|ready|readiness|requirements?)\b", r"\bauditab\w+",
                      r"\bdata residency\b", r"\bISO ?27001\b", r"\bFERPA\b", r"\bPCI\b",
                      r"\bcumplimiento\b|\bnormativ\w+|\bregulatori\w+",
                      r"\bdsgvo\b|\bdatenschutz\w*|\bregulatorisch\w*",
                      r"\bconformit[ée]\b|\brgpd\b|\br[ée]glementaire\w*"),
    "Reporting": _rx(r"\breport(?:s|ing)?\b", r"\bdashboards?\b", r"\banalytics\b", r"\bvisibility\b",
                     r"\binsights?\b", r"\binformes\b|\breportes\b|\bcuadros? de mando\b|\banal[íi]tica\b",
                     r"\bberichte?\w*|\bauswertung\w*", r"\brapports?\b|\btableaux? de bord\b"),
}

# ------------------------------------------------------------------------------------ paper process
PAPER_KEYWORDS: dict[str, re.Pattern[str]] = {
    "Not started": _rx(
        r"\b(?:paper ?work|paper process|contracting|contract process)\b[^.;]{0,30}\b(?:hasn't|has not|haven't|"
        r"have not|not yet|not|hadn't)\s+(?:yet\s+)?(?:started|begun|kicked off)\b",
        r"\b(?:no|haven't started|have not started|not started)\s+(?:the |any )?(?:paper ?work|paper process|"
        r"contracting)\b(?! (?:is |was )?(?:needed|required|necessary))",
        r"\bno (?:han|hemos) (?:iniciado|empezado|comenzado)\b|\bning[úu]n tr[áa]mite\b",
        r"\bnoch nicht (?:begonnen|gestartet|angefangen)\b|\bnoch kein(?:e|en)? (?:vertrag|papierkram|einkauf)\b",
        r"\bpas encore (?:commenc[ée]|d[ée]marr[ée]|lanc[ée])\b|\baucune d[ée]marche\b",
    ),
    "Security review": _rx(
        r"\bsecurity (?:review|questionnaire|assessment|team|audit)\b", r"\binfosec\b", r"\bvendor risk\b",
        r"\bSIG (?:lite|questionnaire)\b", r"\bCAIQ\b", r"\bpen ?test (?:results|report)\b",
        r"\bour questionnaire\b",
        r"\bsecurity\b[^.;]{0,20}\breview(?:ing|ed|s)?\b", r"\bSOC ?2 (?:report|review)\b",
        r"\b(?:revisi[óo]n|cuestionario|evaluaci[óo]n) de seguridad\b",
        r"\bsicherheits(?:pr[üu]fung|fragebogen|review|audit)\b|\bit-sicherheit\b",
        r"\b(?:revue|questionnaire|audit|[ée]valuation) de s[ée]curit[ée]\b|\brssi\b",
    ),
    "Legal review": _rx(
        r"\blegal\b", r"\bredlin\w+", r"\bMSA\b", r"\bDPA\b",
        r"(?<!general )\bcounsel\b",
        r"\bcontract review\b",
        r"\bjur[íi]dic[oa]\b|\babogad[oa]s\b|\brevisi[óo]n legal\b",
        r"\brechtsabteilung\b|\bjurist(?:en|in)?\b|\banw[äa]lt\w*|\bvertragspr[üu]fung\b",
        r"\bjuridique\b|\bjuristes?\b|\bavocats?\b",
    ),
    "Procurement": _rx(
        r"\bprocurement\b", r"\bpurchase order\b", r"(?-i:\bPOs?\b)", r"\bvendor (?:onboarding|registration|setup)\b",
        r"\bset(?:ting)? us up as a (?:vendor|supplier)\b", r"\bsupplier onboarding\b", r"\bsourcing\b",
        r"\bpurchasing\b",
        r"\bsupplier (?:questionnaire|forms?|registration|portal)\b|\bvendor (?:forms?|questionnaire|portal)\b",
        r"\b(?:departamento de |[áa]rea de )?compras\b|\borden de compra\b|\balta de proveedor\b",
        r"\beinkauf\b|\bbeschaffung\b|\bbestellung\b|\blieferanten(?:anlage|registrierung|fragebogen)\b",
        r"\b(?:service |direction )?(?:des )?achats\b|\bbon de commande\b|\br[ée]f[ée]rencement fournisseur\b",
    ),
    "Awaiting signature": _rx(
        r"\b(?:out|sent|ready) for (?:e-?)?signature\b",
        r"\b(?:awaiting|waiting on|waiting for|pending) (?:their |the )?(?:signature|countersignature|signatures)\b",
        r"\bdocusign\b", r"\badobe sign\b", r"\bready to sign\b", r"\bwith (?:their|the) signatory\b",
        r"\bpendiente de firma\b|\b(?:enviado|enviada|listo|lista) para (?:la )?firma\b",
        r"\bzur unterschrift\b|\bunterschrift (?:steht )?aus\w*|\bwartet auf (?:die )?unterschrift\b",
        r"\ben attente de signature\b|\benvoy[ée]e? pour signature\b|\bpr[êe]t (?:à|a) signer\b",
    ),
    "Signed": _rx(
        r"\bcountersigned\b", r"\bfully executed\b",
        r"\bexecuted (?:the )?(?:contract|agreement|order form)\b",
        r"\b(?:contract|order form|agreement|MSA|paperwork|deal|SOW)\s+(?:is |was |has been |got |been |now )?"
        r"(?:fully )?(?:signed|executed)\b(?! off)",
        r"\bsigned (?:the )?(?:contract|order form|agreement|SOW)\b",
        r"^\W*(?:signed|contract signed|deal signed|closed[- ]won)\s*[!.]",
        r"\bsigned\b[^.;,]{0,20}\b(?:order form|contract|agreement|SOW)\b",
        r"\b(?:accepted|agreed to) (?:our |the )?(?:click-?through |online |standard )?terms\b",
        r"\bterms\b[^.;]{0,25}\b(?:accepted|agreed to)\b",
        r"\bcontrato (?:ya )?(?:est[áa] )?firmado\b|\bfirmaron (?:el contrato|la orden)\b",
        r"\bvertrag (?:ist |wurde )?(?:unterschrieben|unterzeichnet)\b|\bhaben unterschrieben\b",
        r"\bcontrat (?:est |a [ée]t[ée] )?sign[ée]\b|\bont sign[ée]\b",
    ),
}
PAPER_DONE = _rx(
    r"\b(?:done|complete[d]?|finished|cleared|passed|wrapped up|approved|signed off|behind us|closed out|"
    r"got through|made it through|out of the way)\b",
    r"^\s*after\b",
)
PAPER_FUTURE = _rx(
    r"\b(?:next|will|then|once|upcoming|soon|going to|needs? to|have to|has to|before|later|queued|expect)\b",
    r"\b(?:offered to|introduce us to|intro to|loop in|looping in|connect us with)\b",
    r"'ll\b",
)
PAPER_NEGATED = _rx(
    r"\b(?:no|not|haven't|hasn't|have not|has not|without|yet to|never|nobody|no one)\b",
    r"\b(?:nada|todav[íi]a no|ning[úu]n|sin|noch nicht|nicht|kein\w*|pas encore|aucun\w*|sans)\b",
)
# Just after a step: "Procurement hasn't started yet", "legal is not involved".
PAPER_NEGATED_AFTER = re.compile(
    r"\s*(?:(?:has|have|is|was|are|were|had)\s+)?(?:not|n't|hasn't|haven't|isn't|aren't|wasn't|never|yet to)\b"
    r"|\s*(?:hat|ist)\s+noch\s+nicht\b|\s*(?:no|todav[íi]a no)\s+ha\b|\s*n'a pas\b",
    I,
)
# A hedge anywhere in the sentence: a guess at the process is not the process.
PAPER_UNCERTAIN = _rx(
    r"\b(?:thinks?|believes?|assumes?|guess\w*|probably|maybe|perhaps|might|not sure|unsure|unclear|don't know|"
    r"do not know|no idea|vielleicht|wahrscheinlich|quiz[áa]s?|tal vez|probablemente|peut-[êe]tre|probablement)\b",
    r"\?\s*$",
)

# -------------------------------------------------------------------------------------- competition
COMPETITION_CUE = _rx(
    r"\bshortlisted (?:us )?(?:alongside|with|next to)\b|\b(?:other )?finalists?(?: (?:are|is|include))?\b",
    r"\b(?:evaluating|comparing|benchmarking|testing|trialling|trialing|piloting) (?:us |them |it )?"
    r"(?:against|alongside|side by side with)\b",
    r"\b(?:also |currently |now |still )?(?:looking at|evaluating|considering|trial(?:l)?ing|piloting|demoing)\b",
    r"\balso (?:talking to|speaking with|in talks with|meeting)\b",
    r"\bcompar(?:e|es|ed|ing) (?:us |them |it )?(?:to|with|against)\b",
    r"\bup against\b",
    r"\bversus\b",
    r"\bvs\b\.?",
    r"\bcompetitors?(?: (?:is|are|include|includes))?\b",
    r"\bcompetition(?: (?:is|from|includes))?\b",
    r"\bcompeting (?:with|against)\b",
    r"\bcompetitive(?: (?:situation|landscape|set))?\b",
    r"\bincumbent(?: is| vendor is)?\b",
    r"\bshortlist(?:ed)?(?: (?:includes|is))?\b",
    r"\bbake-?off(?: (?:against|with|between))?\b",
    r"\bin the (?:mix|running|picture)\b",
    r"\b(?:demo|demos|proposal|proposals|quote|quotes|pitch|pitches|bid|bids|rfp response|poc|pilot) from\b",
    r"\bpitching them\b",
    r"\balternatives?(?: (?:is|are|include))?\b",
    r"\binstead of us\b",
    r"\bagainst us\b",
    r"\bcurrently (?:use|uses|using|on|run|runs|running)\b",
    r"\bmoving (?:off|away from)\b",
    r"\breplac(?:e|es|ing) (?:their |the )?(?:current |existing |old )?(?:tool|vendor|system|platform|provider)\b",
    r"\bpitched (?:them|us|their team|the team)\b",
    r"\bleaning (?:towards?|to)\b|\b(?:tool|vendor|one|product) to beat\b",
    r"\bhead[- ]to[- ]head (?:with|against)\b|\boptions? (?:on the table|being considered|under consideration)\b",
    r"\b(?:also|another|separate|competing) (?:have |has |had )?(?:a |an )?(?:demo|pilot|poc|trial|bake-off)s? "
    r"(?:booked |scheduled |lined up |planned )?with\b|\b(?:demo|pilot|poc|trial)s? (?:booked|scheduled"
    r"|lined up) with\b",
    r"\b(?:who|what|which) they (?:use|run|are on|have) (?:today|now|currently|at the moment)\b",
    r"\b(?:other|another|main|only other|second) (?:option|contender|vendor|bidder)\b",
    r"\b(?:their|the) (?:current|existing|old|legacy) (?:tool|vendor|system|platform|provider|solution|software)\b",
    # German, Spanish, French
    r"\b(?:wettbewerber|mitbewerber|konkurrenz|konkurrent\w*)\b",
    r"\bvergleichen (?:uns |es )?mit\b|\bevaluieren (?:auch|parallel|zudem)\b|\bschauen sich (?:auch )?\b"
    r"|\bim rennen\b",
    r"\b(?:auch|parallel) (?:im gespr[äa]ch mit|mit \w+ im gespr[äa]ch)\b|\bangebot von\b",
    r"\b(?:tambi[ée]n )?(?:est[áa]n |siguen )?(?:evaluando|comparando|considerando|mirando)\b(?: (?:con|a))?",
    r"\bcompetidor(?:es)?\b|\bcompetencia\b|\balternativas?\b|\bpropuesta de\b|\bhablando con\b",
    r"\bconcurren(?:ts?|ce|tes?)\b|\b(?:[ée]valuent|comparent|regardent|consid[èe]rent)(?: aussi| [ée]galement)?\b"
    r"(?: (?:avec|à))?|\ben lice\b|\bproposition de\b|\boffre de\b",
)
CURRENT_TOOL = _rx(r"\b(?:current|existing|old|legacy)\b")
INTEGRATION_TALK = _rx(r"\bintegrat\w*", r"\bconnect\w*", r"\bsync\w*", r"\bAPIs?\b", r"\bplug\w*", r"\bwork with\b",
                       r"\bschnittstelle\w*|\bintegra\w*|\bint[ée]gr\w*")
# Cues after which the vendor is usually named before the cue ("X is the incumbent").
COMPETITION_NAME_FIRST = _rx(
    r"\bincumbent\b", r"\bin the (?:mix|running|picture)\b", r"\bpitch(?:ing|ed) (?:them|us|their team|the team)\b",
    r"\balternatives?\b", r"\b(?:option|contender|vendor|bidder)\b", r"\bto beat\b",
    r"\bthey (?:use|run|are on|have)\b", r"\bconsidering\b", r"\bcompetitor\b",
    r"\bim rennen\b", r"\ben lice\b", r"\balternativas?\b", r"\bconcurrent\b",
)
COMPETITION_NOT = _rx(
    r"\b(?:not|aren't|isn't|no|without|nobody|no one|don't|doesn't|never)\b[^.;]{0,20}\b(?:evaluating|looking at|"
    r"considering|competition|competitors?|talking to|anyone else|other vendors?|alternatives?)\b",
    r"\bsole[- ]source\w*\b",
    r"\b(?:kein|keine|keinen|nicht)\b[^.;]{0,20}\b(?:wettbewerber|konkurrenz|alternativen?|andere anbieter)\b",
    r"\b(?:no|ning[úu]n|ninguna|sin)\b[^.;]{0,20}\b(?:competidor(?:es)?|competencia|alternativas?|otros proveedores)\b",
    r"\b(?:aucun|aucune|pas de|sans)\b[^.;]{0,20}\b(?:concurrents?|concurrence|alternatives?|autres fournisseurs)\b",
    r"\bonly vendor\b",
)
COMPETITION_ALTERNATIVES: list[tuple[re.Pattern[str], str]] = [
    (
        _rx(r"\b(?:an? )?in-house (?:build|solution|tool)\b",
            r"\b(?:an? )?(?:internal|home-?grown) (?:tool|build|solution|system)\b",
            r"\bbuilt (?:it )?(?:in-house|internally|themselves)\b",
            r"\bbuild(?:ing)? (?:it |this |one )?(?:in-house|themselves)\b"),
        "in-house build",
    ),
    (_rx(r"\bstatus quo\b", r"\bdo(?:ing)? nothing\b"), "status quo"),
    (_rx(r"\b(?:stay|staying|stick|sticking) (?:with|on) (?:their )?spreadsheets\b"), "spreadsheets"),
]
# A competitor name: capitalised words (with dots, digits, '&' inside), or a lower-case domain-style brand.
VENDOR = re.compile(
    r"(?:[A-Z][\w&+'-]*(?:\.[a-z]{2,4})?|[a-z][\w-]*\.(?:io|ai|com|co|app))(?:\s+(?:[A-Z][\w&+-]*|\d+)){0,2}"
)
VENDOR_SEPARATOR = re.compile(
    r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or|und|oder|y|o|e|et|ou)\s+|\s*&\s*|\s*/\s*|\s+plus\s+)"
    r"(?:(?:with|con|mit|avec|against|contra|gegen|contre)\s+)?"
)
# Products are not people, but they may well be the competition.
_PRODUCTS = frozenset("Salesforce Hub Spot HubSpot Slack Zoom Teams Google Microsoft Excel Docu DocuSign".split())
NOT_A_VENDOR = (NOT_A_NAME - _PRODUCTS) | frozenset(
    "I Us Them We You They He She It Our Their Your His Her A An The This That Another Other Both Each Several Two "
    "Three Four Five Some Any Most Mostly Anyone Everyone Nobody Q1 Q2 Q3 Q4 EOQ EOY MSA DPA SOW NDA RFP RFI PO "
    "SSO CRM ERP API ROI KPI SLA SOC GDPR HIPAA Jan".split()
)

# ------------------------------------------------------------------------------ decision process (meddpicc)
# A label that introduces the buyer's steps ("Decision process: ...", "Ablauf der Entscheidung: ..."): the
# steps are what follows the colon. A paper, security or legal process is the paper process, not this.
DP_LABEL = _rx(
    r"(?<!paper )(?<!security )(?<!legal )(?<!review )(?<!onboarding )\b(?:decision|buying|approval|purchasing|"
    r"their|the) process\s*:",
    r"\bapproval (?:chain|path|steps)\s*:",
    r"\b(?:the|their|three|two|four|several) sign-offs\s*:",
    r"\b(?:with|laid out|explained|walked us through|shared|outlined) (?:the|their) (?:steps|approval steps)\s*:",
    r"\bhow (?:they|we|the buyer) (?:decide|will decide|make the decision|buy)\s*:",
    r"\b(?:their|the) (?:timeline|decision date|approval date) (?:moved|changed|slipped)\s*:",
    r"\b(?:ablauf(?: der entscheidung)?|entscheidungsweg|entscheidungsprozess)\s*:",
    r"\b(?:el proceso(?: de (?:decisi[óo]n|compra))?|le processus(?: de d[ée]cision)?)\s*:",
)
# "the decision process is ...": the steps follow the verb.
DP_IS = _rx(
    r"\b(?:decision|buying|approval) process (?:is|was|will be|looks like)\s+",
    r"\bpath to a decision (?:is|was|will be)\s+",
)
# Without a label: a deciding body, what it does and when ("the board approves in April", "cabinet votes on
# 9 July", "risk committee, which meets on 28 April"). All three are needed.
DP_BODY = _rx(
    r"\b(?:board|committee|cabinet|panel|council|commissioners|partners|vorstand|aufsichtsrat|gesch[äa]ftsf[üu]hrung|"
    r"comit[ée]|junta|consejo|conseil)\b",
)
DP_ACT = _rx(
    r"\b(?:approves?|approval|approved by|votes?|signs? off|sign-offs?|recommends?|decides?|needs|meets on|"
    r"planned for|slipped to|now expected|goes to|go to|entscheide[nt]?|genehmig\w*|aprueba\w*|aprobaci[óo]n|"
    r"valide\w*|d[ée]cide\w*|vote\w*)\b",
)
DP_WHEN = _rx(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b",
    r"\b(?:januar|februar|m[äa]rz|juni|juli|oktober|dezember|enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
    r"septiembre|octubre|noviembre|diciembre|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|"
    r"octobre|novembre|d[ée]cembre)\b",
    r"\bQ[1-4]\b", r"\b(?:end of|by) the (?:quarter|year|month)\b", r"\bquarter\b", r"\bfiscal year\b",
    r"\b(?:first|second|last) (?:monday|tuesday|wednesday|thursday|friday)\b", r"\bweek of\b",
)
# Not (yet) a stated process: unknown, guessed or still open.
DP_NOT = _rx(
    r"\b(?:doesn't|don't|does not|do not|didn't|did not) know\b", r"\b(?:not|isn't|aren't|wasn't) sure\b",
    r"\bunsure\b", r"\bunknown\b", r"\bunclear\b", r"\bno idea\b", r"\b(?:nobody|no one) has (?:told|said)\b",
    r"\bguess\w*\b", r"\bmight\b", r"\bmaybe\b", r"\bprobably\b", r"\bstill being worked out\b",
    r"\bnot (?:yet )?(?:clear|known|decided)\b", r"\bnoch offen\b", r"\bnoch unklar\b", r"\bno sabemos\b",
    r"\btodav[íi]a no\b", r"\bne sait pas\b", r"\bpas encore clair\b", r"\?\s*$",
)
