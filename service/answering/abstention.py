"""Decide when the corpus does not answer a question.

Two signals: weak relevance (the best evidence sentence is far from the question), and key terms of the
question (a drug, a place, a population, an amount, a rare word) that occur nowhere in the corpus. The second
catches on-topic questions whose nearest sentences look relevant, such as a baclofen interaction with a food
the corpus never mentions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import Stemmer
from countryinfo import all_countries
from wordfreq import zipf_frequency

from citeqa.index.text import STOPWORDS, tokens

POPULATION_WORDS = frozenset(
    """child children kid kids infant infants toddler toddlers pediatric paediatric teen teens teenager
    teenagers adolescent adolescents newborns neonates dog dogs cat cats pet pets horse horses puppy kitten""".split()
)


def place_forms() -> dict[str, frozenset[str]]:
    """Each country's name and its adjective point at each other ("France" / "French", "Netherlands" / "Dutch"):
    a question about France is on topic for a corpus that speaks of the French drug agency. From countryinfo's
    data, lower-cased; a multi-word name stays one entry ("united states")."""
    forms: dict[str, set[str]] = {}
    for country in all_countries():
        try:
            name, adjective = country.name(), country.demonym()
        except (KeyError, AttributeError):  # a territory without a demonym
            continue
        if not name or not adjective:
            continue
        name, adjective = name.lower(), adjective.lower()
        forms.setdefault(name, set()).add(adjective)
        forms.setdefault(adjective, set()).add(name)
    return {word: frozenset(others) for word, others in forms.items()}


@dataclass(frozen=True)
class CorpusVocabulary:
    """The words of the corpus, and how rare each stem is across its sentences (for IDF weighting)."""

    words: frozenset[str]
    stems: frozenset[str]
    sentence_df: dict[str, int]
    n_sentences: int
    affix_chars: int = 5  # "hypomanic" is known when the corpus has "hypomania": words this long may match by affix
    places: dict[str, frozenset[str]] = field(default_factory=dict)  # place_forms()

    @classmethod
    def from_texts(cls, texts: list[str], sentences: list[str], affix_chars: int = 5) -> CorpusVocabulary:
        stemmer = Stemmer.Stemmer("english")
        words: set[str] = set()
        for text in texts:
            for token in tokens(text):
                lowered = token.lower().replace("’", "'")
                words.add(lowered)
                words.update(part for part in re.split(r"[-']", lowered) if part)
        df: dict[str, int] = {}
        for sentence in sentences:
            for stem in set(stemmer.stemWords([t.lower() for t in tokens(sentence)])):
                df[stem] = df.get(stem, 0) + 1
        return cls(
            frozenset(words), frozenset(stemmer.stemWords(list(words))), df, len(sentences), affix_chars, place_forms()
        )

    def idf(self, stem: str) -> float:
        """BM25-style IDF; a stem the corpus lacks weighs as much as the rarest one."""
        df = self.sentence_df.get(stem, 0)
        return math.log(1 + (self.n_sentences - df + 0.5) / (df + 0.5))

    def is_specific(self, stem: str, share: float = 0.02) -> bool:
        """Mentioned, but in at most `share` of the corpus's sentences."""
        return 0 < self.sentence_df.get(stem, 0) <= share * self.n_sentences

    def knows(self, word: str, stemmer: Stemmer.Stemmer) -> bool:
        lowered = word.lower().replace("’", "'").removesuffix("'s")
        parts = [p for p in re.split(r"[-']", lowered) if p] or [lowered]
        if lowered in POPULATION_WORDS:  # "child" must not pass because the corpus says "childbearing"
            return lowered in self.words
        if lowered in self.places:  # by exact words only: "Niger" must not pass on "Nigeria"
            return lowered in self.words or any(all(w in self.words for w in f.split()) for f in self.places[lowered])
        return lowered in self.words or all(self._knows_part(p, stemmer) for p in parts)

    def _knows_part(self, part: str, stemmer: Stemmer.Stemmer) -> bool:
        if part in self.words or stemmer.stemWord(part) in self.stems:
            return True
        affix = self.affix_chars
        if len(part) < affix or part[0].isdigit():
            return False
        prefix = part[: max(affix - 1, len(part) - 3)]
        return any(w.startswith(prefix) or (len(w) >= affix + 1 and w in part) for w in self.words)


def _is_key(token: str, position: int, rare_zipf: float) -> bool:
    """Would a person asking this expect the answer to be about this very thing?"""
    lowered = token.lower()
    if any(ch.isdigit() for ch in token):
        return True
    if lowered in POPULATION_WORDS:
        return True
    if position > 0 and token[0].isupper():
        return True  # a proper noun: a place, a brand, a person
    return zipf_frequency(lowered, "en") < rare_zipf


def missing_key_terms(question: str, vocabulary: CorpusVocabulary, rare_zipf: float = 3.3) -> list[str]:
    """Key terms of the question that the corpus never mentions; below `rare_zipf` a word is specific enough
    that its absence from the corpus matters."""
    stemmer = Stemmer.Stemmer("english")
    missing = []
    for position, token in enumerate(tokens(question)):
        if token.lower() in STOPWORDS or len(token) < 3 and not token[0].isdigit():
            continue
        if _is_key(token, position, rare_zipf) and not vocabulary.knows(token, stemmer):
            missing.append(token)
    return missing
