"""Metric plumbing on tiny hand-made fixtures: rankings for ranx, passage judgements, answer figures, offsets."""

from __future__ import annotations

import itertools
import math
import tomllib
from types import SimpleNamespace

import pytest

from citeqa.eval.beir import load_beir, read_qrels
from citeqa.eval.bench_corpus import BenchDoc, safe_stem, toml_string, write_corpus
from citeqa.eval.metrics import (
    Span,
    abstention_scores,
    citation_on_expected,
    citation_verbatim,
    doc_ranking,
    expected_spans,
    key_fact_found,
    percentiles_ms,
    quote_spans,
    ranked_run,
    relevant_chunk_ids,
    retrieval_metrics,
    sentences_overlapping,
)
from citeqa.eval.scifact import build_abstract, gold_sentences, score_claim, summarize
from citeqa.index.documents import load_corpus
from citeqa.index.units import Chunk
from citeqa.service.models import Answer, Citation


def passage(doc_id: str, chunk: int = 0) -> SimpleNamespace:
    return SimpleNamespace(doc_id=doc_id, chunk_id=f"{doc_id}#c{chunk:04d}")


def chunk(doc_id: str, i: int, start: int, end: int, text: str = "") -> Chunk:
    return Chunk(f"{doc_id}#c{i:04d}", doc_id, start, end, text, None)


def citation(doc_id: str, start: int, end: int, quote: str = "x", n: int = 1) -> Citation:
    return Citation(n=n, doc_id=doc_id, title=doc_id, chunk_id=f"{doc_id}#c0000", start=start, end=end, quote=quote,
                    score=1.0)


# --- rankings and ranx


def test_doc_ranking_orders_documents_by_their_best_passage():
    passages = [passage("b", 3), passage("a", 0), passage("b", 1), passage("c", 0), passage("a", 2)]
    assert doc_ranking(passages) == ["b", "a", "c"]


def test_ranked_run_scores_strictly_decrease_and_drop_repeats():
    run = ranked_run({"q": ["x", "y", "x", "z"]})
    assert list(run["q"]) == ["x", "y", "z"]
    scores = list(run["q"].values())
    assert all(a > b for a, b in itertools.pairwise(scores))


def test_retrieval_metrics_match_hand_computed_values():
    qrels = {"q1": {"d2": 1}, "q2": {"d1": 1, "d9": 1}, "q3": {"d5": 1}}
    run = ranked_run({"q1": ["d1", "d2", "d3"], "q2": ["d1", "d4"], "q3": [], "unjudged": ["d1"]})
    m = retrieval_metrics(qrels, run)
    assert m["queries"] == 3
    # q1: relevant at rank 2; q2: one of two relevant at rank 1; q3: nothing retrieved
    assert m["recall@1"] == pytest.approx((0 + 0.5 + 0) / 3)
    assert m["recall@5"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    idcg2 = 1 + 1 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1 / idcg2 + 0) / 3)
    assert m["per_query"]["q1"]["mrr@10"] == pytest.approx(0.5)
    assert set(m["per_query"]) == {"q1", "q2", "q3"}
    assert m["recall_curve"]["1"] == pytest.approx(m["recall@1"])


def test_retrieval_metrics_count_a_missing_query_as_nothing_retrieved():
    m = retrieval_metrics({"q1": {"d1": 1}, "q2": {"d2": 1}}, ranked_run({"q1": ["d1"]}))
    assert m["recall@10"] == pytest.approx(0.5)


def test_retrieval_metrics_with_no_judged_query():
    m = retrieval_metrics({"q1": {}}, ranked_run({"q1": ["d1"]}))
    assert m["queries"] == 0 and m["ndcg@10"] is None


# --- passage judgements


def test_quote_spans_finds_every_occurrence_including_overlapping_ones():
    assert quote_spans("aaa", "aa") == [(0, 2), (1, 3)]
    assert quote_spans("abc", "zz") == []


def test_expected_spans_only_in_expected_docs():
    texts = {"a": "xx the quote xx the quote", "b": "the quote"}
    spans = expected_spans(["a"], ["the quote"], texts)
    assert spans == [Span("a", 3, 12), Span("a", 16, 25)]


