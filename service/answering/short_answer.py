"""The short answer: the exact span of a sentence that answers a question of a given answer type.

Pure rules on the sentence text, no model: a span is only ever cut out of the sentence, so it is verbatim by
construction, and a sentence with nothing of the asked-for type gives None rather than a guess.

Conventions, fixed here so callers and the labelled set (tests/service/answering/data/short_answers.jsonl) agree:
- Words that change a value stay in the span ("roughly 2–4 hours", "up to 80 mg/day", "more than 33%",
  "two weeks or more"); a leading "the" never does ("early 1960s", "FDA").
- A count carries the noun it counts when that noun follows ("nine men", "2 of 5 patients", "5-patient"); an
  amount carries its unit and rate ("60 mg/day", "80 mg a day") but not its frequency: "5 mg three times a day"
  is the amount "5 mg" and the frequency "three times a day".
- A range is one span: "24-48 hours", "five to seven years", "between 15 mg and 80 mg per day", "from 2019 to 2020".
- A person keeps a title and a following "and colleagues" ("Dr. Maria Lopez", "Barbara A Flannery and her
  associates"); an author list is one span ("Tang and Hasselmo", "Gerra, Zaimovic, Giusti, et al.").
- An organisation or a named thing leaves out the bracketed acronym after its full name.
- A capitalised name with nothing to say whose it is (no title, role, "et al.", citation year, person verb) is
  a named thing, not a person: "who" questions get no guessed name.
- Reference markers ("[12]") are never part of a span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import Stemmer

from citeqa.index.text import DOSE_UNITS, NUMBER, REFERENCE_MARKER, STOPWORDS, TIME_UNITS, YEAR
from citeqa.service.answering.question import AnswerType


@dataclass(frozen=True)
class Span:
    start: int  # offsets into the sentence text
    end: int
    text: str  # == sentence[start:end]


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    noun: str | None = None  # what a count counts ("women" in "three women"), lower case
    kind: str | None = None  # an amount's kind: "mass", "body_mass", "money", "molar", ...


NO_SPAN_TYPES = frozenset({"yes_no", "list", "procedure", "reason", "definition", "other"})
_WINDOW = 48  # characters looked at before a match: rules about preceding words need no more, and stay linear

# ---------------------------------------------------------------------------------------------------------------
# Figures: counts, amounts, durations, frequencies, dates

_DIGIT_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_ONES = rf"{_DIGIT_WORDS}|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_SCALE = "hundred|thousand|million|billion"
WORD_NUMBER = (
    rf"\b(?:(?:{_TENS})(?:[-‐ ](?:{_DIGIT_WORDS}))?|{_ONES}|zero|a dozen|dozens|a hundred)(?:\s(?:{_SCALE}))?\b"
)
# A figure glued to a word before it is part of a name ("DSM-5", "α2δ"); "6million" is one figure.
DIGITS = rf"(?<![\w.,/]){NUMBER.pattern}(?:\s?(?:{_SCALE}))?"
VALUE = rf"(?:{DIGITS}|{WORD_NUMBER})"
VAGUE = r"\b(?:several|a few|a couple of|a couple|many|multiple)"
DASH = r"[-–—‐]"
RANGE_SEP = rf"(?:\s*{DASH}\s*|\s+(?:to|or)\s+)"
BETWEEN = rf"(?:\bbetween\s+{VALUE}\s+and\s+)"
# Words before a value that change it. "just" and "only" do not, so they stay out.
_QUALIFIER = re.compile(
    r"(?:\b(?:about|around|approximately|approx\.|roughly|nearly|almost|over|under|more than|less than|"
    r"fewer than|greater than|at least|at most|up to|no more than|as many as|as much as|as few as|"
    r"as little as|within|between|from)|[~≈<>≤≥])\s*$",
    re.I,
)
_SUFFIX = re.compile(r"\s+or\s+(?:more|less|fewer|longer|so)\b", re.I)

TIME_UNIT = rf"(?:{TIME_UNITS}|minutes?|mins?|seconds?|secs?|decades?|nights?|wks?|yrs?|h)"
_TIME_SINGULAR = r"(?:hour|day|week|month|year|minute|second|decade|night)"
# citeqa.index.text keeps the units a question's key term glues to its number; an answer needs a few more.
MASS_UNIT = r"mg|mcg|[µμ]g|ng|g|micrograms?|milligrams?|grams?"
BODY_MASS_UNIT = r"kg|kilograms?|lbs?|pounds?|stone"
DOSE_UNIT = (
    rf"(?:{DOSE_UNITS}|{MASS_UNIT}|{BODY_MASS_UNIT}|g/mol|k?Da|IU|units?|mmol|[µμ]mol|mEq|[mµμn]M|dL|"
    r"millilit(?:re|er)s?|lit(?:re|er)s?|percent|per cent|oz|ounces?|kcal)"
)
_RATE_ONE = (
    r"(?:/[A-Za-zµμ0-9]+|\s+(?:per|a|an|each)\s+(?:day|dose|kg|week|hour|night|month|year|pill|tablet|capsule|"
    r"injection|minute|min)s?\b|\s+per\s+\d+(?:\.\d+)?\s?(?:ml|l|mL|L)\b)"
)
RATE = rf"(?:{_RATE_ONE}){{1,2}}"  # "60 mg/day", "0.3 mg/kg per day", "5 mg per 5 mL"
CURRENCY = r"(?:US)?[$€£]"

_AMOUNT = re.compile(
    rf"{BETWEEN}?{VALUE}(?:{RANGE_SEP}{VALUE})?\s?{DOSE_UNIT}(?![\w%])(?:{RATE})?"
    rf"|{CURRENCY}\s?{NUMBER.pattern}(?:\s?(?:{_SCALE}))?(?:\s+per\s+[a-z]+\b|/[a-z]+)?",
    re.I,
)
_UNIT_AFTER_COUNT = re.compile(rf"\s?(?:{DOSE_UNIT}(?![\w%])(?:{RATE})?|{TIME_UNIT}(?!\w))", re.I)

_DURATION = re.compile(
    rf"{BETWEEN}?(?:{VALUE}|{VAGUE})(?:{RANGE_SEP}{VALUE})?\s?"
    rf"(?:(?:consecutive|additional|more|further|full|straight)\s+)?{TIME_UNIT}(?!\w)"
    rf"|{VALUE}{DASH}{_TIME_SINGULAR}s?(?![\w-])"  # "12-week", "three-year"
    rf"|\b(?:a|an|one)\s+{_TIME_SINGULAR}\b",  # "within a day"
    re.I,
)
_AGE_BEFORE = re.compile(r"\b(?:aged?|ages|age of)\s+$", re.I)
_AGE_AFTER = re.compile(r"\s+(?:old|of age)\b", re.I)
_ARTICLE_PERIOD = re.compile(rf"(?:a|an|one)\s+{_TIME_SINGULAR}", re.I)
_RATE_BEFORE = re.compile(rf"(?:times|{DOSE_UNIT}|per)\s+$", re.I)

_PERIOD = r"(?:day|week|month|year|hour|night|morning|evening|fortnight|minute)"
_COUNT_TIMES = rf"(?:(?:{VALUE}|several|a few|many|multiple)(?:{RANGE_SEP}{VALUE})?\s+times|once|twice|thrice)"
_ADVERB = r"(?:daily|weekly|monthly|yearly|annually|nightly|hourly|fortnightly)"
_FREQUENCY = re.compile(
    rf"\b{_COUNT_TIMES}\s+(?:(?:a|an|per|each|every)\s+{_PERIOD}\b|{_ADVERB}\b)"
    rf"|\b(?:once\s+|twice\s+)?every\s+(?:other\s+|few\s+|{VALUE}(?:{RANGE_SEP}{VALUE})?\s+)?"
    rf"(?:{_PERIOD}|{TIME_UNIT})s?\b"
    rf"|\b(?:on\s+an?\s+)?{_ADVERB}\s+basis\b"
    rf"|\b(?:b\.?i\.?d|t\.?i\.?d|q\.?i\.?d|q\d+h)\b\.?"
    rf"|\b(?:as|when) (?:needed|required)\b",
    re.I,
)
_BARE_ADVERB = re.compile(rf"\b{_ADVERB}\b", re.I)
_NEXT_WORD = re.compile(r"\s+([a-z][\w-]*)")

MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_PART_OF = r"(?i:(?:early|mid|late)[\s-]+)?"
_DATE = re.compile(
    rf"(?<!\w){_DAY}\s+{MONTH}(?:,?\s+{YEAR})?(?!\w)"
    rf"|\b{MONTH}\s+{_DAY}(?:,?\s+{YEAR})?(?!\w)"
    rf"|\b{MONTH},?\s+{YEAR}(?!\w)"
    rf"|(?<!\w){YEAR}-\d\d-\d\d(?!\w)"
    rf"|{_PART_OF}(?<![\w'’])(?:1[89]|20)\d0s(?!\w)"  # a decade: "1970s", "early 2000s", "mid-1980s"
    rf"|{_PART_OF}(?<![\w.,$£€]){YEAR}(?!\w|[.,]\d)"
    rf"|\b{MONTH}(?!\w)"
)
_MONTH_ALONE = re.compile(rf"{MONTH}$")
_DATE_PREPOSITION = re.compile(
    r"\b(?:in|on|from|to|until|till|since|by|during|early|late|mid|between|and|through|before|after|of)\s+$", re.I
)
_UNIT_AFTER_YEAR = re.compile(rf"\s?(?:{DOSE_UNIT}|{TIME_UNIT})(?!\w)", re.I)
_WORD_AFTER = re.compile(r"\s([a-z]+)\b")

_COUNT = re.compile(
    rf"(?:(?<![\w.,/])\d+(?:st|nd|rd|th)\b"
    rf"|{VALUE}\s+(?:out\s+)?of\s+(?:the\s+|these\s+|those\s+|all\s+)?{VALUE}"
    rf"|{VALUE}(?:{RANGE_SEP}{VALUE})?)"
    rf"(?:{DASH}[a-z]+\b)?",  # "5-patient", "12-week", "100-fold"
    re.I,
)
# A figure that labels rather than counts: "Phase 2", "type 2", "day 3", "BNF 75".
_LABEL_BEFORE = re.compile(
    r"\b(?:phase|type|grade|stage|step|level|class|schedule|figure|fig\.|table|chapter|section|page|day|week|"
    r"month|visit|cycle|version|no\.|number|appendix|item|question)\s+$",
    re.I,
)
_ACRONYM_BEFORE = re.compile(r"\b[A-Z]{2,}[\s-]$")
_RATIO_BEFORE = re.compile(r"\b(?:of|out of)\s+$", re.I)
_NOT_A_COUNT_BEFORE = re.compile(r"\b(?:no|any|every|some|each|the|this|that|which|another)\s+$", re.I)
_COUNTED_WORD = re.compile(r" ([a-z][\w-]*)(?![\w'’])")
_PLURAL_IRREGULAR = frozenset("men women people children mice feet teeth data criteria bacteria phenomena".split())
_MODALS = frozenset("may might must shall per".split())
# The people a study counts: any of these answers "how many people", while "women" answers only "how many women".
_GENERIC_PERSON = frozenset(
    """people persons patients participants subjects individuals volunteers clients users respondents adults
    cases""".split()
)
_PERSON_NOUN = _GENERIC_PERSON | frozenset("men women children boys girls infants adolescents".split())


def _before(text: str, pos: int) -> str:
    return text[max(0, pos - _WINDOW) : pos]


def _extend(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in a qualifier before ("up to") and an "or so" / "or more" after."""
    q = _QUALIFIER.search(_before(text, start))
    if q:
        word = q.group().strip().lower()
        inside = text[start:end].lower()
        if (word != "between" or " and " in inside) and (word != "from" or " to " in inside):
            start -= len(q.group())
    s = _SUFFIX.match(text, end)
    return start, s.end() if s else end


