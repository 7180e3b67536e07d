"""Validate the evaluation question set eval/questions.jsonl against the shipped corpus."""

import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
CORPUS = ROOT / "corpus"

CATEGORIES = {
    "fact",
    "number/date",
    "list",
    "comparison",
    "multi-document",
    "conflicting-sources",
    "unanswerable",
    # the way people ask (issue 14)
    "lay",  # everyday words for the medical ones ("pee", "the shakes", "feel sick")
    "typo",  # misspellings and chat spelling ("siezures", "how long do u")
    "how-many",
    "who",
    "when",
    "two-part",  # two questions in one
    "false-premise",  # assumes something the corpus contradicts: the correction answers, abstaining is acceptable
    "near-miss-unanswerable",  # names a drug or trial of the corpus, asks for what the corpus does not give
}
UNANSWERABLE_CATEGORIES = {"unanswerable", "near-miss-unanswerable"}
HOW_PEOPLE_ASK = {"lay", "typo", "how-many", "who", "when", "two-part", "false-premise", "near-miss-unanswerable"}
REQUIRED = {
    "id": str,
    "question": str,
    "expected_docs": list,
    "expected_quotes": list,
    "key_fact": str,
    "category": str,
    "answerable": bool,
}
OPTIONAL = {"short_answer": str, "abstention_acceptable": bool}
MEDICAL_WORDS = (
    "baclofen", "dose", "drug", "medicine", "medication", "tablet", "pill",
    "tizanidine", "vaccine", "doctor", "pregnan", "spasm", "prescri",
)
MIN_TOTAL = 80
MIN_PER_DOC = 10
MIN_UNANSWERABLE = 15
MIN_CONFLICTING = 3
MIN_HOW_PEOPLE_ASK = 40
MIN_PER_NEW_CATEGORY = 5
MIN_SHORT_ANSWERS = 40
SHORT_ANSWER_MAX = 60  # a span that answers, not a sentence
QUOTE_MIN, QUOTE_MAX = 20, 250


def _read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def corpus():
    docs = {p.stem: _read(p) for p in sorted(CORPUS.glob("*.txt"))}
    assert docs, "no corpus files found"
    return docs


@pytest.fixture(scope="module")
def questions():
    rows = []
    with open(QUESTIONS, encoding="utf-8", newline="") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:  # pragma: no cover - reported as failure
                pytest.fail(f"line {lineno}: invalid JSON: {exc}")
    assert rows, "questions file is empty"
    return rows


def _answerable(questions):
    return [q for q in questions if q["answerable"]]


def _unanswerable(questions):
    return [q for q in questions if not q["answerable"]]


def _line_of(text, quote):
    start = text.index(quote)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    return text[line_start:] if line_end == -1 else text[line_start:line_end]


def test_ids_unique(questions):
    ids = [q.get("id") for q in questions]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_required_fields_and_types(questions):
    for q in questions:
        for field, typ in REQUIRED.items():
            assert field in q, f"{q.get('id')}: missing {field}"
            assert isinstance(q[field], typ), f"{q['id']}: {field} should be {typ.__name__}"
        assert q["question"].strip(), f"{q['id']}: empty question"
        assert all(isinstance(d, str) for d in q["expected_docs"]), q["id"]
        assert all(isinstance(s, str) for s in q["expected_quotes"]), q["id"]
        for field, typ in OPTIONAL.items():
            assert field not in q or isinstance(q[field], typ), f"{q['id']}: {field} should be {typ.__name__}"
        unknown = set(q) - set(REQUIRED) - set(OPTIONAL)
        assert not unknown, f"{q['id']}: unknown fields {unknown}"


def test_category_allowed(questions):
    for q in questions:
        assert q["category"] in CATEGORIES, f"{q['id']}: bad category {q['category']!r}"


def test_every_category_covered(questions):
    missing = CATEGORIES - {q["category"] for q in questions}
    assert not missing, f"categories without questions: {sorted(missing)}"


def test_answerable_iff_not_unanswerable_category(questions):
    for q in questions:
        assert q["answerable"] == (q["category"] not in UNANSWERABLE_CATEGORIES), q["id"]


def test_short_answer_is_a_short_span_inside_an_expected_quote(questions):
    for q in questions:
        if "short_answer" not in q:
            continue
        short = q["short_answer"]
        assert q["answerable"], f"{q['id']}: an unanswerable question has no short answer"
        assert short == short.strip() and 0 < len(short) <= SHORT_ANSWER_MAX, f"{q['id']}: short answer {short!r}"
        assert any(short in quote for quote in q["expected_quotes"]), (
            f"{q['id']}: short answer {short!r} is not verbatim inside any expected quote"
        )


