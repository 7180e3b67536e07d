"""Key terms a question asks about that a small hand-written corpus never mentions."""

from __future__ import annotations

import pytest

from citeqa.service.answering.abstention import CorpusVocabulary, missing_key_terms

SENTENCES = [
    "Baclofen is a GABA-B agonist and a muscle relaxant.",
    "It eases spasticity in multiple sclerosis.",
    "Stopping high-dose baclofen suddenly can cause hallucinations and seizures.",
    "Doses above 80 mg a day were given in the Amsterdam trial.",
    "Hypomania was reported in two patients.",
    "Women of childbearing age should ask their doctor first.",
    "The French drug agency and Dutch researchers studied it in the United States too.",
]


@pytest.fixture(scope="module")
def vocabulary() -> CorpusVocabulary:
    return CorpusVocabulary.from_texts([" ".join(SENTENCES)], SENTENCES)


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("Does baclofen interact with grapefruit?", ["grapefruit"]),  # a rare word
        ("Can I buy baclofen in Canada?", ["Canada"]),  # a proper noun, however common the word
        ("Is tizanidine stronger than baclofen?", ["tizanidine"]),
        ("Is 120 mg of baclofen a day too much?", ["120 mg"]),  # an amount
        ("Is baclofen safe for a child?", ["child"]),  # "childbearing" is not "child"
        ("Does baclofen help people with sclerosis and dystonia in Amsterdam?", ["dystonia"]),
        ("Did the Japanese drug agency approve baclofen?", ["Japanese"]),  # neither Japan nor Japanese
        ("Was baclofen approved in Frankfurt?", ["Frankfurt"]),  # no country: "French" is no affix of it
    ],
)
def test_missing_key_terms_are_named(vocabulary, question, missing):
    assert missing_key_terms(question, vocabulary) == missing


@pytest.mark.parametrize(
    "question",
    [
        "Is it safe to drive a car while I take this drug?",  # common words only
        "Can baclofen cause a hallucination or a seizure?",  # the corpus has them in the plural
        "Is baclofen a GABA agonist?",  # "GABA" is part of "GABA-B"
        "Is baclofen a muscle-relaxant?",  # every part of the hyphenated word is known
        "Can baclofen make people hypomanic?",  # "hypomania" shares the affix
        "Is 80 mg of baclofen a day safe in Amsterdam?",  # an amount and a place the corpus has
        "When did France's agency allow baclofen?",  # the corpus says "French"
        "Did researchers in the Netherlands study baclofen?",  # ... and "Dutch"
        "Do American doctors prescribe baclofen?",  # ... and "the United States"
    ],
)
def test_words_the_corpus_has_in_some_form_or_common_words_are_not_named(vocabulary, question):
    assert missing_key_terms(question, vocabulary) == []


def test_the_rare_word_bar_decides_what_counts_as_key(vocabulary):
    question = "Can baclofen cause kidney damage?"  # "kidney" (Zipf 4.0) is common enough to be a plain word
    assert missing_key_terms(question, vocabulary) == []
    assert missing_key_terms(question, vocabulary, rare_zipf=4.5) == ["kidney"]


def test_a_short_affix_window_stops_matching_by_affix():
    strict = CorpusVocabulary.from_texts([" ".join(SENTENCES)], SENTENCES, affix_chars=20)
    assert missing_key_terms("Can baclofen make people hypomanic?", strict) == ["hypomanic"]


def test_idf_weighs_a_rare_stem_above_a_common_one_and_an_unknown_stem_highest(vocabulary):
    assert vocabulary.n_sentences == len(SENTENCES)
    assert vocabulary.sentence_df["baclofen"] == 2
    assert vocabulary.idf("baclofen") < vocabulary.idf("seizur") < vocabulary.idf("grapefruit")