def _join_ranges(text: str, found: list[_Candidate]) -> list[_Candidate]:
    """Neighbours that make one range: "72 hours – 1 week", "10 mg or 20 mg", "$10 to $20"."""
    out: list[_Candidate] = []
    for c in found:
        if out:
            gap = text[out[-1].end : c.start]
            joiner = gap.strip().lower()
            before = _before(text, out[-1].start).lower()
            joins = joiner in {"–", "—", "-", "‐", "or"} or (joiner == "to" and not before.endswith("up to "))
            joins = joins or (joiner == "and" and re.search(r"\bbetween\s+$", before) is not None)
            if joins and len(gap) <= 5:
                out[-1] = _Candidate(out[-1].start, c.end, c.noun or out[-1].noun, out[-1].kind or c.kind)
                continue
        out.append(c)
    return out


def _finish(text: str, found: list[_Candidate], join: bool = True) -> list[_Candidate]:
    kept: list[_Candidate] = []
    for c in sorted(found, key=lambda c: (c.start, -c.end)):
        if not kept or c.start >= kept[-1].end:  # a match inside an earlier, longer one is the same figure
            kept.append(c)
    if join:
        kept = _join_ranges(text, kept)
    return [_Candidate(*_extend(text, c.start, c.end), c.noun, c.kind) for c in kept]