def test_abstention_is_acceptable_only_for_false_premises(questions):
    for q in questions:
        assert q.get("abstention_acceptable", False) == (q["category"] == "false-premise"), q["id"]


def test_answerable_docs_exist(questions, corpus):
    for q in _answerable(questions):
        assert q["expected_docs"], f"{q['id']}: no expected_docs"
        assert len(set(q["expected_docs"])) == len(q["expected_docs"]), f"{q['id']}: repeated doc"
        for doc in q["expected_docs"]:
            assert doc in corpus, f"{q['id']}: unknown doc {doc!r}"


def test_quotes_verbatim(questions, corpus):
    for q in _answerable(questions):
        assert q["expected_quotes"], f"{q['id']}: no expected_quotes"
        for quote in q["expected_quotes"]:
            assert QUOTE_MIN <= len(quote) <= QUOTE_MAX, f"{q['id']}: quote length {len(quote)}: {quote!r}"
            assert "\n" not in quote and "\r" not in quote, f"{q['id']}: quote spans a line break"
            hits = [d for d in q["expected_docs"] if quote in corpus[d]]
            assert hits, f"{q['id']}: quote not found verbatim in {q['expected_docs']}: {quote!r}"


def test_quotes_not_from_references_or_source_lines(questions, corpus):
    for q in _answerable(questions):
        for quote in q["expected_quotes"]:
            for doc in q["expected_docs"]:
                if quote in corpus[doc]:
                    line = _line_of(corpus[doc], quote).lstrip()
                    assert not line.startswith("^"), f"{q['id']}: quote from a reference line"
                    assert "Source: http" not in line, f"{q['id']}: quote from a Source: line"


def test_every_expected_doc_supported_by_a_quote(questions, corpus):
    for q in _answerable(questions):
        for doc in q["expected_docs"]:
            assert any(s in corpus[doc] for s in q["expected_quotes"]), (
                f"{q['id']}: no quote comes from expected doc {doc}"
            )


def test_key_fact_in_quotes(questions):
    for q in _answerable(questions):
        key = q["key_fact"].strip().lower()
        assert key, f"{q['id']}: empty key_fact"
        assert any(key in s.lower() for s in q["expected_quotes"]), (
            f"{q['id']}: key_fact {q['key_fact']!r} not in any quote"
        )


def test_multi_source_categories_have_several_docs(questions):
    for q in questions:
        if q["category"] in ("multi-document", "conflicting-sources"):
            assert len(q["expected_docs"]) >= 2, f"{q['id']}: needs several docs"
            assert len(q["expected_quotes"]) >= 2, f"{q['id']}: needs several quotes"


def test_unanswerable_are_empty(questions):
    for q in _unanswerable(questions):
        assert q["expected_docs"] == [], q["id"]
        assert q["expected_quotes"] == [], q["id"]


def test_counts(questions, corpus):
    assert len(questions) >= MIN_TOTAL
    per_doc = Counter(d for q in _answerable(questions) for d in set(q["expected_docs"]))
    for doc in corpus:
        assert per_doc[doc] >= MIN_PER_DOC, f"{doc}: only {per_doc[doc]} questions"
    conflicting = [q for q in questions if q["category"] == "conflicting-sources"]
    assert len(conflicting) >= MIN_CONFLICTING
    asked = Counter(q["category"] for q in questions if q["category"] in HOW_PEOPLE_ASK)
    assert sum(asked.values()) >= MIN_HOW_PEOPLE_ASK
    assert min(asked[c] for c in HOW_PEOPLE_ASK) >= MIN_PER_NEW_CATEGORY, asked
    assert sum("short_answer" in q for q in questions) >= MIN_SHORT_ANSWERS


def test_no_question_is_asked_twice(questions):
    def words(text):
        return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())

    seen = Counter(words(q["question"]) for q in questions)
    assert not [w for w, n in seen.items() if n > 1], "the same question appears twice"


def test_unanswerable_counts_and_on_topic_share(questions):
    unans = _unanswerable(questions)
    assert len(unans) >= MIN_UNANSWERABLE
    on_topic = [q for q in unans if any(w in q["question"].lower() for w in MEDICAL_WORDS)]
    assert 2 * len(on_topic) >= len(unans), f"only {len(on_topic)}/{len(unans)} on-topic"