def test_relevant_chunks_are_those_containing_the_quote():
    chunks = [chunk("a", 0, 0, 40), chunk("a", 1, 30, 70), chunk("a", 2, 60, 100), chunk("b", 0, 0, 100)]
    relevant, split = relevant_chunk_ids(chunks, [Span("a", 32, 38)])
    assert relevant == {"a#c0000", "a#c0001"} and split == 0


def test_a_quote_cut_by_a_chunk_boundary_is_judged_by_the_chunk_holding_most_of_it():
    chunks = [chunk("a", 0, 0, 50), chunk("a", 1, 45, 100)]
    relevant, split = relevant_chunk_ids(chunks, [Span("a", 40, 70)])  # 10 chars in c0, 25 in c1
    assert relevant == {"a#c0001"} and split == 1


def test_a_quote_outside_every_chunk_judges_nothing():
    relevant, split = relevant_chunk_ids([chunk("a", 0, 0, 50)], [Span("a", 60, 70), Span("z", 0, 5)])
    assert relevant == set() and split == 0


# --- answers


def test_citation_on_expected_needs_same_doc_and_overlap():
    spans = [Span("a", 10, 20)]
    assert citation_on_expected(citation("a", 15, 30), spans)
    assert not citation_on_expected(citation("a", 20, 30), spans)  # touching is not overlapping
    assert not citation_on_expected(citation("b", 15, 30), spans)


def test_citation_verbatim():
    texts = {"a": "hello world"}
    assert citation_verbatim(citation("a", 6, 11, "world"), texts)
    assert not citation_verbatim(citation("a", 6, 11, "World"), texts)
    assert not citation_verbatim(citation("a", 6, 40, "world"), texts)
    assert not citation_verbatim(citation("zz", 0, 5, "hello"), texts)


def test_key_fact_is_case_insensitive():
    assert key_fact_found("Take 60 MG/day [1].", "60 mg/day")
    assert not key_fact_found("Take 6 mg/day [1].", "60 mg/day")
    assert not key_fact_found("anything", "  ")


def test_abstention_scores():
    abstained = [True, True, False, False, True]
    answerable = [False, True, False, True, False]
    s = abstention_scores(abstained, answerable)
    assert (s["true_positives"], s["false_positives"], s["false_negatives"]) == (2, 1, 1)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    assert abstention_scores([False, False], [True, False])["f1"] == 0.0


def test_percentiles():
    p = percentiles_ms([0.001 * i for i in range(1, 101)])
    assert p["p50"] == pytest.approx(50.5) and p["p95"] == pytest.approx(95.05, abs=0.1) and p["n"] == 100
    assert percentiles_ms([])["p50"] is None


# --- SciFact sentence offsets


def test_abstract_offsets_are_exact_with_messy_sentences():
    sentences = ["First one.  ", "Second\n", "", "  Third (n = 3)."]
    a = build_abstract("7", "T", sentences)
    assert a.doc.text == "First one. Second  Third (n = 3)."
    assert [a.doc.text[s:e] for s, e in a.offsets] == ["First one.", "Second", "", "Third (n = 3)."]


def test_sentences_overlapping_maps_spans_to_indices():
    a = build_abstract("7", "T", ["Alpha beta.", "Gamma delta.", "Epsilon."])
    text, offsets = a.doc.text, a.offsets
    assert sentences_overlapping(offsets, text.index("Gamma"), text.index("Gamma") + 5) == [1]
    assert sentences_overlapping(offsets, text.index("beta"), text.index("delta") + 5) == [0, 1]
    assert sentences_overlapping(offsets, 0, len(text)) == [0, 1, 2]
    assert sentences_overlapping(offsets, offsets[0][1], offsets[1][0]) == []  # the joining space only


