"""The sentence splitter on the cases a medical text throws at it."""

from __future__ import annotations

from pathlib import Path

from citeqa.index.chunker import chunk_document
from citeqa.index.cleaning import find_furniture, find_headings
from citeqa.index.documents import Document
from citeqa.index.sentences import split_sentences

TEXT = """Dosing Notes

Dr. Smith gave 2.5 mg twice daily (n = 17). Most patients improved, e.g. with less spasm. Others did not.
Side effects include:

  • drowsiness
  • dizziness

  1. Start low: Begin at 5 mg. Increase slowly.
  2. Review weekly.
Approved in 1977.[8] It is generic.[9][17]
"""


def sentences_of(text: str) -> list[str]:
    doc = Document(doc_id="t", path=Path("t.txt"), text=text, sha256="", title="t")
    furniture, headings = find_furniture(text), find_headings(text)
    units = split_sentences(doc, furniture, headings, chunk_document(doc, furniture, headings, 400, 50))
    assert all(text[u.start : u.end] == u.text for u in units)
    return [u.text for u in units]


def test_abbreviations_decimals_and_parentheses_do_not_end_sentences():
    texts = sentences_of(TEXT)
    assert "Dr. Smith gave 2.5 mg twice daily (n = 17)." in texts
    assert "Most patients improved, e.g. with less spasm." in texts
    assert "Others did not." in texts


def test_headings_bullets_and_steps():
    texts = sentences_of(TEXT)
    assert "Dosing Notes" not in texts  # a heading titles what follows; it is not evidence
    assert "Side effects include:\n\n  • drowsiness\n  • dizziness" in texts  # lead-in and short items: one unit
    assert "Start low: Begin at 5 mg." in texts and "Increase slowly." in texts  # step number left out
    assert "Review weekly." in texts


def test_reference_markers_stay_with_their_sentence():
    texts = sentences_of(TEXT)
    assert "Approved in 1977.[8]" in texts and "It is generic.[9][17]" in texts
