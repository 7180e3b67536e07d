"""Loading, cleaning, chunking and sentence splitting keep every offset verbatim."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from citeqa.index.cleaning import find_furniture, is_heading
from citeqa.index.documents import CorpusError, load_corpus
from citeqa.index.store import current_build, read_manifest, read_units
from tests.paths import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
SEED_IDS = {
    "000_244b9e6fb9f1ef89.txt": "baclofen-opiate-withdrawal",
    "001_a6c096621a3a8fb5.txt": "baclofen-addiction-treatment",
    "002_828f94aa8ea78acc.txt": "what-is-baclofen",
    "003_e851f9f39a3ca40c.txt": "baclofen-withdrawal-timeline",
    "004_fd114b47376eaaee.txt": "baclofen-encyclopedia",
}

# page furniture: none of these may appear in any chunk or sentence
FURNITURE = [
    "hit counter",
    "Leave a Comment",
    "This site uses Akismet",
    "* indicates required",
    "MHD News (100% Free)",
    "Related Posts:",
    "Impact-Site-Verification",
    "pub-5415575505102445",
    "ClickCease",
    "Leave a reply:",
    "Your email address will not be published.",
    "Call 855-712-7784",
    "Call our center today",
    "Source: https://www.ncbi.nlm.nih.gov/pubmed/14624703",
    "^ abAhmadi-Abhari SA",
    "doi:10.1007/BF00558228",
    "share your experience in the comments section below",
]

# ordinary content lines, at least two from each document: each must be inside some chunk
CONTENT = {
    "baclofen-opiate-withdrawal": [
        "Baclofen is a drug that was originally synthesized in the early 1960s by Heinrich Keberle",
        "All patients underwent detoxification from opioids and were randomly assigned to receive either:",
        "Verdict: Baclofen likely useful for the management of opiate withdrawal symptoms",
    ],
    "baclofen-addiction-treatment": [
        "Known under the brand names Kemstro and Lioresal",
        "With some medically supervised exceptions, the maximum recommended dosage for baclofen is 100 mg.",
        "Clinicians prevent these symptoms by gradually decreasing the dosages over one to two weeks.",
    ],
    "what-is-baclofen": [
        "In 1971 baclofen was reintroduced to treat muscle spasticity.",
        "pale, or blue lips, fingernails or skin",
        "Sometimes family therapy is needed to address underlying issues and work-related stressors.",
    ],
    "baclofen-withdrawal-timeline": [
        "Early withdrawal (24-48 hours): Initial symptoms may begin within a day of the last dose",
        "Gastroesophageal reflux disease (GERD)",
        "Exploring non-pharmacological approaches, such as neurofeedback or transcranial magnetic stimulation",
    ],
    "baclofen-encyclopedia": [
        "The half-life of baclofen is roughly 2–4 hours",
        "Synonyms include chlorophenibut.",
        "In 2018, baclofen received a Marketing Authorization for use in alcoholism treatment",
    ],
}


@pytest.fixture(scope="module")
def built(settings):
    build = current_build(settings.index_dir)
    chunks, sentences = read_units(build)
    docs = {d.doc_id: d for d in load_corpus(settings.corpus_dir)}
    return read_manifest(build), chunks, sentences, docs


def test_corpus_is_the_seeds_byte_for_byte():
    if not SEEDS.is_dir():
        pytest.skip(f"seed folder {SEEDS} not present beside the checkout")
    for seed, doc_id in SEED_IDS.items():
        assert (ROOT / "corpus" / f"{doc_id}.txt").read_bytes() == (SEEDS / seed).read_bytes()


def test_loader_is_byte_exact_and_records_sha256(built):
    _, _, _, docs = built
    assert set(docs) == set(SEED_IDS.values())
    for doc in docs.values():
        data = doc.path.read_bytes()
        assert doc.text.encode("utf-8") == data
        assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert docs["baclofen-addiction-treatment"].publisher == "Granite Recovery Centers"


def test_loader_accepts_any_folder_and_falls_back_to_first_heading(tmp_path: Path):
    (tmp_path / "notes.md").write_text("# Tizanidine basics\n\nTizanidine is a muscle relaxant.\r\n", encoding="utf-8")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    [doc] = load_corpus(tmp_path)
    assert doc.doc_id == "notes" and doc.title == "Tizanidine basics"
    assert doc.text.endswith("\r\n"), "newlines must not be translated"


def test_loader_rejects_empty_or_missing_folders(tmp_path: Path):
    with pytest.raises(CorpusError, match="no .txt or .md"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_every_chunk_and_sentence_is_the_verbatim_source_span(built):
    manifest, chunks, sentences, docs = built
    assert len(chunks) > 100 and len(sentences) > 300
    for unit in [*chunks, *sentences]:
        assert unit.text == docs[unit.doc_id].text[unit.start : unit.end]
        assert unit.text == unit.text.strip()
    assert manifest.counts == {"documents": 5, "chunks": len(chunks), "sentences": len(sentences)}


def test_page_furniture_never_reaches_a_chunk_or_sentence(built):
    _, chunks, sentences, docs = built
    for needle in FURNITURE:
        assert any(needle in d.text for d in docs.values()), f"test needle {needle!r} not in the corpus"
        for unit in [*chunks, *sentences]:
            assert needle not in unit.text, f"furniture {needle!r} found in {getattr(unit, 'chunk_id', '')}"


def test_ordinary_content_is_never_dropped(built):
    _, chunks, _, docs = built
    for doc_id, lines in CONTENT.items():
        for line in lines:
            assert line in docs[doc_id].text
            assert any(line in c.text for c in chunks if c.doc_id == doc_id), f"{line!r} missing from {doc_id}"


def test_furniture_rules_are_about_line_shape_not_these_files():
    text = (
        "Aspirin\n\nhit counter\nSubscribe to our newsletter\nCall 1-800-555-0199 today for a free consult!\n"
        "Leave a Reply\n^ Smith J (2001). Title. doi:10.1000/xyz\nAspirin reduces fever.\n"
    )
    kinds = [s.kind for s in find_furniture(text)]
    assert kinds == ["counter", "subscription-prompt", "call-to-action", "comment-prompt", "bibliography"]
    # content that merely mentions a DOI or PMID is kept
    prose = "Aspirin lowered fever in adults (doi:10.1000/xyz; PMID 1234567) across three trials.\n"
    assert find_furniture(prose) == []


def test_chunks_carry_the_nearest_heading(built):
    _, chunks, _, _ = built
    half_life = next(c for c in chunks if "half-life of baclofen is roughly" in c.text)
    assert half_life.heading == "Pharmacokinetics"
    timeline = next(c for c in chunks if "Peak withdrawal (72 hours" in c.text)
    assert timeline.heading == "2.2 Withdrawal Timeline"


def test_a_numbered_section_title_is_a_heading_not_a_sentence(built):
    """"3. Factors Influencing…": the section number's full stop ends no sentence, so the line titles its section."""
    _, _, sentences, _ = built
    assert not any(s.text.startswith("Factors Influencing Baclofen Withdrawal") for s in sentences)
    dosage = next(s for s in sentences if s.text.startswith("Higher doses and longer periods of use"))
    assert dosage.heading == "3.1 Dosage and Duration of Use"
    opening = next(s for s in sentences if s.text.startswith("The experience of baclofen withdrawal can vary"))
    assert opening.heading == "3. Factors Influencing Baclofen Withdrawal"


