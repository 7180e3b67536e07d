"""The text rules every part of citeqa shares, one copy each: words, stopwords, markers, numbers and units.

Unit-making code (cleaning, sentences) uses these rules, so this file is part of `units_code_version()`:
editing a rule here invalidates stored units, as editing the splitter itself would.
"""

from __future__ import annotations

import re

import Stemmer

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves ok okay please tell
    know want need take taking taken get getting got use used using i'm i've i'd i'll it's what's that's
    don't doesn't can't won't isn't aren't""".split()
)

# A source's own reference marker: "[3]", "[citation needed]". Case-free by an inline flag, so the pattern keeps
# its meaning inside any larger pattern that embeds it. Editorial brackets ("[or possibly a high]") are text.
REFERENCE = r"\[(?i:\d+|[a-z ]+needed)\]"
REFERENCE_MARKER = re.compile(REFERENCE)

BULLET = r"[•\-*·▪◦]"
# A bullet or a step number that opens a list line ("• dizziness", "2) Stop slowly").
LIST_MARKER = re.compile(rf"^\s*(?:{BULLET}|\d{{1,2}}[.)])\s+")

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
YEAR = r"(?:1[89]|20)\d\d"
# Not part of a longer number or a decimal. This also passes over a year just before a full stop ("in 1977.");
# matching those changes which dated sentences join an answer as conflicts, so that is a change of its own.
_YEAR_ALONE = re.compile(rf"(?<![\d.]){YEAR}(?![\d.])")

# The one unit list. A dose unit is glued to its number as one word (a question's "5 mg" is a key term as a
# whole); a time unit stays a word of its own, because "hours" carries meaning for ranking by shared words.
DOSE_UNITS = r"mg|mcg|[µμ]g|g|kg|ml|l|%"
TIME_UNITS = r"hours?|hrs?|days?|weeks?|months?|years?"
_UNIT_END = r"(?!\w)"  # not \b: "%" is not a word character, so "10% of" has no word boundary after the "%"
AMOUNT = re.compile(rf"(?<![\d.])({NUMBER.pattern})\s?({DOSE_UNITS}|{TIME_UNITS}){_UNIT_END}", re.I)
_SAME_UNIT = {"hr": "hour", "µg": "mcg", "μg": "mcg"}

WORD = re.compile(rf"[A-Za-z][A-Za-z'’-]*[A-Za-z]|\$?{NUMBER.pattern}(?:\s?(?:{DOSE_UNITS}){_UNIT_END})?", re.I)


def tokens(text: str) -> list[str]:
    """Words, and numbers with their dose unit ("5 mg") when one follows."""
    return WORD.findall(text)


def _is_number(token: str) -> bool:
    return token.lstrip("$")[:1].isdigit()


def numbers(text: str) -> set[str]:
    """The numbers a text states, reference markers aside; "1,000" and "1000" are the same number."""
    return {n.replace(",", "") for n in NUMBER.findall(REFERENCE_MARKER.sub(" ", text))}


def years(text: str) -> set[str]:
    """Four-digit numbers that read as years (1800-2099)."""
    return set(_YEAR_ALONE.findall(text))


def unit_name(unit: str) -> str:
    """One name per unit: "Hours", "hrs" and "hour" are all "hour"; "µg" is "mcg"."""
    name = unit.lower().rstrip("s")
    return _SAME_UNIT.get(name, name)


def amounts(text: str) -> set[tuple[str, str]]:
    """(number, unit) of every amount: "10 kg", "2.5 mg", "40%", "72 hours"."""
    return {(n.replace(",", ""), unit_name(u)) for n, u in AMOUNT.findall(REFERENCE_MARKER.sub(" ", text))}


def content_words(text: str, *, numbers: bool = True, min_chars: int = 3) -> dict[str, str]:
    """Stem -> the word as first written (lower case), for every word that is not a stopword or too short.

    `numbers=False` leaves out figures: the citation check and the conflict check compare figures on their
    own, so there a figure must not count as a shared word; ranking keeps them ("in 1971" should match 1971).
    """
    words = [
        t.lower()
        for t in tokens(text)
        if len(t) >= min_chars and t.lower() not in STOPWORDS and (numbers or not _is_number(t))
    ]
    # A fresh stemmer per call (260 ns to make): PyStemmer documents its objects as not thread-safe.
    out: dict[str, str] = {}
    for stem, word in zip(Stemmer.Stemmer("english").stemWords(words), words):
        out.setdefault(stem, word)
    return out


def content_stems(text: str, *, numbers: bool = True) -> frozenset[str]:
    return frozenset(content_words(text, numbers=numbers))
