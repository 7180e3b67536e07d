"""The shared text rules: words, markers, numbers, units and content stems."""

from __future__ import annotations

import pytest

from citeqa.index.text import (
    LIST_MARKER,
    REFERENCE_MARKER,
    amounts,
    content_stems,
    content_words,
    numbers,
    tokens,
    years,
)


def test_tokens_keep_a_dose_with_its_number_but_a_duration_apart():
    assert tokens("Take 10 kg, 5 mcg, 12.5 µg and 40% of it for 72 hours.") == [
        "Take", "10 kg", "5 mcg", "12.5 µg", "and", "40%", "of", "it", "for", "72", "hours",
    ]


def test_tokens_keep_hyphens_and_apostrophes_inside_words_and_money_signs():
    assert tokens("A short-acting drug's price: $0.22 a pill, don’t ask-") == [
        "short-acting", "drug's", "price", "$0.22", "pill", "don’t", "ask",
    ]


def test_a_unit_must_end_where_the_word_ends():
    assert tokens("2 languages, 5 grams, 3 mgs") == ["2", "languages", "5", "grams", "3", "mgs"]
    assert amounts("2 languages, 5 grams, 3 mgs") == set()


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("10 kg vs 12 KG", {("10", "kg"), ("12", "kg")}),
        ("5 mcg or 5 µg or 5 μg", {("5", "mcg")}),
        ("72 hours, 72 hrs, 1 hour", {("72", "hour"), ("1", "hour")}),
        ("rose by 40% in 2 weeks", {("40", "%"), ("2", "week")}),
        ("1,000 mg and 2.5 mg/day", {("1000", "mg"), ("2.5", "mg")}),
        ("0.5 l of water", {("0.5", "l")}),
    ],
)
def test_amounts_name_each_unit_one_way(text, want):
    assert amounts(text) == want


def test_numbers_drop_reference_markers_and_thousands_separators():
    assert numbers("Approved in 1977.[8] It cost $750,000 [citation needed] for 2.5 mg.[12][13]") == {
        "1977", "750000", "2.5",
    }


def test_reference_markers_are_numbers_or_citation_needed_not_editorial_brackets():
    text = "cerebral palsy[44] or baclofen.[citation needed] a low-grade [or possibly a high] fever[Citation Needed]"
    assert REFERENCE_MARKER.findall(text) == ["[44]", "[citation needed]", "[Citation Needed]"]


@pytest.mark.parametrize("line", ["• dizziness", "  - drowsiness", "* nausea", "1. Start low", "12) Review"])
def test_list_markers(line):
    assert LIST_MARKER.match(line)


@pytest.mark.parametrize("line", ["-5 degrees", "123. Not a step", "1.5 mg daily", "Baclofen • relaxant"])
def test_not_list_markers(line):
    assert not LIST_MARKER.match(line)


def test_content_stems_drop_stopwords_and_short_words_and_merge_word_forms():
    stems = content_stems("Do NOT stop taking the tablets: stopping tablet doses in 1971 is bad.")
    assert stems == {"stop", "tablet", "dose", "1971", "bad"}


def test_content_stems_without_numbers_leave_out_figures():
    assert content_stems("In 1971 baclofen cost $20 per 100 mg", numbers=False) == {"baclofen", "cost", "per"}
    assert {"1971", "$20", "100 mg"} <= content_stems("In 1971 baclofen cost $20 per 100 mg")


def test_content_words_keep_the_first_spelling_of_each_stem():
    assert content_words("Withdrawal: withdrawing causes withdrawals.") == {"withdraw": "withdrawal", "caus": "causes"}
    assert "day" not in content_words("60 mg/day", min_chars=4)



def test_years_are_four_digit_numbers_from_1800_to_2099_standing_alone():
    assert years("In 1977 it was approved; 2003.5 mg, 12003 patients, 1,990 doses, in 1799 and 2100 too") == {"1977"}