@pytest.mark.parametrize(
    ("line", "heading"),
    [("3. Factors Influencing Withdrawal", True), ("12.4 Dosage", True), ("1. Take the pill. Then rest", False),
     ("  1. Take two tablets", False)],
)
def test_is_heading_reads_section_numbers(line, heading):
    assert is_heading(line) is heading


def test_sentences_split_like_a_person_reads_them(built):
    _, _, sentences, _ = built
    texts = [s.text for s in sentences]
    # "e.g." does not end a sentence; a reference marker after the full stop stays with its sentence
    assert any(t.startswith("Individual differences in responses to baclofen") and "(e.g. medications" in t for t in texts)
    assert "Baclofen was approved for medical use in the United States in 1977.[8]" in texts
    assert "It is available as a generic medication.[9][17]" in texts
    # "213.66 g/mol" is one number, not a sentence end
    assert any("molecular weight of 213.66 g/mol." in t for t in texts)
    # a bullet item is its own sentence without the bullet glyph; headings are not sentences
    assert any(t.startswith("Early withdrawal (24-48 hours): Initial symptoms") for t in texts)
    assert "2.2 Withdrawal Timeline" not in texts and not any(t.startswith("•") for t in texts)
    # numbered steps keep their text without the step number
    assert any(t.startswith("Consult a medical professional: The first step") for t in texts)
    # a lead-in and its short bullet items form one citable list unit
    lists = [s for s in sentences if s.kind == "list"]
    assert any(s.text.startswith("Symptoms of Overdose") and "blurred vision" in s.text for s in lists)


def test_manifest_records_model_settings_and_versions(built, settings):
    manifest, _, _, docs = built
    assert manifest.model_identity and manifest.dimension == 384
    assert manifest.settings["chunk_size"] == settings.chunk_size
    assert {d.doc_id: d.sha256 for d in manifest.documents} == {k: v.sha256 for k, v in docs.items()}
    assert {"faiss-cpu", "sentence-transformers", "bm25s"} <= set(manifest.library_versions)
    json.loads((current_build(settings.index_dir) / "manifest.json").read_text())