def _amount_kind(span: str) -> str:
    s = span.lower()
    if re.search(r"[$€£]|dollars?|euros?", s):
        return "money"
    if "%" in s or "percent" in s or "per cent" in s:
        return "percent"
    if re.search(r"g/mol|\bk?da\b", s):
        return "molar"
    if re.search(r"/(?:min|s)\b|per min", s):
        return "flow"
    if re.search(r"/(?:m?l|dl)\b|\b[mµμn]m\b|mmol|[µμ]mol|meq", s):
        return "concentration"
    if re.search(rf"\d\s?(?:{BODY_MASS_UNIT})\b", s):
        return "body_mass"
    if re.search(r"\b(?:ml|l|millilit\w*|lit(?:re|er)s?)\b", s) and not re.search(rf"(?:{MASS_UNIT})\b", s):
        return "volume"
    return "mass"


def _amounts(text: str) -> list[_Candidate]:
    return _finish(text, [_Candidate(m.start(), m.end(), kind=_amount_kind(m.group())) for m in _AMOUNT.finditer(text)])


def _frequencies(text: str) -> list[_Candidate]:
    found = [_Candidate(m.start(), m.end()) for m in _FREQUENCY.finditer(text)]
    for m in _BARE_ADVERB.finditer(text):
        after = _NEXT_WORD.match(text, m.end())
        if not (after and after.group(1) not in STOPWORDS):  # else an adjective: "a daily dose"
            found.append(_Candidate(m.start(), m.end()))
    return _finish(text, found, join=False)


def _durations(text: str) -> list[_Candidate]:
    frequencies = _frequencies(text)
    found = []
    for m in _DURATION.finditer(text):
        if _AGE_BEFORE.search(_before(text, m.start())) or _AGE_AFTER.match(text, m.end()):
            continue
        if _ARTICLE_PERIOD.fullmatch(m.group()):  # the "a day" of "three times a day" is no duration
            if any(f.start <= m.start() < f.end for f in frequencies) or _RATE_BEFORE.search(_before(text, m.start())):
                continue
        found.append(_Candidate(m.start(), m.end()))
    return _finish(text, found)


def _dates(text: str) -> list[_Candidate]:
    found = []
    for m in _DATE.finditer(text):
        if _MONTH_ALONE.match(m.group()) and not _DATE_PREPOSITION.search(_before(text, m.start())):
            continue  # "May cause drowsiness"
        if _UNIT_AFTER_YEAR.match(text, m.end()):
            continue  # "2000 mg" is an amount
        counted = _WORD_AFTER.match(text, m.end())
        if m.group().isdigit() and counted and _is_plural(counted.group(1)):
            continue  # "1999 participants" is a count
        found.append(_Candidate(m.start(), m.end()))
    out: list[_Candidate] = []
    for c in found:  # "between 2001 and 2004", "from January to June 2019", "1990–1995"
        if out:
            gap = text[out[-1].end : c.start].strip().lower()
            before = _before(text, out[-1].start).lower().rstrip()
            dash = gap in {"–", "—", "-"}
            if dash or (gap == "and" and before.endswith("between")) or (gap == "to" and before.endswith("from")):
                out[-1] = _Candidate(out[-1].start, c.end)
                continue
        out.append(c)
    result = []
    for c in out:
        lead = re.search(r"\b(?:between|from)\s+$", _before(text, c.start), re.I)
        ranged = lead and re.search(r" (?:and|to) ", text[c.start : c.end])
        result.append(_Candidate(c.start - len(lead.group()) if ranged else c.start, c.end))
    return result


