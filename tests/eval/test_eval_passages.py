"""Passage judgements on the real index of the shipped corpus: a chunk is relevant to a question when its text
contains one of the question's expected quotes (offsets and texts must agree on that)."""

from __future__ import annotations

from citeqa.eval.metrics import expected_spans, relevant_chunk_ids
from citeqa.eval.runner import corpus_texts, load_questions


def test_every_answerable_question_has_judged_passages_that_contain_its_quotes(engine):
    texts = corpus_texts(engine)
    chunks = engine.retriever.chunks.units
    questions = [q for q in load_questions() if q["answerable"]]
    split_total = 0
    for q in questions:
        spans = expected_spans(q["expected_docs"], q["expected_quotes"], texts)
        assert spans, f"{q['id']}: no expected quote found in the indexed texts"
        relevant, split = relevant_chunk_ids(chunks, spans)
        split_total += split
        assert relevant, f"{q['id']}: no chunk holds any of its expected quotes"
        by_text = {c.chunk_id for c in chunks if c.doc_id in q["expected_docs"]
                   and any(quote in c.text for quote in q["expected_quotes"])}
        # judged by offsets == judged by text, except for quotes cut by a chunk boundary
        assert by_text <= relevant, f"{q['id']}: chunks containing a quote were not judged relevant"
        if split == 0:
            assert relevant == by_text, f"{q['id']}: judged chunks that do not contain a quote"
    assert split_total <= len(questions) // 10, f"{split_total} quotes are cut by chunk boundaries"
