"""Read typos and chat spellings of corpus words as those words ("baclofn" as "baclofen", "u" as "you").

A question word is corrected only when it is not a word in its own right: a word of the corpus, a word of a
spelling dictionary (SymSpell's bundled English list, a checked list without misspellings), or a word as common as
ordinary English by wordfreq are all kept, so "dog" never becomes "dose". A word left is read as its nearest
corpus word (SymSpell over the corpus vocabulary) when that word is much more common in English than the word as
written, or the written word is next to unknown: web text misspells "withdrawal" as "withdrawl" often enough for
wordfreq to know it, but knows "withdrawal" far better, while "lorazepam" is better known than the corpus's
"oxazepam" and stays. The thresholds were set on the tuning half of tests/service/answering/data/spelling.jsonl.

SymSpell rather than a scan with rapidfuzz: on this corpus (2,476 words) a lookup takes ~21 µs against ~130 µs,
and on an 82,765-word vocabulary ~0.2 ms against ~10 ms, for ~6 MB of precomputed deletes (120 MB at 82k words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files

from symspellpy import SymSpell, Verbosity
from wordfreq import zipf_frequency

# General chat shorthand, not corpus words. Single letters are read only when written in lower case, so "U.S."
# and "R" keep their meaning, and an all-capital "IM" (intramuscular) is never "I'm".
CHAT_SHORTHAND: Mapping[str, str] = {
    "u": "you",
    "r": "are",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "wat": "what",
    "wht": "what",
    "hw": "how",
    "abt": "about",
    "cuz": "because",
    "ppl": "people",
    "shud": "should",
    "im": "I'm",
    "dont": "don't",
    "doesnt": "doesn't",
    "whats": "what's",
}

# A letters-only word, not glued to digits ("b12", "5mg") nor continuing after an apostrophe ("don't" gives "don").
_WORD = re.compile(r"(?<![A-Za-z0-9_'’])[A-Za-z]+(?![A-Za-z0-9_])")
_ENGLISH_DICTIONARY = "frequency_dictionary_en_82_765.txt"


@dataclass(frozen=True)
class Correction:
    original: str  # as written in the question
    corrected: str  # the corpus word (or the chat word's spelling) it is read as
    start: int  # offsets of `original` in the question
    end: int

    def notice(self) -> str:
        """What an answer says so the reader can tell a guess was made."""
        return f"reading '{self.original}' as '{self.corrected}'"


@dataclass(frozen=True)
class Thresholds:
    ordinary_zipf: float = 3.0  # a word this common in English is a word, whatever the lists say
    unknown_zipf: float = 1.0  # below this, wordfreq barely knows the word: any close corpus word wins
    margin: float = 1.5  # how much more common (zipf) the corpus word must be than a word the web writes
    min_chars: int = 4  # shorter words (and corpus words) have too many neighbours to guess from
    written_chars: int = 6  # from this length a word the web writes may still be a typo
    two_edit_chars: int = 6  # from this length an unknown word may be two edits away


@dataclass(frozen=True)
class CorrectedQuestion:
    text: str  # the question with corrections applied
    corrections: tuple[Correction, ...]


def english_dictionary_words() -> frozenset[str]:
    """SymSpell's bundled English word list (82,765 checked spellings, Google Books counts)."""
    text = files("symspellpy").joinpath(_ENGLISH_DICTIONARY).read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


class SpellingCorrector:
    """Reads near-spellings of corpus words as those words; built once per corpus."""

    def __init__(
        self, corpus_words: Mapping[str, int], english_words: frozenset[str], thresholds: Thresholds = Thresholds()
    ) -> None:
        self._corpus = corpus_words
        self._english = english_words
        self._limits = thresholds
        self._symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in corpus_words.items():
            self._symspell.create_dictionary_entry(word, count)
        self._corpus_zipf = {word: zipf_frequency(word, "en") for word in corpus_words}

    @classmethod
    def from_corpus(cls, word_counts: Mapping[str, int], thresholds: Thresholds = Thresholds()) -> SpellingCorrector:
        """`word_counts`: the corpus's lower-cased tokens and their counts; hyphenated and possessive tokens
        ("side-effects", "baclofen's") count for each of their letter runs."""
        words: dict[str, int] = {}
        for token, count in word_counts.items():
            for part in re.findall(r"[a-z]+", token.lower()):
                words[part] = words.get(part, 0) + count
        return cls(words, english_dictionary_words(), thresholds)

    def correct(self, question: str) -> CorrectedQuestion:
        corrections = []
        for match in _WORD.finditer(question):
            corrected = self._read(match.group())
            if corrected is not None:
                corrections.append(Correction(match.group(), corrected, match.start(), match.end()))
        text = question
        for correction in reversed(corrections):
            text = text[: correction.start] + correction.corrected + text[correction.end :]
        return CorrectedQuestion(text, tuple(corrections))

    def _read(self, word: str) -> str | None:
        """The word this one is read as, or None when it stands as written."""
        lowered, limits = word.lower(), self._limits
        shorthand = CHAT_SHORTHAND.get(lowered)
        # A corpus's "wat" (a temple) is a word; its "r" is an initial, and "r" from a question is still "are".
        written_as_chat = word.islower() or len(word) > 1 and word.istitle()
        if shorthand is not None and written_as_chat and (len(word) == 1 or lowered not in self._corpus):
            return _same_case(shorthand, word)
        if len(word) < limits.min_chars or lowered in self._corpus or lowered in self._english:
            return None
        written_zipf = zipf_frequency(lowered, "en")
        if written_zipf >= limits.ordinary_zipf:
            return None
        unknown = written_zipf < limits.unknown_zipf
        if not unknown and len(word) < limits.written_chars:
            return None  # a short word the web writes is as likely a name or another word as a typo
        # Two edits only for a long word the web has (next to) never written: "Narcan" is two edits from "Norman".
        max_distance = 2 if unknown and len(word) >= limits.two_edit_chars else 1
        suggestions = self._symspell.lookup(lowered, Verbosity.CLOSEST, max_edit_distance=max_distance)
        suggestions = [s for s in suggestions if len(s.term) >= limits.min_chars]  # "abit" is not "bit"
        if not suggestions:
            return None
        candidate = suggestions[0].term  # nearest, then most frequent in the corpus
        if not unknown and self._corpus_zipf[candidate] - written_zipf < limits.margin:
            return None
        return _same_case(candidate, word)


def _same_case(corrected: str, written: str) -> str:
    if len(written) > 1 and written.isupper():
        return corrected.upper()
    if written[0].isupper():
        return corrected[0].upper() + corrected[1:]
    return corrected