def _is_plural(word: str) -> bool:
    w = word.lower()
    return w in _PLURAL_IRREGULAR or (len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")))


def _counted_noun(text: str, end: int, singular: bool) -> tuple[int, str | None]:
    """The noun a count counts, up to four words on: "40 opioid-dependent patients", "1 pilot study"."""
    pos = end
    taken: list[tuple[int, str]] = []
    for _ in range(4):
        m = _COUNTED_WORD.match(text, pos)
        if not m or m.group(1) in STOPWORDS or m.group(1) in _MODALS:
            break
        pos, word = m.end(), m.group(1)
        if _is_plural(word):
            return pos, word
        if singular and word.endswith(("ed", "ing", "ly")):
            break
        taken.append((pos, word))
    if singular and taken:
        return taken[min(1, len(taken) - 1)]
    return end, None


def _counts(text: str) -> list[_Candidate]:
    dates = _dates(text)
    found = []
    for m in _COUNT.finditer(text):
        start, end = m.start(), m.end()
        token_start = text.rfind(" ", 0, start) + 1
        if re.search(r"[^\W\d_]", text[token_start:start]):
            continue  # a figure inside a name: "DSM-5", "COVID-19"
        before = _before(text, start)
        if (_LABEL_BEFORE.search(before) or _ACRONYM_BEFORE.search(before)) and not _RATIO_BEFORE.search(before):
            continue
        if text[start - 1 : start] in {"$", "€", "£"}:
            start -= 1
        suffix = _SUFFIX.match(text, end)
        end = suffix.end() if suffix else end  # "two or more criteria"
        value = text[start:end].lower()
        unit = _UNIT_AFTER_COUNT.match(text, end)
        noun: str | None = None
        if re.fullmatch(r"\d+(?:st|nd|rd|th)", value):
            noun = "rank"  # "104th" ranks, it does not count
        elif re.search(r"-[a-z]+$", value):
            noun = value.rsplit("-", 1)[1]
        elif unit:
            end = unit.end()
            noun = None if re.search(r"%|per\s?cent", unit.group(), re.I) else unit.group().strip().lower()
        else:
            end, noun = _counted_noun(text, end, singular=value in {"one", "1"} or value.endswith((" of one", " of 1")))
            if value == "one" and (noun is None or _NOT_A_COUNT_BEFORE.search(before)):
                continue  # "one of the most", "no one"
        if noun is None and any(d.start <= start and end <= d.end for d in dates):
            continue  # a year, not a count
        found.append(_Candidate(start, end, noun))
    return _finish(text, found, join=False)


# ---------------------------------------------------------------------------------------------------------------
# Names: people, organisations, named things

_TOKEN = re.compile(r"[^\W_](?:\w|[-‐'’](?=\w))*")
_WORDS = re.compile(r"[\w'’-]+")
_ACRONYM_PREFIX = re.compile(r"[A-Z]{2,}-[a-z]+$")  # "FDA-approved" holds the name "FDA"
TITLES = frozenset("Dr Prof Mr Mrs Ms Miss Sir Dame Professor Doctor".split())
_NAME_PARTICLES = frozenset("de van von der den du la le da di del bin".split())
_CONNECTORS = frozenset("of on for and &".split())
ORG_WORDS = frozenset(
    """Administration Agency Agencies Association Institute Institutes University Foundation Company Corporation
    Corp Inc Ltd LLC GmbH AG plc Pharmaceuticals Pharmaceutical Pharma Laboratories Labs Center Centers Centre
    Centres Hospital Hospitals Clinic Society Council Organization Organisation Ministry Department Board
    Commission College Academy Group Network Trust Service Services Authority Bureau Office Federation Alliance
    Consortium Committee""".split()
)
# Words that make a capitalised name a thing, not a person: a scale, a manual, a syndrome, a journal.
THING_WORDS = frozenset(
    """Scale Scales Manual Inventory Questionnaire Index Score Test Syndrome Disease Disorder Disorders Criteria
    Formulary Journal Review Research Guidelines Guideline Trial Study Act Program Programme Handbook Report
    Survey Assessment Protocol Checklist Edition Method Medicine Medicines""".split()
)
PLACE_WORDS = frozenset(
    "United New North South East West Saint St Great Republic Kingdom States Union Island Islands County City".split()
)
ROLE_NOUNS = frozenset(
    """chemist chemists pharmacologist physician physicians doctor doctors cardiologist neurologist psychiatrist
    psychologist surgeon nurse pharmacist scientist scientists researcher researchers investigator investigators
    author authors professor inventor biologist clinician clinicians epidemiologist writer journalist founder
    director colleague colleagues coworkers co-workers toxicologist physiologist""".split()
)
_STUDY_NOUNS = frozenset(
    "study studies trial trials work book team group research findings paper report lab laboratory experiment".split()
)
PERSON_VERBS = frozenset(
    """hypothesized hypothesised described wrote noted reported said argued proposed suggested concluded observed
    discovered invented believed claimed found showed conducted organized organised treated published studied
    thought""".split()
)
# Strong enough to make a sentence's capitalised first word a name ("Keberle hypothesized", not "Research showed").
_INITIAL_PERSON_VERBS = frozenset(
    "hypothesized hypothesised wrote argued believed claimed said proposed invented thought".split()
)
_ORG_NOUNS = frozenset(
    """company companies manufacturer manufacturers maker makers drugmaker firm agency regulator university
    hospital clinic laboratory institute organization organisation centre center facility authority""".split()
)
_MAKER_VERBS = frozenset("made manufactured marketed produced sold distributed supplied licensed".split())
_ORG_ACTS = re.compile(
    r"\s+(?:approved|approval|issued|recommend\w*|warn\w*|licens\w*|endors\w*|cleared|clearance|authori[sz]\w*|"
    r"ban\w*|fund\w*|guidance|guidelines|label\w*|requir\w*|regulat\w*|review\w*|announc\w*|mandat\w*|added|"
    r"decided|stated)\b",
    re.I,
)
_WORK_NOUNS = frozenset("book article paper journal novel film titled called named entitled memoir".split())
_DEMONYM = re.compile(r"(?:ish|ese|ian|an|ic|French|Swiss|Dutch|Greek|Thai|Welsh)$")
_CONNECTIVES = frozenset(
    """however although though moreover furthermore therefore thus hence despite unlike like among within without
    since whereas yet also even still many several another either neither every overall nevertheless thereafter
    meanwhile instead indeed first second third finally next today common serious only just""".split()
)
_AUTHORS = re.compile(
    r"(?P<names>[A-Z][\w'’-]*(?:,\s+[A-Z][\w'’-]*)*(?:,?\s+and\s+[A-Z][\w'’-]*)?)"
    r"(?P<etal>,?\s+et\s+al\.?)?(?=(?P<year>\s*\((?:18|19|20)\d\d[a-z]?\))?)"
)
_AND_COLLEAGUES = re.compile(
    r"\s+and\s+(?:his\s+|her\s+|their\s+)?(?:colleagues|co-?workers|associates|team|collaborators)\b", re.I
)
_ET_AL = re.compile(r"\s*,?\s+et\s+al\b")
_CITATION_YEAR = re.compile(r"\s*\((?:18|19|20)\d\d[a-z]?\)")
_APPOSITIVE = re.compile(r",\s+((?:[\w'’-]+ ?){1,4})")  # ", a Swiss chemist"
_EDITION = re.compile(r"[\s-](?:\d+|[IVX]+)\b")  # "BNF 75", "DSM-IV"
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…]\s*|[“\"(]\s*)[“\"(]?")


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Run:
    """Capitalised words in a row: "Heinrich Keberle", "US Food and Drug Administration"."""

    toks: tuple[_Tok, ...]
    initial: bool  # begins where a sentence (or a "Label:" line) begins, so capitalised by position

    @property
    def start(self) -> int:
        return self.toks[0].start

    @property
    def end(self) -> int:
        last = self.toks[-1]
        return last.end - 2 if _possessive(last.text) else last.end

    def words(self) -> list[str]:
        return [t.text[:-2] if _possessive(t.text) else t.text for t in self.toks]


