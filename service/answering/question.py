"""Question analysis: what kind of answer a question expects, and what it is about.

The reader needs three things from a question before it looks at a sentence: the kind of answer ("a dose", "a
date", "yes or no"), the thing the answer is about (the focus: a drug, a trial, a condition) and the attribute
asked for (the dose, the half-life, the side effects). These are read off English question grammar (the wh-word,
the noun after it, the auxiliary verb that opens a yes/no question) with word lists of general English and
general medical-question words; no word of any corpus appears here. A parser would need a model download (spaCy's
English model is a third-party upload), and these rules measure well on a labelled set of lay questions
(`python -m citeqa.service.answering.question --evaluate FILE`), at about 0.1 ms a question.

Conventions the rules follow (and the labelled set records):
- "How many men and women ...?" is ONE part with answer type "number" and asks_for ("men", "women"): one sentence
  usually answers it ("nine men and three women"). A question splits into parts only where both sides of an
  "and", comma, semicolon or question mark carry their own question cue ("When was X approved and who makes it?").
  A later part that names no focus of its own takes the earlier part's ("... and how long do I take it?"), and its
  text gets that focus in place of "it"/"they"/"them".
- "Which drugs ...?" (plural) is a list; "which drug ...?" (singular) is named. "Where" is named (a place).
  "How does X work?" is a reason (the mechanism); "how does X affect Y", "what happens if", "tell me about" are
  other. "What is X used for?" is a list (its uses). "How many tablets/mg" is an amount, "how many days" a
  duration, "how many times a day" a frequency. An aux-first question is yes/no unless it is an alternative
  over frequencies ("once or twice a day?") or opens an embedded question ("do you know how long ...").
- Focus phrases are the question's own text (typos kept: the spelling stage matches them to the corpus);
  asks_for is in corrected lower case ("side efects" -> "side effects"), then any content verb ("developed").

The labelled set is JSONL: {"question": ..., "parts": [{"type": ..., "focus": [head words], "asks": [head words]}]}.
`is_tuning` splits it in two halves by a fixed rule (CRC-32 parity of the question), and the rules are tuned on
the tuning half only. A part's focus counts as right when every labelled head is in some focus phrase and the
first phrase holds one of them; "exact" adds that no phrase lacks a labelled head.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from wordfreq import zipf_frequency

from citeqa.index.text import STOPWORDS, YEAR

# The kinds of answer a question can ask for. "number" is a count or a bare figure, "amount" a quantity with a
# unit (a dose, a weight), "named" a named thing that is not a person or organisation (a scale, a drug, a brand).
AnswerType = Literal[
    "number",
    "amount",
    "date",
    "duration",
    "frequency",
    "person",
    "organisation",
    "named",
    "yes_no",
    "list",
    "procedure",
    "reason",
    "definition",
    "other",
]
ANSWER_TYPES: tuple[str, ...] = get_args(AnswerType)
_PAST_WHEN = re.compile(r"\bwhen\s+(?:was|were|did|had)\b", re.I)


@dataclass(frozen=True)
class QuestionPart:
    text: str  # this part as a standalone question
    answer_type: AnswerType
    focus: tuple[str, ...]  # what the part is about, as phrases of the question, most specific first
    asks_for: tuple[str, ...]  # the attribute asked ("dose", "side effects"), then content verbs; may be empty

    @property
    def asks_past_event(self) -> bool:
        """"When was it approved?" asks for a point in time, not for how long something lasts."""
        return bool(_PAST_WHEN.search(self.text))


@dataclass(frozen=True)
class QuestionAnalysis:
    question: str
    parts: tuple[QuestionPart, ...]

    @property
    def answer_type(self) -> AnswerType:
        return self.parts[0].answer_type

    @property
    def focus(self) -> tuple[str, ...]:
        return self.parts[0].focus

    @property
    def asks_for(self) -> tuple[str, ...]:
        return self.parts[0].asks_for


# ---------------------------------------------------------------------------------------------------------------
# Word lists: general English grammar words and general words of questions about medicines.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


WH = _words("what which who whom whose when where why how")
BE = _words("is are was were am be been being isn't aren't wasn't weren't")
DO = _words("do does did don't doesn't didn't")
MODAL = _words("can could should would will may might must shall can't couldn't shouldn't wouldn't won't mustn't")
HAVE = _words("has have had hasn't haven't hadn't")
AUX = BE | DO | MODAL | HAVE
SUBJECT_PRONOUNS = _words("i you u we they he she one people someone anyone somebody anybody")
PRONOUNS = _words("i you u we they he she it me him her us them myself yourself itself themselves there")
DETERMINERS = _words("the a an this that these those my your ur his her its our their any some no each every another")
PREPOSITIONS = _words(
    """of in on at for with without from to by about after before during since until till between against among
    into onto over under through per vs versus via than as like while if whether because after around within off
    up out down across along upon"""
)
CONJUNCTIONS = _words("and or but nor plus also then so")
# Words that open a subordinate clause before the question proper ("if I miss a dose, what ...").
SUBORDINATORS = _words("when if while after before once since whenever")
# Fillers and politeness that open chat questions.
FILLERS = _words("so ok okay hey hi hello please pls plz um uh well also and but then plus btw just anyway")
# Words that stay out of the focus although they are nouns: the generic people a medical question counts or
# speaks of, and empty nouns.
GENERIC_NOUNS = _words(
    """people ppl person persons patients patient participants participant subjects subject users user someone
    anyone everyone somebody anybody thing things stuff lot lots way bit kind sort type one ones something
    anything everything results result findings finding"""
)
# Set phrases of English whose nouns are no focus: "sold over the counter", "on the market", "take place".
IDIOMS: tuple[tuple[str, ...], ...] = tuple(
    tuple(idiom.split())
    for idiom in """over the counter, the market, take place, took place, taken place, in your system,
    in my system, first place""".split(",")
)
# "a month's supply", "two weeks' treatment": a measure of time, not a name.
TIME_POSSESSIVES = _words("day's days' week's weeks' month's months' year's years' hour's hours' night's")
# Adjectives that say something of the focus ("is it safe"); alone they are no focus.
PREDICATE_ADJECTIVES = _words(
    """safe unsafe ok okay fine addictive dangerous pregnant dizzy sleepy tired drowsy better worse best worst
    effective bad good possible true false sure harmful toxic fast slow early late high low normal common rare
    legal illegal available necessary likely unlikely different same similar allowed strong weak new old able free
    real serious severe mild healthy sick ill well wrong right okay safer safest quick quicker long short"""
)
PREDICATE_ADJECTIVES |= {w + end for w in PREDICATE_ADJECTIVES for end in ("er", "est", "r", "st") if w.isalpha()}
_ADJECTIVE_SUFFIXES = ("ive", "ous", "ful", "able", "ible")
ADVERBS = _words(
    """first together too so again ever still already just also always never sometimes usually only even really
    very much more most less least fast soon later ago now then here there actually generally normally typically
    safely suddenly quickly slowly properly exactly approximately about around roughly once twice apart"""
)
_NOT_ADVERBS = _words("elderly family supply daily weekly monthly yearly early italy july reply ally jelly belly")

# Verbs (base forms) a question about medicines uses; their inflections are made below. "Noun-able" verbs are read
# as nouns unless a subject pronoun, a modal or "to" stands right before them ("a drug test" / "can I test").
_VERB_BASES = """
take give make get go come put keep let stop start begin end last work help cause affect interact reduce increase
decrease lower raise improve worsen treat prevent cure relieve control manage taper quit withdraw wean discontinue
switch change miss skip double crush split chew swallow inject inhale apply store mix combine drink eat smoke drive
sleep feel experience suffer develop discover invent synthesize synthesise create produce manufacture sell market
distribute supply license licence approve ban recall regulate fund sponsor own run lead conduct carry design
publish report find show suggest conclude study test measure monitor compare enroll enrol recruit randomize
randomise assign receive tolerate respond relapse die lose gain weigh cost pay buy prescribe recommend advise
administer dose titrate metabolize metabolise excrete eliminate absorb break bind block activate act inhibit
stimulate kick wear describe define mean call name know say tell think use need want try happen occur appear rate
assess evaluate score diagnose detect enter leave stay remain become seem look contain include involve mention list
explain differ depend require allow reverse overdose drop rise fall read write see do have be examine link
associate relate follow return continue hold build stay put crave avoid sell treat reach kill harm damage hurt
replace protect lose put sign settle wear wake fall
"""
_NOUN_ABLE = _words(
    """test tests study studies dose doses use uses cause causes effect effects taper report reports control supply
    change changes increase increases decrease drop rise fall overdose overdoses drink drinks smoke rate rates score
    scores list name names call show experience design result results end start switch return mix fund market
    lead store damage harm sign signs levels level spray sprays patch patches need needs trial gain gains"""
)
_IRREGULAR = """
take took taken taking | give gave given | make made | get got gotten | go went gone goes | come came | keep kept |
begin began begun | run ran | lead led | find found | show shown | lose lost | feel felt | sell sold | buy bought |
pay paid | break broke broken | write wrote written | drink drank drunk | eat ate eaten | see saw seen | say said |
know knew known | mean meant | think thought | tell told | become became | rise rose risen | fall fell fallen |
hold held | build built | withdraw withdrew withdrawn | wear wore worn | wake woke woken | do did done doing does |
have has had having | be is are was were been being | leave left | bind bound | put putting | let letting |
stop stopped stopping | quit quitting | split splitting | skip skipped skipping | begin beginning | run running |
swim swam | sign signed | drop dropped dropping | carry carried carries | study studied studies | supply supplied
supplies | die dying | lie lying
"""
_ACTIVITY_GERUNDS = _words(
    """drinking smoking driving eating sleeping breastfeeding dosing vomiting bleeding swelling bruising itching
    fasting exercise exercising gambling vaping"""
)


def _inflections(base: str) -> set[str]:
    forms = {base}
    if base.endswith("e"):
        forms |= {base + "s", base + "d", base[:-1] + "ing"}
    elif base.endswith("y") and base[-2:-1] not in "aeiou":
        forms |= {base[:-1] + "ies", base[:-1] + "ied", base + "ing"}
    elif base.endswith(("s", "sh", "ch", "x", "z")):
        forms |= {base + "es", base + "ed", base + "ing"}
    else:
        forms |= {base + "s", base + "ed", base + "ing"}
    return forms


def _verb_forms() -> frozenset[str]:
    forms: set[str] = set()
    for base in _VERB_BASES.split():
        forms |= _inflections(base)
    for group in _IRREGULAR.split("|"):
        forms |= set(group.split())
    return frozenset(forms)


VERB_FORMS = _verb_forms()
# Verbs whose meaning says nothing an answering sentence would carry.
LIGHT_VERBS = _words(
    """take took taken taking takes get gets got getting make makes made making do does did doing done have has had
    having be is are was were been being go goes went gone going come comes came know knew known want wants need
    needs tell told say said think use uses used using let put keep try mean means seem seems look looks become
    give gives given giving start starts started starting"""
)
# Verbs that mark a "who" question as asking for an organisation.
ORGANISATION_VERBS = _words(
    """make makes manufacture manufactures manufactured sell sells sold market markets marketed produce produces
    distribute distributes distributed supply supplies supplied approve approves approved license licenses licensed
    licence licences licenced regulate regulates regulated fund funds funded sponsor sponsors sponsored own owns
    owned import imports stock stocks"""
)
PARTICIPLES_IRREGULAR = _words("given taken done made known seen shown written drunk eaten run found sold kept held")

# The attribute a question may ask for -> the answer type it implies. Keys are lower-case token sequences.
_ATTRIBUTES_BY_TYPE: dict[str, str] = {
    "amount": """dose doses dosage dosages amount amounts quantity quantities concentration strength weight cost costs
        price volume level levels mg milligrams milligram grams gram micrograms mcg ml millilitres milliliters tablets
        tablet pills pill capsules capsule units drops puffs cups cup glasses drinks teaspoons spoonfuls""",
    "number": """percentage percent % proportion fraction rate rates number numbers age ratio score scores size count
        incidence prevalence odds chance chances""",
    "duration": "duration half-life half-lives halflife length period lifetime",
    "frequency": "frequency interval intervals",
    "date": "year years date dates month decade century day time era",
    "list": """side_effects effects symptoms signs risks interactions uses benefits options alternatives treatments
        ways complications contraindications warnings precautions outcomes conditions indications ingredients drugs
        medications medicines medication_names brands names examples types kinds foods substances steps""",
    "named": """side_effect effect symptom sign interaction ingredient drug medication medicine name brand scale class
        form receptor receptors enzyme test questionnaire country city place location hospital route group substance
        chemical compound category target brand_name generic_name chemical_name trade_name measure instrument tool
        type kind sort molecule hormone gene protein neurotransmitter diagnosis condition disease disorder treatment
        alternative option outcome endpoint""",
    "reason": "reason reasons cause mechanism mechanism_of_action purpose point explanation",
    "procedure": "way procedure method protocol instructions process",
    "person": """researcher researchers scientist scientists doctor doctors author authors chemist chemists
        investigator investigators physician physicians inventor discoverer pharmacist pharmacologist professor
        founder creator psychiatrist surgeon nurse lead_author first_author""",
    "organisation": """company companies manufacturer manufacturers maker makers firm firms agency agencies
        organisation organisations organization organizations regulator regulators university universities institute
        institution sponsor sponsors funder funders government authority body laboratory lab pharma""",
}
ATTRIBUTES: dict[tuple[str, ...], str] = {
    tuple(word.replace("_", " ").split()): kind for kind, words in _ATTRIBUTES_BY_TYPE.items() for word in words.split()
}
ATTRIBUTES[("half", "life")] = "duration"
ATTRIBUTES[("half", "lives")] = "duration"
_LONGEST_ATTRIBUTE = max(len(key) for key in ATTRIBUTES)
TIME_UNIT_NOUNS = _words("seconds minutes hours hrs days weeks months years decades mins")
PER_PERIOD = _words("day daily week weekly month monthly hour night")
# "how many X" where X is one of these asks for an amount (a dose), not a count.
DOSE_UNIT_NOUNS = _words(
    """mg milligrams milligram grams gram g mcg micrograms ml millilitres milliliters tablets pills capsules units
    drops puffs cups glasses drinks teaspoons spoonfuls doses injections patches sprays"""
)
# "how X": the word after "how" -> the answer type.
HOW_ADJECTIVES: dict[str, str] = {
    **dict.fromkeys(_words("long"), "duration"),
    **dict.fromkeys(_words("soon quickly quick fast rapidly"), "duration"),
    **dict.fromkeys(_words("often frequently regularly"), "frequency"),
    **dict.fromkeys(_words("old"), "number"),
    **dict.fromkeys(_words("high low big large heavy strong"), "amount"),
    **dict.fromkeys(_words("come"), "reason"),
}
# "how does X <verb>" asks for a mechanism with these verbs, for an account of effects with AFFECT_VERBS.
MECHANISM_VERBS = _words("work works act acts help helps cause causes reduce reduces lower lowers treat treats relieve")
AFFECT_VERBS = _words("affect affects compare compares differ differs interact interacts feel change changes")
# Verbs after "what (did) X" that ask for a finding: other.
FINDING_VERBS = _words("find found show showed shown report reported conclude concluded say said suggest suggested")
NAMING_PARTICIPLES = _words("called named known sold marketed branded compared labelled labeled")
OPENERS: tuple[tuple[str, ...], ...] = tuple(
    tuple(opener.split())
    for opener in """do you know, does anyone know, does anybody know, anyone know, any idea, can you tell me,
    could you tell me, would you tell me, please tell me, tell me, can you explain, could you explain, please explain,
    explain, i want to know, i'd like to know, i would like to know, i need to know, i wonder, i was wondering,
    i'm wondering""".split(",")
)

