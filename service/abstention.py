"""Decide when the corpus does not answer a question.

Two signals: weak relevance (the best evidence sentence is far from the question), and key terms of the
question (a drug, a place, a population, an amount, a rare word) that occur nowhere in the corpus. The second
catches on-topic questions whose nearest sentences look relevant, such as a baclofen interaction with a food
the corpus never mentions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import Stemmer
from wordfreq import zipf_frequency

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|\$?\d+(?:[.,]\d+)*(?:\s?(?:mg|mcg|ml|kg|g|%)\b)?", re.I)
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
POPULATION_WORDS = frozenset(
    """child children kid kids infant infants toddler toddlers pediatric paediatric teen teens teenager
    teenagers adolescent adolescents newborns neonates dog dogs cat cats pet pets horse horses puppy kitten""".split()
)
RARE_ZIPF = 3.3  # below this a word is specific enough that its absence from the corpus matters
AFFIX_CHARS = 5  # "hypomanic" is known when the corpus has "hypomania": words this long may match by affix


def tokens(text: str) -> list[str]:
    return [m.group(0) for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class CorpusVocabulary:
    """The words of the corpus, and how rare each stem is across its sentences (for IDF weighting)."""

    words: frozenset[str]
    stems: frozenset[str]
    sentence_df: dict[str, int]
    n_sentences: int

    @classmethod
    def from_texts(cls, texts: list[str], sentences: list[str]) -> CorpusVocabulary:
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
        return cls(frozenset(words), frozenset(stemmer.stemWords(list(words))), df, len(sentences))

    def idf(self, stem: str) -> float:
        """BM25-style IDF; a stem the corpus lacks weighs as much as the rarest one."""
        df = self.sentence_df.get(stem, 0)
        return math.log(1 + (self.n_sentences - df + 0.5) / (df + 0.5))

    def knows(self, word: str, stemmer: Stemmer.Stemmer) -> bool:
        lowered = word.lower().replace("’", "'").removesuffix("'s")
        parts = [p for p in re.split(r"[-']", lowered) if p] or [lowered]
        if lowered in POPULATION_WORDS:  # "child" must not pass because the corpus says "childbearing"
            return lowered in self.words
        return lowered in self.words or all(self._knows_part(p, stemmer) for p in parts)

    def _knows_part(self, part: str, stemmer: Stemmer.Stemmer) -> bool:
        if part in self.words or stemmer.stemWord(part) in self.stems:
            return True
        if len(part) < AFFIX_CHARS or part[0].isdigit():
            return False
        prefix = part[: max(AFFIX_CHARS - 1, len(part) - 3)]
        return any(w.startswith(prefix) or (len(w) >= AFFIX_CHARS + 1 and w in part) for w in self.words)


def _is_key(token: str, position: int) -> bool:
    """Would a person asking this expect the answer to be about this very thing?"""
    lowered = token.lower()
    if any(ch.isdigit() for ch in token):
        return True
    if lowered in POPULATION_WORDS:
        return True
    if position > 0 and token[0].isupper():
        return True  # a proper noun: a place, a brand, a person
    return zipf_frequency(lowered, "en") < RARE_ZIPF


def missing_key_terms(question: str, vocabulary: CorpusVocabulary) -> list[str]:
    """Key terms of the question that the corpus never mentions."""
    stemmer = Stemmer.Stemmer("english")
    missing = []
    for position, token in enumerate(tokens(question)):
        if token.lower() in STOPWORDS or len(token) < 3 and not token[0].isdigit():
            continue
        if _is_key(token, position) and not vocabulary.knows(token, stemmer):
            missing.append(token)
    return missing