def _possessive(word: str) -> bool:
    return word.endswith(("'s", "’s"))


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= max(2, len(letters) - 1)


def _name_shaped(word: str) -> bool:
    """Reads as a name wherever it stands: "GABA", "CIWA-Ar", "McDougle", "DSM-5"."""
    return _acronym(word) or any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)


def _common_first_word(word: str) -> bool:
    lower = word.lower()
    return lower in STOPWORDS or lower in _CONNECTIVES or lower.endswith(("ly", "ing", "ed"))


def _words_before(text: str, pos: int, n: int) -> list[str]:
    return _WORDS.findall(_before(text, pos))[-n:]


def _words_after(text: str, pos: int, n: int) -> list[str]:
    return _WORDS.findall(text, pos, pos + _WINDOW * 2)[:n]


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        word = m.group()
        if _ACRONYM_PREFIX.match(word):
            word = word[: word.index("-")]
        out.append(_Tok(m.start(), m.start() + len(word), word))
    return out


def _is_headline(tokens: list[_Tok]) -> bool:
    """Title Case throughout ("Let's Embrace Inner Chaos"): capitals there say nothing about names."""
    long_words = [t.text for t in tokens if len(t.text) > 3 and t.text.isalpha()]
    return len(long_words) >= 3 and all(_capitalised(w) for w in long_words)


def _runs(text: str, tokens: list[_Tok]) -> list[_Run]:
    initial = {m.end() for m in _SENTENCE_START.finditer(text)}
    runs: list[_Run] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        lone_letter = len(t.text) == 1 and not (i + 1 < len(tokens) and _capitalised(tokens[i + 1].text))
        if not _capitalised(t.text) or lone_letter:  # "R- and S-phenibut"
            i += 1
            continue
        toks = [t]
        i += 1
        while i < len(tokens) and not _possessive(toks[-1].text) and _capitalised(tokens[i].text):
            gap, prev = text[toks[-1].end : tokens[i].start], toks[-1].text
            if gap != " " and not (gap == ". " and (prev in TITLES or (len(prev) == 1 and prev.isupper()))):
                break
            toks.append(tokens[i])
            i += 1
        runs.append(_Run(tuple(toks), t.start in initial))
    merged: list[_Run] = []  # "University of Amsterdam", "Food and Drug Administration", "Ludwig van Beethoven"
    for run in runs:
        if merged and not _possessive(merged[-1].toks[-1].text):
            prev = merged[-1]
            gap = text[prev.end : run.start]
            connector = gap.strip()
            kinded = any(w in ORG_WORDS or w in THING_WORDS for w in prev.words() + run.words())
            if re.fullmatch(r" \S+ ", gap) and (
                (kinded and connector in _CONNECTORS) or (connector in _NAME_PARTICLES and len(run.toks) == 1)
            ):
                between = tuple(x for x in tokens if prev.end < x.start < run.start)
                merged[-1] = _Run(prev.toks + between + run.toks, prev.initial)
                continue
        merged.append(run)
    return merged