# Chat spellings and common slips of question words -> the word (general English, not any corpus's words).
CHAT_WORDS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_words("wat wut wot wht whta waht whut"), ("what",)),
    **dict.fromkeys(_words("wats whats wuts whatz what's"), ("what", "is")),
    **dict.fromkeys(_words("hw hwo hiw"), ("how",)),
    **dict.fromkeys(_words("hows how's"), ("how", "is")),
    **dict.fromkeys(_words("whn wen wehn"), ("when",)),
    **dict.fromkeys(_words("whens when's"), ("when", "is")),
    **dict.fromkeys(_words("whos who's"), ("who", "is")),
    **dict.fromkeys(_words("wheres where's"), ("where", "is")),
    **dict.fromkeys(_words("whys why's"), ("why", "is")),
    **dict.fromkeys(_words("wich whch whihc"), ("which",)),
    **{
        word: tuple(meaning.split("+"))
        for word, meaning in (
            pair.split("=")
            for pair in """u=you ya=you yu=you ur=your r=are y=why shud=should shld=should shoud=should cud=could
            cld=could wud=would wld=would im=i'm dont=don't doesnt=doesn't cant=can't isnt=isn't wont=won't
            didnt=didn't b4=before til=until till=until abt=about bc=because cuz=because coz=because ppl=people
            pple=people plz=please pls=please tho=though w/=with wit=with tak=take lon=long lng=long mny=many
            muc=much ofen=often offen=often oftn=often meds=medicines med=medicine gonna=going+to wanna=want+to
            sideeffects=side+effects halflife=half-life n=and nd=and &=and thru=through 2nd=second""".split()
        )
    },
}
# Words worth repairing when misspelled: grammar words and attribute words of at least four letters.
_REPAIR_TARGETS = frozenset(
    {w for w in WH | AUX if w.isalpha()}
    | set(HOW_ADJECTIVES)
    | {w for key in ATTRIBUTES for w in key if w.isalpha()}
    | _words("many much often frequently take taking side effects withdrawal symptoms")
)
_SENTENCE_END = _words("? . ! ;")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’\-][A-Za-z0-9]+)*(?:['’]s\b)?|%|&|[?.!;,]|w/")


# ---------------------------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class _Token:
    text: str  # as written
    low: str  # lower case, chat spelling and slips repaired; one written word may give two tokens ("whats")
    start: int
    end: int
    capital: bool  # written with a capital where a sentence does not start (a name, an acronym)


def _damerau_one(a: str, b: str) -> bool:
    """True when a and b differ by one deletion, insertion, substitution or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return len(a) >= 4
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@lru_cache(maxsize=4096)
def _repair(word: str) -> tuple[str, ...]:
    """The word a slip or chat spelling stands for; a real word (common enough) is left alone."""
    if word in CHAT_WORDS:
        return CHAT_WORDS[word]
    if len(word) < 3 or not word.isalpha() or word in _REPAIR_TARGETS or zipf_frequency(word, "en") >= 3.0:
        return (word,)
    candidates = [t for t in _REPAIR_TARGETS if len(t) >= 3 and _damerau_one(word, t)]
    if not candidates:
        return (word,)
    return (max(candidates, key=lambda t: zipf_frequency(t, "en")),)


def _tokens(question: str) -> list[_Token]:
    letters = [c for c in question if c.isalpha()]
    shouting = len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.8 * len(letters)
    out: list[_Token] = []
    sentence_start = True
    for match in _TOKEN.finditer(question):
        text = match.group()
        low = text.lower().replace("’", "'")
        if not shouting and len(text) >= 2 and text.isalpha() and text.isupper():
            low = text  # an acronym ("US", "FDA") is no grammar word
        capital = not shouting and not sentence_start and text[:1].isupper() and low != "i"
        if low.endswith("'s") and low not in CHAT_WORDS:
            pieces: tuple[str, ...] = (low,)
        else:
            pieces = _repair(low)
        for piece in pieces:
            out.append(_Token(text, piece, match.start(), match.end(), capital))
        sentence_start = low in _SENTENCE_END
    return out


# ---------------------------------------------------------------------------------------------------------------
# Word classes in context


def _is_adverb(low: str) -> bool:
    if low in ADVERBS:
        return True
    return low.endswith("ly") and len(low) > 4 and low not in _NOT_ADVERBS and zipf_frequency(low[:-2], "en") >= 3.0


def _function_word(low: str) -> bool:
    return (
        low in TIME_POSSESSIVES
        or low in WH
        or low in AUX
        or low in PRONOUNS
        or low in DETERMINERS
        or low in PREPOSITIONS
        or low in CONJUNCTIONS
        or low in STOPWORDS
        or low in _SENTENCE_END
        or low == ","
    )


def _verb_flags(tokens: list[_Token]) -> list[bool]:
    """Which tokens are verbs, read from the word and the words around it (no tagger: a few positional rules)."""
    flags = [False] * len(tokens)
    lows = [t.low for t in tokens]
    after_do_subject = False  # inside "does <subject> ..." before its main verb
    for i, low in enumerate(lows):
        prev = lows[i - 1] if i else ""
        nxt = lows[i + 1] if i + 1 < len(lows) else ""
        if low in DO or low in MODAL:
            after_do_subject = True
            continue
        if tokens[i].capital and low not in VERB_FORMS:
            continue
        determined = prev in DETERMINERS or prev[:1].isdigit() or prev.endswith("'s")
        # "I should taper", "to taper", "can I taper"; not "should doses be", where the modal opens the question
        verb_context = (
            prev in SUBJECT_PRONOUNS
            or prev == "to"
            or (prev in MODAL | DO and i >= 2 and lows[i - 2] in SUBJECT_PRONOUNS)
        )
        if prev in PREPOSITIONS and prev != "to" and not low.endswith("ing") and low in VERB_FORMS:
            continue  # "for sleep", "in use": a noun after a preposition
        if low in _ACTIVITY_GERUNDS and not (prev in BE and i >= 2 and lows[i - 2] in SUBJECT_PRONOUNS):
            continue
        if low in VERB_FORMS:
            if determined:
                flags[i] = low.endswith(("ed", "en")) and not _is_contentish(nxt)
                continue
            if low in _NOUN_ABLE and not verb_context:
                if after_do_subject and i >= 2 and lows[i - 1] not in DO | MODAL:
                    flags[i] = True  # "does the trial show": the first verb after the subject
                    after_do_subject = False
                continue
            if low.endswith(("ed", "en")) and _is_contentish(nxt) and (prev in DETERMINERS or not prev):
                continue  # "the recommended dose", "randomized controlled trial"
            flags[i] = True
            after_do_subject = False
            continue
        if low.endswith("ed") and len(low) > 4 and zipf_frequency(low, "en") < 5.5:
            flags[i] = not _is_contentish(nxt)  # "was the study blinded" / "a controlled trial"
    return flags


def _is_contentish(low: str) -> bool:
    return bool(low) and not _function_word(low) and not _is_adverb(low)


# ---------------------------------------------------------------------------------------------------------------
# Clauses: one question cue each


def _has_cue(lows: list[str]) -> bool:
    """Does this stretch of a question open with a question of its own ("and how long ...", "can I ...")?"""
    i = 0
    while i < len(lows) and lows[i] in FILLERS | {","}:
        i += 1
    if i < len(lows) and lows[i] in PREPOSITIONS and i + 1 < len(lows) and lows[i + 1] in WH:
        return True  # "and by whom", "in what year"
    if i >= len(lows):
        return False
    if lows[i] in WH:
        return True
    if lows[i] in AUX and i + 1 < len(lows):
        nxt = lows[i + 1]
        return nxt in PRONOUNS or nxt in DETERMINERS or _is_contentish(nxt)
    return False


def _split_clauses(tokens: list[_Token]) -> list[list[_Token]]:
    """Split at question marks and semicolons, and at "and"/"," where both sides ask a question of their own."""
    sentences: list[list[_Token]] = [[]]
    for token in tokens:
        if token.low in _SENTENCE_END:
            if sentences[-1]:
                sentences.append([])
            continue
        sentences[-1].append(token)
    sentences = [s for s in sentences if any(_is_contentish(t.low) or t.low in WH for t in s)]
    clauses: list[list[_Token]] = []
    for sentence in sentences:
        start = 0
        lows = [t.low for t in sentence]
        for i, low in enumerate(lows):
            if low not in {"and", ","} or i == start:
                continue
            right = lows[i + 1 :]
            if right[:1] == ["and"]:
                continue  # ", and how": split at the "and"
            left = lows[start:i]
            conditional = left[:1] == ["when"] and right[:1] != [] and right[0] in AUX  # "when I stop, does ..."
            if _has_cue(right) and (_has_cue(left) or any(w in WH for w in left)) and not conditional:
                clauses.append(sentence[start:i])
                start = i + 1
        clauses.append(sentence[start:])
    return [c for c in clauses if c] or [tokens]


def _strip_openers(lows: list[str]) -> int:
    """Index where the question proper starts: after fillers and "can you tell me" / "do you know"."""
    i = 0
    changed = True
    while changed:
        changed = False
        while i < len(lows) and (lows[i] in FILLERS or lows[i] == ","):
            i += 1
            changed = True
        for opener in OPENERS:
            if tuple(lows[i : i + len(opener)]) == opener and i + len(opener) < len(lows):
                i += len(opener)
                changed = True
                break
    return i


# ---------------------------------------------------------------------------------------------------------------
# Answer type


@dataclass
class _Reading:
    """What the rules read from one clause: the type, and which token spans name the cue and the attribute."""

    answer_type: AnswerType
    cue: set[int]  # token indexes of the question cue ("how long", "what year"); never focus
    attributes: list[tuple[int, int]]  # [start, end) spans of asked-for attribute phrases
    cue_phrase: str = ""  # stands as the attribute when there is none ("how long")


def _attribute_at(lows: list[str], i: int) -> tuple[int, str] | None:
    """(length, type) of the longest attribute phrase starting at token i."""
    for size in range(min(_LONGEST_ATTRIBUTE, len(lows) - i), 0, -1):
        key = tuple(lows[i : i + size])
        if key in ATTRIBUTES:
            kind = ATTRIBUTES[key]
            if key[-1] in {"effects", "effect"} and i > 0 and lows[i - 1] == "side":
                continue
            return size, kind
    return None


def _noun_group(lows: list[str], verbs: list[bool], i: int) -> tuple[int, int]:
    """[start, end) of the content words from i up to a function word or verb ("pharmaceutical company")."""
    j = i
    while j < len(lows) and _is_contentish(lows[j]) and not verbs[j]:
        j += 1
    return i, j


def _attribute_in_group(lows: list[str], start: int, end: int) -> tuple[int, int, str] | None:
    """The attribute heading a noun group: its last attribute phrase ("usual dose" -> dose)."""
    found = None
    k = start
    while k < end:
        hit = _attribute_at(lows, k)
        if hit and k + hit[0] <= end:
            found = (start, k + hit[0], hit[1])
            k += hit[0]
        else:
            k += 1
    return found


KIND_NOUNS = _words("type types kind kinds sort sorts class classes form forms category group")


def _of_complement_end(lows: list[str], verbs: list[bool], end: int) -> int:
    """'what type of drug': the noun after 'of' belongs to the asked-for kind, not to the focus."""
    if lows[end - 1] in KIND_NOUNS and end + 1 < len(lows) and lows[end] == "of":
        return _noun_group(lows, verbs, end + 1)[1]
    return end


def _list_or_named(kind: str, lows: list[str], end: int) -> str:
    """A plural head asks for a list, a singular one for a name; attribute types other than these stand."""
    head = lows[end - 1]
    if kind in {"named", "list"}:
        return "list" if head.endswith("s") and not head.endswith(("ss", "us", "is")) else "named"
    return kind


def _per_period_follows(lows: list[str], i: int) -> bool:
    window = lows[i : i + 4]
    return any(w in PER_PERIOD for w in window) or "apart" in window or "between" in window


def _read_how(lows: list[str], verbs: list[bool], i: int) -> _Reading:
    nxt = lows[i + 1] if i + 1 < len(lows) else ""
    after = lows[i + 2] if i + 2 < len(lows) else ""
    if nxt == "many":
        j = i + 2
        if j < len(lows) and lows[j] == "of":  # "how many of the 40 patients"
            j += 1
            while j < len(lows) and (lows[j] in DETERMINERS or lows[j][:1].isdigit()):
                j += 1
        group_end = j
        spans = []
        while group_end < len(lows) and _is_contentish(lows[group_end]) and not verbs[group_end]:
            k = group_end
            while k < len(lows) and _is_contentish(lows[k]) and not verbs[k]:
                k += 1
            spans.append((group_end, k))
            if k + 1 < len(lows) and lows[k] in {"and", "or", ","} and _is_contentish(lows[k + 1]):
                group_end = k + 1
                continue
            break
        noun = lows[spans[0][1] - 1] if spans else ""
        cue = {i, i + 1} | set(range(i + 2, spans[0][0] if spans else i + 2))
        end = spans[-1][1] if spans else i + 2
        if noun in TIME_UNIT_NOUNS:
            if "ago" in lows[end : end + 2]:
                return _Reading("date", cue | {end}, spans)
            kind = "frequency" if _per_period_follows(lows, end) else "duration"
        elif noun == "times":
            kind = "frequency" if _per_period_follows(lows, end) else "number"
            return _Reading(kind, cue | set(range(*spans[0])), [], "how many times")
        elif noun == "doses" and _per_period_follows(lows, end):
            kind = "frequency"
        elif noun in DOSE_UNIT_NOUNS:
            kind = "amount"
        else:
            kind = "number"
        return _Reading(kind, cue, spans)
    if nxt == "much":
        start, end = _noun_group(lows, verbs, i + 2)
        hit = _attribute_in_group(lows, start, end) if end > start else None
        if end > start and lows[end - 1] in {"time"}:
            return _Reading("duration", {i, i + 1}, [(start, end)])
        if hit:
            kind = hit[2] if hit[2] in {"amount", "number"} else "amount"
            return _Reading(kind, {i, i + 1}, [(hit[0], hit[1])])
        costs = [k for k in range(i + 2, len(lows)) if lows[k] in {"cost", "costs", "price"}]
        return _Reading("amount", {i, i + 1}, [(costs[0], costs[0] + 1)] if costs else [])
    if nxt == "long" and after == "ago":
        return _Reading("date", {i, i + 1, i + 2}, [])
    if nxt == "to":
        return _Reading("procedure", {i, i + 1}, [])
    if nxt in HOW_ADJECTIVES:
        return _Reading(HOW_ADJECTIVES[nxt], {i, i + 1}, [], f"how {nxt}" if nxt != "come" else "")
    if nxt in DO | MODAL:
        rest = lows[i + 2 :]
        verb_positions = [k for k in range(i + 2, len(lows)) if verbs[k]]
        verb = lows[verb_positions[0]] if verb_positions else ""
        if rest[:1] and rest[0] in SUBJECT_PRONOUNS:
            return _Reading("procedure", {i}, [])
        if verb in MECHANISM_VERBS:
            return _Reading("reason", {i}, [])
        if verb in AFFECT_VERBS:
            return _Reading("other", {i}, [])
        return _Reading("procedure", {i}, [])
    if nxt in BE:
        tail = [k for k in range(i + 2, len(lows)) if verbs[k]]
        if tail and (lows[tail[-1]].endswith(("ed", "en")) or lows[tail[-1]] in PARTICIPLES_IRREGULAR):
            return _Reading("procedure", {i}, [])
        return _Reading("other", {i}, [])
    return _Reading("other", {i}, [])


def _read_what(lows: list[str], verbs: list[bool], i: int) -> _Reading:
    """'what'/'which' + noun group, + copula + noun group, or + auxiliary + clause."""
    j = i + 1
    if j < len(lows) and lows[j] == "other":
        return _Reading("list", {i, j}, [_noun_group(lows, verbs, j + 1)] if j + 1 < len(lows) else [])
    if j < len(lows) and lows[j] == "of":  # "which of these"
        return _Reading("named", {i}, [])
    if j < len(lows) and (_is_contentish(lows[j]) or lows[j] == "%") and not verbs[j]:
        start, end = _noun_group(lows, verbs, j)
        if lows[j] == "%":
            start, end = j, j + 1
        # "what kind of drug", "what percentage of patients": the head is the word before "of"
        hit = _attribute_in_group(lows, start, end)
        if hit:
            kind = _list_or_named(hit[2], lows, hit[1])
            return _Reading(kind, {i}, [(start, _of_complement_end(lows, verbs, end))])
        kind = _list_or_named("named", lows, end) if end > start else "named"
        return _Reading(kind, {i}, [(start, _of_complement_end(lows, verbs, end))])
    if j < len(lows) and lows[j] in BE:
        return _read_what_is(lows, verbs, i, j)
    if j < len(lows) and lows[j] in DO | MODAL:
        tail = lows[j + 1 :]
        verb_positions = [k for k in range(j + 1, len(lows)) if verbs[k]]
        verb = lows[verb_positions[0]] if verb_positions else ""
        if "mean" in tail or "means" in tail:
            return _Reading("definition", {i}, [])
        if len(tail) >= 2 and tail[0] in SUBJECT_PRONOUNS and tail[1] == "do":
            return _Reading("procedure", {i}, [])
        if verb in {"avoid", "treat", "treats"} or (tail and tail[-1] == "for"):
            return _Reading("list", {i}, [])
        if verb in FINDING_VERBS:
            return _Reading("other", {i}, [])
        return _Reading("named", {i}, [])
    nxt = lows[j] if j < len(lows) else ""
    if nxt in {"cause", "causes", "caused", "makes", "made"}:
        return _Reading("reason", {i, j}, [])
    if nxt in {"happens", "happened", "happen"}:
        return _Reading("other", {i, j}, [])
    return _Reading("named" if lows[i] == "which" else "other", {i}, [])


def _read_what_is(lows: list[str], verbs: list[bool], i: int, j: int) -> _Reading:
    """'what is/are/was ...': an attribute of something, a name, a use, or a definition."""
    k = j + 1
    if lows[j] == "is" and lows[k : k + 2] == ["meant", "by"]:
        return _Reading("definition", {i, j, k, k + 1}, [])
    participles = [m for m in range(k, len(lows)) if verbs[m]]
    participle = lows[participles[0]] if participles else ""
    if participle in {"used", "prescribed", "given", "taken", "indicated"} and "for" in lows[participles[0] :]:
        return _Reading("list", {i}, [])
    if participle in NAMING_PARTICIPLES:
        return _Reading("named", {i}, [])
    if lows[i] == "which":
        return _Reading("named", {i}, [])
    while k < len(lows) and lows[k] in DETERMINERS:
        k += 1
    if lows[k : k + 2] in (["difference", "between"], ["differences", "between"]):
        return _Reading("other", {i, k}, [])
    start, end = _noun_group(lows, verbs, k)
    if end == start:
        return _Reading("other", {i}, [])
    hit = _attribute_in_group(lows, start, end)
    while hit and end + 1 < len(lows) and lows[end] in {",", "and", "or"}:
        # "the signs, symptoms and treatment of X": one part asking for coordinated attributes
        nxt = end + 2 if lows[end] == "," and lows[end + 1] in {"and", "or"} else end + 1
        while nxt < len(lows) and lows[nxt] in DETERMINERS:
            nxt += 1
        more_start, more_end = _noun_group(lows, verbs, nxt)
        if more_end == more_start or not _attribute_in_group(lows, more_start, more_end):
            break
        end = more_end
        plural = any(lows[m].endswith("s") for m in (hit[1] - 1, end - 1))
        hit = (hit[0], hit[1], "list" if plural else hit[2])
    has_complement = end < len(lows) and lows[end] in PREPOSITIONS | {"to"} or participles
    if hit and lows[hit[1] - 1] in {"way", "ways"} and end < len(lows) and lows[end] == "to":
        return _Reading("procedure" if lows[hit[1] - 1] == "way" else "list", {i}, [(start, end)])
    if hit and (has_complement or hit[1] < end):
        return _Reading(_list_or_named(hit[2], lows, hit[1]), {i}, [(start, end)])
    if hit and end == len(lows) and start == hit[0] and lows[k - 1] not in {"a", "an"}:
        return _Reading(_list_or_named(hit[2], lows, hit[1]), {i}, [(start, end)])
    if end < len(lows) and lows[end] == "of":
        return _Reading("other", {i}, [])  # "what was the result of the trial": something of Y, not a definition
    return _Reading("definition", {i, j}, [])


def _read_who(lows: list[str], verbs: list[bool], i: int) -> _Reading:
    j = i + 1
    if j < len(lows) and lows[j] in MODAL:
        return _Reading("other", {i}, [])  # "who should not take it?" asks for a group of people, not a name
    if j < len(lows) and lows[j] in BE:
        k = j + 1
        while k < len(lows) and lows[k] in DETERMINERS:
            k += 1
        start, end = _noun_group(lows, verbs, k)
        hit = _attribute_in_group(lows, start, end) if end > start else None
        if hit and hit[2] in {"person", "organisation"}:
            return _Reading(hit[2], {i, j}, [(hit[0], hit[1])])
    for k in range(j, min(len(lows), j + 3)):
        if lows[k] in ORGANISATION_VERBS:
            return _Reading("organisation", {i}, [])
    return _Reading("person", {i}, [])


_WH_READERS = {"how": _read_how, "what": _read_what, "which": _read_what, "who": _read_who}


def _read(lows: list[str], verbs: list[bool]) -> _Reading:
    """The answer type of one clause (its words already lower case and repaired)."""
    start = _strip_openers(lows)
    if start >= len(lows):
        return _Reading("other", set(), [])
    first = lows[start]
    opener = lows[start - 1] if start else ""
    if opener in {"me", "explain"} and first not in WH | {"if", "whether"} and not _attribute_spans(lows, start):
        # "tell me about X", "explain X": an imperative, no embedded question ("tell me the dose" reads below)
        return _Reading("definition" if opener == "explain" else "other", set(range(start)), [])
    if first in SUBORDINATORS and "," in lows[start:]:
        comma = lows.index(",", start)
        if comma + 1 < len(lows) and (lows[comma + 1] in AUX or lows[comma + 1] in WH):
            # "When I stop, does withdrawal start?": the question is the main clause after the comma
            start, first = comma + 1, lows[comma + 1]
    if first in {"whether", "if"}:
        return _Reading("yes_no", {start}, [])
    if first in AUX:
        if "or" in lows and any(w in PER_PERIOD for w in lows) and any(w in {"once", "twice"} for w in lows):
            return _Reading("frequency", {start}, [])
        return _Reading("yes_no", {start}, [])
    if first in {"list", "name"}:
        return _Reading("list", {start}, _attribute_spans(lows, start + 1))
    if first in {"define", "explain"}:
        return _Reading("definition", {start}, [])
    if first in {"describe", "compare", "tell"}:
        return _Reading("other", {start}, [])
    # The cue may stand anywhere in chat ("withdrawal how long", "the trial had how many patients").
    for i in range(start, len(lows)):
        low = lows[i]
        if low not in WH:
            continue
        prep = {i - 1} if i > start and lows[i - 1] in PREPOSITIONS else set()
        if low in _WH_READERS:
            reading = _WH_READERS[low](lows, verbs, i)
        elif low == "when":
            since = {i - 1} if i > 0 and lows[i - 1] == "since" else set()
            reading = _Reading("date", {i} | since, [])
        elif low == "where":
            reading = _Reading("named", {i}, [])
        elif low == "why":
            reading = _Reading("reason", {i}, [])
        elif low in {"whom", "whose"}:
            reading = _Reading("person", {i}, [])
        else:
            continue
        reading.cue |= prep
        return reading
    # No cue: a bare phrase ("ibuprofen dose for kids", "metformin ok with alcohol?")
    spans = _attribute_spans(lows, start)
    if spans:
        kind, end = spans[0][2], spans[0][1]
        return _Reading(_list_or_named(kind, lows, end), set(), [(s, e) for s, e, _ in spans])
    if not any(_is_contentish(low) for low in lows[start:]):
        return _Reading("other", set(), [])
    return _Reading("yes_no", set(), [])


def _attribute_spans(lows: list[str], start: int) -> list:
    out = []
    k = start
    while k < len(lows):
        hit = _attribute_at(lows, k)
        if hit and k > start and lows[k - 1][:1].isdigit():
            k += hit[0]  # "a 5 year old", "10 mg": a measure, not the attribute asked
        elif hit and hit[1] not in {"named", "list"} or hit and lows[k] in {"side", "symptoms", "signs", "effects"}:
            out.append((k, k + hit[0], hit[1]))
            k += hit[0]
        else:
            k += 1
    return out


# ---------------------------------------------------------------------------------------------------------------
# Focus and asks_for


def _specificity(phrase: list[_Token]) -> float:
    """How specific a phrase is: names, possessives and figures first, then the rarest word."""
    rarity = max((8.0 - zipf_frequency(t.low, "en")) for t in phrase)
    bonus = 0.0
    if any(t.capital for t in phrase):
        bonus += 3.0
    if any(t.low.endswith("'s") for t in phrase):
        bonus += 3.0
    if any(re.fullmatch(r"\d+(?:\.\d+)?", t.low) for t in phrase):
        bonus += 2.0 if any(re.fullmatch(YEAR, t.low) for t in phrase) else 1.0
    return rarity + bonus


def _phrases(tokens: list[_Token], keep: list[bool]) -> list[list[_Token]]:
    """Runs of kept tokens (one written word may be two tokens: they stay together)."""
    out: list[list[_Token]] = []
    current: list[_Token] = []
    for token, kept in zip(tokens, keep):
        if kept:
            if not current or current[-1].start != token.start:
                current.append(token)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _phrase_text(question: str, phrase: list[_Token], tokens: list[_Token]) -> str:
    first = phrase[0]
    index = tokens.index(first)
    if index and tokens[index - 1].low in {"the", "a", "an"} and tokens[index - 1].start != first.start:
        first = tokens[index - 1]
    return question[first.start : phrase[-1].end]


def _is_predicate_adjective(phrase: list[_Token], tokens: list[_Token]) -> bool:
    if len(phrase) != 1:
        return False
    low = phrase[0].low
    index = tokens.index(phrase[0])
    determined = index > 0 and tokens[index - 1].low in DETERMINERS
    return low in PREDICATE_ADJECTIVES or (not determined and low.endswith(_ADJECTIVE_SUFFIXES))


def _focus_and_asks(
    question: str, tokens: list[_Token], verbs: list[bool], reading: _Reading
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    lows = [t.low for t in tokens]
    in_attribute = [False] * len(tokens)
    for s, e in reading.attributes:
        for k in range(s, e):
            in_attribute[k] = True
    in_idiom = [False] * len(tokens)
    for idiom in IDIOMS:
        for k in range(len(lows) - len(idiom) + 1):
            if tuple(lows[k : k + len(idiom)]) == idiom:
                for m in range(k, k + len(idiom)):
                    in_idiom[m] = True
    keep = [
        not in_attribute[k]
        and not in_idiom[k]
        and k not in reading.cue
        and not verbs[k]
        and (_is_contentish(low) or low[:1].isdigit())
        and low not in GENERIC_NOUNS
        and low not in _SENTENCE_END
        and not (low in PER_PERIOD and k and lows[k - 1] in {"a", "per", "each", "every"})
        for k, low in enumerate(lows)
    ]
    phrases = [p for p in _phrases(tokens, keep) if not _is_predicate_adjective(p, tokens)]
    ranked = sorted(phrases, key=_specificity, reverse=True)
    focus = tuple(dict.fromkeys(_phrase_text(question, p, tokens) for p in ranked))
    asks: list[str] = []
    for s, e in reading.attributes:
        words: list[str] = []
        for k in range(s, e + 1):
            if k == e or lows[k] in {",", "and", "or"}:  # "signs, symptoms and treatment": one attribute each
                if words:
                    asks.append(" ".join(words))
                words = []
            elif lows[k] not in DETERMINERS and lows[k] != "of":
                words.append(lows[k])
    if not asks and reading.cue_phrase:
        asks.append(reading.cue_phrase)
    asks += [lows[k] for k in range(len(lows)) if verbs[k] and lows[k] not in LIGHT_VERBS and lows[k] not in AUX]
    return focus, tuple(dict.fromkeys(asks))


# ---------------------------------------------------------------------------------------------------------------
# Putting a question together


_PRONOUN_REFERENCES = _words("it they them its")


def _clause_text(question: str, clause: list[_Token]) -> str:
    start = 0
    while start < len(clause) - 1 and clause[start].low in FILLERS | {","}:
        start += 1
    text = question[clause[start].start : clause[-1].end].strip(" ,;")
    return text[:1].upper() + text[1:] + "?"


def _part(question: str, clause: list[_Token], previous: QuestionPart | None) -> QuestionPart:
    lows = [t.low for t in clause]
    verbs = _verb_flags(clause)
    reading = _read(lows, verbs)
    focus, asks = _focus_and_asks(question, clause, verbs, reading)
    text = _clause_text(question, clause)
    if previous is not None and not focus:
        focus = previous.focus
        reference = next((t for t in clause if t.low in _PRONOUN_REFERENCES), None)
        if focus and reference is not None:
            first = next(t for t in clause if t.low not in FILLERS | {","})
            body = question[first.start : clause[-1].end].strip(" ,;")
            rel = reference.start - first.start
            name = focus[0] + ("'s" if reference.low == "its" else "")
            body = body[:rel] + name + body[rel + len(reference.text) :]
            text = body[:1].upper() + body[1:] + "?"
        elif all(t.low in WH | PREPOSITIONS | FILLERS | {","} for t in clause):
            # An elliptic "... and when?": the cue of this part, the rest of the part before.
            cue = " ".join(t.low for t in clause if t.low not in FILLERS | {","})
            rest = previous.text.rstrip("?").split(" ", 1)
            text = cue[:1].upper() + cue[1:] + " " + (rest[1] if len(rest) > 1 else "") + "?"
    return QuestionPart(text=text, answer_type=reading.answer_type, focus=focus, asks_for=asks)


def analyze(question: str) -> QuestionAnalysis:
    """Read a question's expected answer type, focus and asked-for attribute, one part per question it asks."""
    tokens = _tokens(question)
    if not tokens:
        return QuestionAnalysis(question, (QuestionPart(question.strip(), "other", (), ()),))
    parts: list[QuestionPart] = []
    previous_names_focus = False
    for clause in _split_clauses(tokens):
        # A part takes the focus of the part before only when that one named it rather than saying "it".
        parts.append(_part(question, clause, parts[-1] if parts and previous_names_focus else None))
        previous_names_focus = not any(t.low in _PRONOUN_REFERENCES for t in clause)
    if len(parts) == 1:
        only = parts[0]
        parts[0] = QuestionPart(question.strip(), only.answer_type, only.focus, only.asks_for)
    return QuestionAnalysis(question, tuple(parts))


# ---------------------------------------------------------------------------------------------------------------
# Measuring the rules on a labelled set


@dataclass(frozen=True)
class Score:
    questions: int
    answer_type_correct: int  # every part's type right, and as many parts as labelled
    focus_correct: int  # every labelled head in some focus phrase, and the first phrase holds one of them
    focus_exact: int  # focus correct, and no focus phrase without a labelled head
    asks_correct: int  # every labelled asks_for head in some asks_for phrase
    parts_correct: int

    def line(self, name: str) -> str:
        n = max(self.questions, 1)
        return (
            f"{name:9} n={self.questions:3}  answer type {self.answer_type_correct / n:6.1%}  "
            f"focus {self.focus_correct / n:6.1%}  focus exact {self.focus_exact / n:6.1%}  "
            f"asks_for {self.asks_correct / n:6.1%}  parts {self.parts_correct / n:6.1%}"
        )


def is_tuning(question: str) -> bool:
    """The fixed rule that splits a labelled set: even CRC-32 of the question text -> tuning half."""
    return zlib.crc32(question.encode("utf-8")) % 2 == 0


def _contains(phrases: tuple[str, ...], head: str) -> bool:
    return any(head.lower() in phrase.lower() for phrase in phrases)


def _judge(analysis: QuestionAnalysis, labels: list[dict]) -> tuple[bool, bool, bool, bool, bool]:
    parts_ok = len(analysis.parts) == len(labels)
    type_ok = parts_ok and all(p.answer_type == lab["type"] for p, lab in zip(analysis.parts, labels))
    focus_ok = exact_ok = asks_ok = parts_ok
    for part, label in zip(analysis.parts, labels):
        heads = label["focus"]
        if heads:
            this_ok = bool(part.focus) and all(_contains(part.focus, h) for h in heads)
            this_ok = this_ok and any(_contains(part.focus[:1], h) for h in heads)
            this_exact = this_ok and all(any(_contains((f,), h) for h in heads) for f in part.focus)
        else:
            this_ok = this_exact = not part.focus
        focus_ok &= this_ok
        exact_ok &= this_exact
        asks_ok &= all(_contains(part.asks_for, h) for h in label["asks"])
    return type_ok, focus_ok, exact_ok, asks_ok, parts_ok


def load_labelled(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Evaluation:
    tuning: Score
    held_out: Score
    confusion: dict[tuple[str, str], int]  # (labelled, read) -> count, over both halves, wrong ones only
    misses: list[tuple[bool, str]]  # (in the tuning half, what was read wrong)

    def report(self) -> str:
        lines = [self.tuning.line("tuning"), self.held_out.line("held-out"), "confusion (labelled -> read: count):"]
        for (want, got), count in sorted(self.confusion.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {want:>12} -> {got:<12} {count}")
        return "\n".join(lines)


def evaluate(path: Path) -> Evaluation:
    """Score `analyze` on a labelled JSONL file, split into halves by `is_tuning`."""
    totals = {True: [0] * 6, False: [0] * 6}
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for item in load_labelled(path):
        analysis = analyze(item["question"])
        verdict = _judge(analysis, item["parts"])
        row = totals[is_tuning(item["question"])]
        row[0] += 1
        for k, ok in enumerate(verdict):
            row[k + 1] += ok
        for part, label in zip(analysis.parts, item["parts"]):
            if part.answer_type != label["type"]:
                confusion[(label["type"], part.answer_type)] += 1
        if not all(verdict):
            got = [(p.answer_type, p.focus, p.asks_for) for p in analysis.parts]
            misses.append((is_tuning(item["question"]), f"{item['question']!r}: want {item['parts']} got {got}"))

    def score(row: list[int]) -> Score:
        return Score(row[0], row[1], row[2], row[3], row[4], row[5])

    return Evaluation(score(totals[True]), score(totals[False]), dict(confusion), misses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Analyse a question, or score the analyser on a labelled set.")
    parser.add_argument("question", nargs="?", help="a question to analyse")
    parser.add_argument("--evaluate", type=Path, metavar="FILE", help="labelled JSONL set to score")
    parser.add_argument("--misses", action="store_true", help="with --evaluate: list the questions read wrong")
    parser.add_argument("--half", choices=["tuning", "held-out", "all"], default="all", help="which misses to list")
    args = parser.parse_args(argv)
    if args.evaluate:
        result = evaluate(args.evaluate)
        print(result.report())
        if args.misses:
            for tuning, miss in result.misses:
                if args.half == "all" or tuning == (args.half == "tuning"):
                    print(miss)
        return 0
    if args.question:
        analysis = analyze(args.question)
        for part in analysis.parts:
            print(f"{part.answer_type:12} focus={part.focus} asks_for={part.asks_for}  [{part.text}]")
        return 0
    parser.error("give a question or --evaluate FILE")
    return 2


if __name__ == "__main__":
    sys.exit(main())
