"""Every number that shapes an answer, in one place; `citeqa.settings.Settings` fills it from `CITEQA_*`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnsweringParams:
    # how much of the index an answer looks at
    max_sentences: int = 3
    passages: int = 5  # top passages whose sentences are candidates
    sentence_candidates: int = 30  # best sentences overall, added to those of the top passages
    # ranking evidence sentences: cosine + lexical_weight * IDF overlap (+ passage boost)
    lexical_weight: float = 0.35  # share of the question's content words found in a sentence, added to its cosine
    heading_weight: float = 0.5  # a question word found only in the sentence's heading counts this much
    passage_weight: float = 0.05  # boost for sentences inside the best-ranked passages (divided by the rank)
    relative_floor: float = 0.2  # a sentence must score within this of the best one to join the answer
    duplicate_similarity: float = 0.85  # merge evidence sentences this similar into one with two citations
    # abstention
    min_sentence_similarity: float = 0.5  # abstain when the best evidence sentence is below this
    rare_zipf: float = 3.3  # below this word frequency a question word is specific enough that its absence matters
    affix_chars: int = 5  # words this long may match a corpus word by affix ("hypomanic" ~ "hypomania")
    # the citation check of generated sentences
    support_min_similarity: float = 0.55  # generated sentence vs cited passage
    support_min_overlap: float = 0.5  # share of the sentence's content words found in the cited passage
    # the reader (reader.py): what a sentence must be about and carry to answer. Off by default: on the test part
    # of eval/questions.jsonl it still loses key facts against the similarity-only answer (README, Evals). Its
    # weights and gap were chosen on the dev part with CITEQA_LEXICAL_WEIGHT=0.5, CITEQA_MIN_SENTENCE_SIMILARITY=0.4.
    reader: bool = False
    reader_focus_weight: float = 0.3  # added for the share of the question's focus in the sentence or its context
    reader_asks_weight: float = 0.05  # added for the share of the asked-for attribute's words
    reader_type_weight: float = 0.25  # added when the sentence carries an answer of the asked type
    reader_name_cosine: float = 0.6  # a name answers "who ..." without the question's verb only this close to it
    reader_min_focus: float = 0.5  # below this share of the main focus a sentence is not about what was asked
    reader_span_checks: int = 10  # how many of the best sentences are checked for a span that answers
    reader_score_gap: float = 0.1  # a sentence joins the best one only within this score of it
    # conflicts
    conflict_topic_similarity: float = 0.5  # two claims are about the same thing only this close in meaning
    conflict_min_shared_words: int = 2  # without vectors: this many shared content words