def _without_initial_word(run: _Run) -> _Run | None:
    """A sentence's first word is capitalised by position: keep it only when it reads as a name."""
    if not run.initial:
        return run
    first = run.words()[0]
    if first in TITLES:
        return run if len(run.toks) > 1 else None
    if _common_first_word(first):
        return _Run(run.toks[1:], False) if len(run.toks) > 1 else None
    return run


class _Names:
    """The capitalised names of one sentence, each sorted as a person, an organisation or a named thing."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.people: list[_Candidate] = []
        self.organisations: list[_Candidate] = []
        self.things: list[_Candidate] = []
        tokens = _tokens(text)
        if _is_headline(tokens):
            return
        authors = self._author_lists()
        for whole in _runs(text, tokens):
            run = _without_initial_word(whole)
            if run is None or any(a.start <= run.start < a.end for a in authors):
                continue
            kind = self._classify(run)
            lone_initial = run.initial and len(run.toks) == 1
            if kind == "person":
                if not lone_initial or self._person_cue_after(run, initial=True):
                    self.people.append(self._person_span(run))
            elif kind is None or (lone_initial and not _name_shaped(run.words()[0])):
                continue  # "Group therapy:", "Insomnia:", "Research indicates"
            elif kind == "organisation":
                self.organisations.append(_Candidate(run.start, run.end))
            elif not self._alias(run):
                edition = _EDITION.match(text, run.end) if _acronym(run.words()[-1]) else None
                self.things.append(_Candidate(run.start, edition.end() if edition else run.end))
        self.people = sorted(self.people + authors, key=lambda c: c.start)

    def _person_span(self, run: _Run) -> _Candidate:
        start, end = run.start, run.end
        before = _words_before(self.text, start, 1)
        if before and before[0] in TITLES and run.words()[0] not in TITLES:
            start = self.text.rfind(before[0], 0, start)
        tail = _AND_COLLEAGUES.match(self.text, end)
        return _Candidate(start, tail.end() if tail else end)

    def _alias(self, run: _Run) -> bool:
        """ "(HAM-D)" right after "Hamilton Depression Rating Scale" names the same thing again."""
        if not (len(run.toks) == 1 and _acronym(run.words()[0])):
            return False
        if self.text[run.start - 1 : run.start] != "(" or self.text[run.end : run.end + 1] != ")":
            return False
        return any(c.end == run.start - 2 for c in self.things + self.organisations + self.people)

    def _author_lists(self) -> list[_Candidate]:
        """ "Gerra, Zaimovic, Giusti, et al.", "Tang and Hasselmo (1996)", "Ahmadi-Abhari and Assadi conducted"."""
        out = []
        for m in _AUTHORS.finditer(self.text):
            follows = _words_after(self.text, m.end("names"), 1)
            by_verb = " and " in m.group("names") and follows and follows[0].lower() in PERSON_VERBS
            if not (m.group("etal") or m.group("year") or by_verb):
                continue
            names = re.split(r",\s+and\s+|,\s+|\s+and\s+", m.group("names"))
            if any(_common_first_word(n) or n in ORG_WORDS or n in THING_WORDS or n in PLACE_WORDS for n in names):
                continue
            out.append(_Candidate(m.start(), m.end("etal") if m.group("etal") else m.end("names")))
        return out

    def _person_cue_after(self, run: _Run, initial: bool = False) -> bool:
        text = self.text
        after = _words_after(text, run.end, 6)
        if _possessive(run.toks[-1].text):
            return any(w.lower() in _STUDY_NOUNS for w in after[1:3])  # "Addolorato's initial study"
        if _ET_AL.match(text, run.end) or _AND_COLLEAGUES.match(text, run.end) or _CITATION_YEAR.match(text, run.end):
            return True
        if after and after[0].lower() in (_INITIAL_PERSON_VERBS if initial else PERSON_VERBS):
            return True
        appositive = _APPOSITIVE.match(text, run.end)
        return bool(appositive and any(w.lower() in ROLE_NOUNS for w in appositive.group(1).split()))

    def _classify(self, run: _Run) -> str | None:
        text, words = self.text, run.words()
        before = _words_before(text, run.start, 3)
        prev = before[-1].lower() if before else ""
        next_word = _NEXT_WORD.match(text, run.end)
        org_at = [i for i, w in enumerate(words) if w in ORG_WORDS]
        if org_at and not any(w in THING_WORDS for w in words[org_at[-1] :]):
            return "organisation"  # but "Clinical Institute Withdrawal Assessment" is a scale
        if (words[0] == "The" and not run.initial) or any(w in THING_WORDS for w in words):
            return "thing"  # "The Last Glass", "Hamilton Depression Rating Scale"
        if len(words) == 1 and all(_DEMONYM.search(p) for p in words[0].split("-")) and next_word:
            if next_word.group(1) not in STOPWORDS:
                return None  # "Swiss chemist", "French-American cardiologist"
        if any(w.lower() in _ORG_NOUNS for w in before) and not any(w.lower() in ROLE_NOUNS for w in before):
            if prev not in {"a", "an"}:
                return "organisation"  # "the pharmaceutical company Ciba-Geigy"
        if prev == "by" and len(before) >= 2 and before[-2].lower() in _MAKER_VERBS:
            return "organisation"  # "manufactured by Sandoz"
        if prev == "at" and not any(w in PLACE_WORDS for w in words) and words[0] not in TITLES:
            return "organisation"  # "synthesized at Ciba-Geigy"
        if len(words) == 1 and _acronym(words[0]):
            lead = _before(text, run.start)
            agent = re.search(r"\b(?:by|from)\s+the\s+$", lead, re.I)
            acts = re.search(r"\bthe\s+$", lead, re.I) and _ORG_ACTS.match(text, run.end)
            if agent or acts or re.match(r"-approved|\s+approv", text[run.end : run.end + 12]):
                return "organisation"  # "approved by the FDA", "the FDA issued", "FDA-approved"
            return "thing"
        if any(w in PLACE_WORDS for w in words):
            return "thing"
        role_named = prev in {"named", "called"} and len(before) >= 2 and before[-2].lower() in ROLE_NOUNS
        if prev in ROLE_NOUNS or words[0] in TITLES or (before and before[-1] in TITLES) or role_named:
            return "person"  # "Swiss chemist Heinrich Keberle", "Dr. Maria Lopez", "a professor named ..."
        if prev in _WORK_NOUNS or (len(before) >= 2 and before[-2].lower() in _WORK_NOUNS and prev in {"in", "as"}):
            return "thing"  # "his book, Le Dernier Verre", "an article in Pharmacological Research"
        if self._person_cue_after(run):
            return "person"
        return "thing"


# ---------------------------------------------------------------------------------------------------------------
# Public


def _mask_references(sentence: str) -> str:
    """Blank out "[12]" markers, keeping every offset, so no rule sees them and no span can hold them."""
    return REFERENCE_MARKER.sub(lambda m: " " * len(m.group()), sentence)


def _candidates(sentence: str, answer_type: AnswerType) -> list[_Candidate]:
    if answer_type in NO_SPAN_TYPES:
        return []
    text = _mask_references(sentence)
    if answer_type == "number":
        found = _counts(text)
    elif answer_type == "amount":
        found = _amounts(text)
    elif answer_type == "date":
        found = _dates(text)
    elif answer_type == "duration":
        found = _durations(text)
    elif answer_type == "frequency":
        found = _frequencies(text)
    elif answer_type in {"person", "organisation", "named"}:
        names = _Names(text)
        found = {"person": names.people, "organisation": names.organisations, "named": names.things}[answer_type]
    else:
        raise ValueError(f"unknown answer type {answer_type!r}")
    out = []
    for c in found:
        start, end = c.start, c.end
        while start < end and (text[start].isspace() or text[start] in ",;"):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
            end -= 1
        if start < end:
            out.append(_Candidate(start, end, c.noun, c.kind))
    return out


def candidate_spans(sentence: str, answer_type: AnswerType) -> list[Span]:
    """Every span of the sentence that could answer a question of this type, in sentence order."""
    return [Span(c.start, c.end, sentence[c.start : c.end]) for c in _candidates(sentence, answer_type)]


def carries_type(sentence: str, answer_type: AnswerType) -> bool:
    """Whether the sentence holds anything of the asked-for type at all: evidence for ranking sentences."""
    return bool(_candidates(sentence, answer_type))


# Which kinds of amount answer a question asking for a word: a "weight" is kg or lb, never g/mol.
_AMOUNT_KINDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(["dose", "dosage", "dosing"], frozenset({"mass", "body_mass", "volume"})),
    "strength": frozenset({"mass", "volume", "percent"}),
    **dict.fromkeys(["weight", "weigh"], frozenset({"body_mass"})),
    **dict.fromkeys(["cost", "price", "money", "pay", "spend"], frozenset({"money"})),
    **dict.fromkeys(["percentage", "percent", "proportion", "share"], frozenset({"percent"})),
    **dict.fromkeys(["level", "concentration"], frozenset({"concentration", "percent"})),
    **dict.fromkeys(["ki", "affinity"], frozenset({"concentration"})),
    "clearance": frozenset({"flow"}),
    "volume": frozenset({"volume"}),
}
_MOLAR = re.compile(r"\b(?:molecular|molar)\b", re.I)
_PER_PERIOD = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year", "annual": "year",
               "annually": "year", "nightly": "night", "hourly": "hour"}  # fmt: skip
_CUE_PENALTY_AFTER = 2  # a question word after an answer is weaker evidence than one before it ("dose of 5 mg")
_CUE_CAP = 6  # words: farther away, a question word in the sentence says nothing about a span


def _question_words(phrases: Sequence[str]) -> list[str]:
    out: list[str] = []
    for phrase in phrases:
        for w in _WORDS.findall(phrase.lower()):
            w = _PER_PERIOD.get(w, w)  # "daily" is answered by "a day"
            if len(w) >= 2 and w not in STOPWORDS and w not in out:
                out.append(w)
    return out


def _same_word(a: str, b: str, stems: dict[str, str]) -> bool:
    if a == b or stems[a] == stems[b]:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short.rstrip("e"))  # "dose" and "dosage"


def _allowed_kinds(words: list[str], phrases: Sequence[str]) -> frozenset[str] | None:
    if any(_MOLAR.search(p) for p in phrases):
        return frozenset({"molar"})
    kinds: frozenset[str] = frozenset()
    for w in words:
        kinds |= _AMOUNT_KINDS.get(w, frozenset()) | _AMOUNT_KINDS.get(w.removesuffix("s"), frozenset())
    return kinds or None


def _noun_fits(noun: str, counted: list[str], stems: dict[str, str]) -> bool:
    return any(_same_word(noun, c, stems) or (c in _GENERIC_PERSON and noun in _PERSON_NOUN) for c in counted)


class _Cues:
    """Where the question's words stand in the sentence, to measure how near a candidate is to them."""

    def __init__(self, sentence: str, words: list[str], nouns: list[str], penalty_after: int) -> None:
        self.tokens = [(m.start(), m.end(), m.group().lower()) for m in _WORDS.finditer(sentence)]
        vocabulary = sorted({t[2] for t in self.tokens} | set(words) | set(nouns))
        self.stems = dict(zip(vocabulary, Stemmer.Stemmer("english").stemWords(vocabulary), strict=True))
        self.words = words
        self.penalty_after = penalty_after

    def where(self, words: list[str]) -> list[list[int]]:
        found = [[i for i, t in enumerate(self.tokens) if _same_word(t[2], w, self.stems)] for w in words]
        return [at for at in found if at]

    def distance(self, c: _Candidate, positions: list[list[int]]) -> int:
        inside = [i for i, t in enumerate(self.tokens) if t[0] >= c.start and t[1] <= c.end] or [0]
        first, last = inside[0], inside[-1]
        total = 0
        for at in positions:
            near = [0 if first <= i <= last else first - i if i < first else i - last + self.penalty_after for i in at]
            total += min(min(near), _CUE_CAP)
        return total

    def names_only_question_words(self, c: _Candidate) -> bool:
        """The question itself names this candidate ("the AUD criteria"), so it is not what is asked for."""
        inside = [t[2] for t in self.tokens if t[0] >= c.start and t[1] <= c.end]
        return bool(inside) and all(any(_same_word(w, q, self.stems) for q in self.words) for w in inside)

    def mentions(self, counted: list[str]) -> bool:
        return any(_noun_fits(t[2], counted, self.stems) for t in self.tokens)