def test_score_claim_precision_recall_and_nei():
    abstracts = {"10": build_abstract("10", "T", ["A one.", "B two.", "C three."]),
                 "11": build_abstract("11", "U", ["D four.", "E five."])}
    claim = {"id": 1, "claim": "c", "evidence": {"10": [{"sentences": [1], "label": "SUPPORT"},
                                                        {"sentences": [2], "label": "SUPPORT"}]}}
    assert gold_sentences(claim) == {"10": {1, 2}}
    t10 = abstracts["10"].doc.text
    answer = Answer(question="c", answer="x", citations=[
        citation("10", t10.index("B two."), t10.index("B two.") + 6, "B two.", 1),  # gold
        citation("10", 0, 6, "A one.", 2),  # right doc, wrong sentence
        citation("11", 0, 7, "D four.", 3),  # wrong doc
    ])
    r = score_claim(claim, answer, abstracts, {"10": "10", "11": "11"})
    assert (r["citations"], r["citations_on_gold"], r["gold_sentences"], r["gold_sentences_cited"]) == (3, 1, 2, 1)
    assert r["citations_verbatim"] == 3 and r["cites_evidence_doc"]
    nei = score_claim({"id": 2, "claim": "n", "evidence": {}}, Answer(question="n", answer="", abstained=True),
                      abstracts, {})
    s = summarize([r, nei], [0.1, 0.2])
    assert s["sentence_citation_precision"] == pytest.approx(1 / 3)
    assert s["sentence_citation_recall"] == pytest.approx(1 / 2)
    assert s["document_hit_rate"] == 1.0 and s["sentence_hit_rate"] == 1.0
    assert s["nei_abstention_rate"] == 1.0 and s["citation_verbatim_rate"] == 1.0


# --- benchmark corpus files


@pytest.mark.parametrize("doc_id", ["4983", "doc-1_a", "a/b", "../x", "", "ünï", "A.B"])
def test_safe_stem_is_a_plain_file_stem(doc_id):
    stem = safe_stem(doc_id)
    assert stem and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in stem)
    assert (stem == doc_id) == (doc_id not in ("a/b", "../x", "", "ünï", "A.B"))


def test_safe_stems_of_different_ids_differ():
    assert safe_stem("a/b") != safe_stem("a_b") and safe_stem("a/b") != safe_stem("a:b")


def test_toml_string_round_trips_awkward_titles():
    titles = ['He said "no" \\ then', "tab\there", "line\nbreak", "nul\x00del\x7f", "Ünïcödé — ✓ 😀", "'single'"]
    doc = "\n".join(f"k{i} = {toml_string(t)}" for i, t in enumerate(titles))
    parsed = tomllib.loads(doc)
    assert [parsed[f"k{i}"] for i in range(len(titles))] == titles


def test_written_corpus_loads_back_byte_exact_with_titles(tmp_path):
    docs = [BenchDoc("1", 'A "quoted" title', "Text one.\r\nWith CRLF kept. "),
            BenchDoc("x/2", "Second", "Ünïcödé text.\n"), BenchDoc("3", "", "No title here.")]
    file_ids = write_corpus(docs, tmp_path)
    loaded = {d.doc_id: d for d in load_corpus(tmp_path)}
    assert set(loaded) == set(file_ids) and sorted(file_ids.values()) == ["1", "3", "x/2"]
    bench = {file_ids[k]: v for k, v in loaded.items()}
    assert bench["1"].text == "Text one.\r\nWith CRLF kept. " and bench["1"].title == 'A "quoted" title'
    assert bench["x/2"].text == "Ünïcödé text.\n" and bench["x/2"].title == "Second"
    assert bench["3"].title == "No title here."  # no title: the first line, as for any corpus file


def test_write_corpus_refuses_two_ids_with_one_file_name(tmp_path):
    with pytest.raises(ValueError, match="two documents"):
        write_corpus([BenchDoc("a", "", "x"), BenchDoc("a", "", "y")], tmp_path)


# --- BEIR files


def test_read_qrels_skips_header_and_non_positive_scores(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td3\t2\n", encoding="utf-8")
    assert read_qrels(path) == {"q1": {"d1": 1}, "q2": {"d3": 2}}
    path.write_text("q1\td1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected query-id"):
        read_qrels(path)


def test_load_beir_keeps_judged_queries_only(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "x"}\n{"_id": 2, "text": "y"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": "b"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq2\td1\t1\n")
    data = load_beir(tmp_path)
    assert data.queries == {"q2": "b"} and [d.doc_id for d in data.docs] == ["d1", "2"]
    assert data.docs[1].title == ""
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq9\td1\t1\n")
    with pytest.raises(ValueError, match="not in queries.jsonl"):
        load_beir(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a BEIR dataset"):
        load_beir(tmp_path / "qrels")
