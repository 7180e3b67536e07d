"""Answers made only of the corpus: cited, checked, and an honest "not in the corpus"."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from citeqa.cli import app

ANSWERABLE = [
    ("What is the half-life of baclofen?", "baclofen-encyclopedia", "2–4 hours"),
    ("How much baclofen per day did patients get in the 2003 placebo-controlled trial?", "baclofen-opiate-withdrawal", "60 mg/day"),
    ("How many patients were in the 1992 pilot study of baclofen for opiate detoxification?", "baclofen-opiate-withdrawal", "5"),
    ("Compared with clonidine, which drug caused hypotension-related problems?", "baclofen-opiate-withdrawal", "hypotension"),
    ("What daily dose range of baclofen do most people take for opiate withdrawal?", "baclofen-opiate-withdrawal", "15 mg and 80 mg"),
    ("What is the maximum recommended dosage of baclofen?", "baclofen-addiction-treatment", "100 mg"),
    ("How many times a day should baclofen be taken?", "baclofen-addiction-treatment", "three times"),
    ("Who first ran human clinical trials of baclofen for alcohol use disorder?", "baclofen-addiction-treatment", "Addolorato"),
    ("What are the symptoms of a baclofen overdose?", "what-is-baclofen", "blurred vision"),
    ("What kind of drug is baclofen classified as?", "what-is-baclofen", "skeletal muscle relaxant"),
    ("When are baclofen withdrawal symptoms at their peak?", "baclofen-withdrawal-timeline", "72 hours"),
    ("What is post-acute withdrawal syndrome?", "baclofen-withdrawal-timeline", "PAWS"),
    ("What is the molecular weight of baclofen?", "baclofen-encyclopedia", "213.66"),
    ("How often does an intrathecal baclofen pump have to be replaced?", "baclofen-encyclopedia", "five to seven years"),
    ("Is baclofen safe to use while breastfeeding?", "baclofen-encyclopedia", "probably safe"),
]

UNANSWERABLE = [
    "Does baclofen interact with grapefruit juice?",  # on-topic
    "What dose of baclofen is safe for a six-year-old child?",  # on-topic
    "Can I give baclofen to my dog for back spasms?",  # on-topic
    "What is the brand name of tizanidine?",  # on-topic
    "Does baclofen stop the contraceptive pill from working?",  # on-topic
    "How much does baclofen cost in Canada?",  # on-topic
    "What is the capital of Australia?",
    "How do I bake a loaf of sourdough bread?",
    "Who won the 2018 FIFA World Cup?",
]


@pytest.mark.parametrize(("question", "doc_id", "fact"), ANSWERABLE)
def test_answers_cite_the_expected_document_and_contain_the_fact(engine, question, doc_id, fact):
    answer = engine.answer(question)
    assert not answer.abstained, answer.reason
    assert fact.lower() in answer.answer.lower(), answer.answer
    assert doc_id in {c.doc_id for c in answer.citations}
    assert answer.sentences, "an answer has at least one sentence"
    assert len(answer.sentences) <= engine.params.max_sentences + 1
    numbers = {c.n for c in answer.citations}
    assert numbers == set(range(1, len(answer.citations) + 1))
    for sentence in answer.sentences:
        assert sentence.citations and set(sentence.citations) <= numbers
        assert f"{sentence.text} {''.join(f'[{n}]' for n in sentence.citations)}" in answer.answer
    stages = {k: v for k, v in answer.timings_ms.items() if k != "total"}
    assert {"question_analysis", "embed", "passage_search", "key_terms", "candidates", "ranking", "reading", "check"} <= set(stages)
    assert sum(stages.values()) == pytest.approx(answer.timings_ms["total"], abs=0.01 * len(stages))


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_unanswerable_questions_abstain_with_related_passages(engine, question):
    answer = engine.answer(question)
    assert answer.abstained, answer.answer
    assert answer.reason and answer.citations == [] and answer.sentences == []
    assert answer.related, "closest passages are shown, clearly not as an answer"
    assert "not an answer" in answer.answer


def test_missing_key_terms_are_named_in_the_reason(engine):
    answer = engine.answer("Does baclofen interact with grapefruit juice?")
    assert "grapefruit" in answer.reason


def test_max_sentences_is_respected(engine):
    answer = engine.answer("What are the withdrawal symptoms of baclofen?", max_sentences=1)
    assert len(answer.sentences) <= 2  # one, plus a disagreeing source if there is one


@pytest.mark.parametrize(
    ("question", "values"),
    [
        ("When did Olivier Ameisen publish his book about treating his alcoholism with baclofen?", {"2008", "2009"}),
        ("When did baclofen first come into use for muscle spasticity, and when did the FDA approve it?", {"1971", "1977"}),
    ],
)
def test_disagreeing_sources_are_both_shown(engine, question, values):
    answer = engine.answer(question)
    assert answer.conflicts, answer.answer
    shown = {v.value for c in answer.conflicts for v in c.values}
    assert values <= shown
    for conflict in answer.conflicts:
        docs = {answer.citations[n - 1].doc_id for v in conflict.values for n in v.citations}
        assert len(docs) >= 2
        for v in conflict.values:
            assert all(v.value.split(",")[0] in answer.citations[n - 1].quote for n in v.citations)


def test_near_duplicate_facts_from_two_sources_merge_into_one_sentence(engine):
    # the encyclopedia and the addiction-treatment article say the same thing about stopping abruptly
    answer = engine.answer("What serious problems can happen if baclofen is stopped too quickly?")
    assert not answer.abstained
    merged = [s for s in answer.sentences if len({answer.citations[n - 1].doc_id for n in s.citations}) > 1]
    assert merged, answer.answer
    quotes = [answer.citations[n - 1].quote for s in answer.sentences for n in s.citations]
    assert len(quotes) == len(set(quotes)), "a merged fact is not also repeated as a sentence of its own"
    for s in merged:
        for n in s.citations:
            assert engine.judge(s.text, answer.citations[n - 1].quote).ok


def run_cli(settings, *args: str) -> Result:
    """`citeqa ask` in this process (typer's runner), over the session's index."""
    env = {"CITEQA_INDEX_DIR": str(settings.index_dir), "CITEQA_CORPUS_DIR": str(settings.corpus_dir)}
    return CliRunner().invoke(app, ["ask", *args], env=env)


def test_cli_ask_prints_the_answer_and_verbatim_citations(settings, citation_audit):
    out = run_cli(settings, "What is the half-life of baclofen?")
    assert out.exit_code == 0, out.output
    assert "2–4 hours" in out.stdout and "[1] Baclofen" in out.stdout and "baclofen-encyclopedia" in out.stdout
    data = json.loads(run_cli(settings, "What is the half-life of baclofen?", "--json").stdout)
    citation_audit.record(data)
    assert data["citations"][0]["doc_id"] == "baclofen-encyclopedia"


def test_cli_ask_abstains_and_rejects_bad_input(settings):
    out = run_cli(settings, "Does baclofen interact with grapefruit juice?")
    assert out.exit_code == 0 and "Not in the corpus" in out.stdout and "not an answer" in out.stdout
    assert run_cli(settings, "   ").exit_code == 2
    assert run_cli(settings, "x" * 5000).exit_code == 2
    assert run_cli(settings, "hi", "--mode", "poetic").exit_code == 2


def test_stem_cache_matches_fresh_stemming_from_many_threads():
    import threading

    from citeqa.index.text import content_stems
    from citeqa.service.answering.evidence import StemCache

    texts = ["Baclofen withdrawal can cause seizures.", "Stopping baclofen suddenly is dangerous.", ""] * 20
    cache = StemCache(maxsize=8)
    want = [content_stems(t) for t in texts]
    got: dict[int, list] = {}

    def work(i: int) -> None:
        got[i] = [cache(t) for t in texts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 4 and all(g == want for g in got.values())
    assert "withdraw" in want[0] and "baclofen" in want[0]