def counts_people_or_things(asks_for: Sequence[str]) -> bool:
    """"How many people…", "how many tablets…": the question counts a noun, so a dose or a weight is no answer."""
    return any(_is_plural(w) or w in _PERSON_NOUN for w in _question_words(asks_for))


def best_span(
    sentence: str, answer_type: AnswerType, focus: Sequence[str] = (), asks_for: Sequence[str] = ()
) -> Span | None:
    """The candidate that answers: the one nearest the question's words in the sentence, else the first.

    `asks_for` names what is asked for (the counted noun of "how many women", the "dose" of "what dose");
    `focus` the rest of what the question is about. A count of something else ("40 men" for "how many women"),
    an amount of the wrong kind (g/mol for a body weight) or a name the question already gives is no answer:
    then None, never the nearest figure.
    """
    candidates = _candidates(sentence, answer_type)
    if not candidates:
        return None
    asked, about = _question_words(asks_for), _question_words(focus)
    # a count's verb stands on either side of it ("48 children randomised"); other answers follow their cue
    penalty = 0 if answer_type == "number" else _CUE_PENALTY_AFTER
    cues = _Cues(
        sentence, asked + [w for w in about if w not in asked], [c.noun for c in candidates if c.noun], penalty
    )

    if answer_type == "amount":
        kinds = _allowed_kinds(cues.words, list(asks_for) + list(focus))
        candidates = [c for c in candidates if kinds is None or c.kind in kinds]
    elif answer_type in {"person", "organisation", "named"}:
        candidates = [c for c in candidates if not cues.names_only_question_words(c)]
    counted: list[str] = []
    if answer_type == "number":
        countable = [w for w in asked if _is_plural(w) or w in _PERSON_NOUN]
        counted = countable or [w for w in about if _is_plural(w) or w in _PERSON_NOUN]
        if counted:
            # a bare figure counts the asked-for thing only where the sentence names it ("64 were women")
            bare_ok = cues.mentions(counted)
            candidates = [
                c
                for c in candidates
                if (c.noun is None and bare_ok) or (c.noun and _noun_fits(c.noun, counted, cues.stems))
            ]
    if not candidates:
        return None

    if counted:  # the counted noun is settled above; which count it is, the question's other words tell
        others = cues.where([w for w in cues.words if w not in counted])
        by_noun = cues.where(counted)
        best = min(candidates, key=lambda c: (cues.distance(c, others), cues.distance(c, by_noun), c.start))
        start, end = _coordinated(sentence, candidates, best, counted, cues.stems)
    else:
        near = cues.where(cues.words)
        best = min(candidates, key=lambda c: (cues.distance(c, near), c.start))
        start, end = best.start, best.end
    return Span(start, end, sentence[start:end])


def _coordinated(
    sentence: str, candidates: list[_Candidate], best: _Candidate, counted: list[str], stems: dict[str, str]
) -> tuple[int, int]:
    """ "nine men and three women": counts joined by "and", each of something the question asks to count."""
    fitting = [c for c in candidates if c.noun and _noun_fits(c.noun, counted, stems)]
    if best not in fitting:
        return best.start, best.end
    i = j = fitting.index(best)
    joined = re.compile(r",?\s+and\s+")
    while i > 0 and joined.fullmatch(sentence[fitting[i - 1].end : fitting[i].start]):
        i -= 1
    while j + 1 < len(fitting) and joined.fullmatch(sentence[fitting[j].end : fitting[j + 1].start]):
        j += 1
    return fitting[i].start, fitting[j].end
