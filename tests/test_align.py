"""Word splitting, span <-> IOB2 conversion, tag schemes and word windows."""

import numpy as np
import pytest

from albert_sk.align import (
    check_tags,
    entity_records,
    from_iob2,
    get_entities,
    repair_iob2,
    spans_to_tags,
    split_words,
    to_iob2,
)
from albert_sk.exceptions import InputError

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_split_words_offsets_point_into_the_text():
    text = "  Zoë's café,\u200bnaïve\tGRÜSSE!  "
    words, starts, ends = split_words(text)
    assert words == ["Zoë", "'", "s", "café", ",", "\u200b", "naïve", "GRÜSSE", "!"]
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == words


def test_split_words_cuts_inside_words():
    words, starts, _ = split_words("NewYorker rocks", cuts=[3])
    assert words == ["New", "Yorker", "rocks"]
    assert starts.tolist() == [0, 3, 10]


def test_spans_to_tags_and_back():
    text = "Yesterday Ada Lovelace met Charles Babbage in London."
    spans = [(10, 22, "PER"), (27, 42, "PER"), (46, 52, "LOC")]
    words, tags, starts, ends = spans_to_tags(text, spans)
    assert tags == [
        "O", "B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "O"
    ]  # fmt: skip
    back = entity_records(text, tags, starts, ends)
    assert [(r["start"], r["end"], r["label"]) for r in back] == spans
    assert [r["text"] for r in back] == ["Ada Lovelace", "Charles Babbage", "London"]


def test_span_inside_a_word_splits_the_word():
    text = "#Paris2024 was fun"
    words, tags, _, _ = spans_to_tags(text, [(1, 6, "LOC")])
    assert words[:4] == ["#", "Paris", "2024", "was"]
    assert tags[:4] == ["O", "B-LOC", "O", "O"]


def test_span_with_surrounding_whitespace_covers_the_words_inside():
    words, tags, _, _ = spans_to_tags("see  Rome  now", [(4, 10, "LOC")])
    assert list(zip(words, tags, strict=True)) == [
        ("see", "O"),
        ("Rome", "B-LOC"),
        ("now", "O"),
    ]


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ([(0, 4, "A"), (2, 6, "B")], "Text 3 has overlapping spans"),
        ([(0, 40, "A")], "Text 3 span 0 \\(0, 40\\) falls outside the text"),
        ([(-1, 2, "A")], "falls outside the text"),
        ([(2, 2, "A")], "or is empty"),
        ([(0, 2)], "must be \\(start, end, label\\) triples"),
        ([(0, 2, 7)], "Span labels must be non-empty strings"),
        ([(4, 5, "A")], "covers only whitespace"),
    ],
)
def test_bad_spans(spans, message):
    with pytest.raises(InputError, match=message):
        spans_to_tags("abcd efgh", spans, row=3)


def test_scheme_round_trips():
    rng = np.random.default_rng(0)
    for _ in range(200):
        tags = repair_iob2([str(t) for t in rng.choice(TAGS, size=rng.integers(12))])
        for scheme in ("IOB1", "BIOES", "IOB2"):
            converted = from_iob2(tags, scheme)
            check_tags(converted, scheme, 0)
            assert to_iob2(converted, scheme) == tags
            assert get_entities(to_iob2(converted, scheme)) == get_entities(tags)


def test_iob1_uses_b_only_between_same_type_entities():
    tags = ["B-PER", "B-PER", "I-PER", "B-LOC", "O"]
    assert from_iob2(tags, "IOB1") == ["I-PER", "B-PER", "I-PER", "I-LOC", "O"]


def test_repair_makes_every_entity_start_with_b():
    rng = np.random.default_rng(1)
    for _ in range(200):
        tags = [str(t) for t in rng.choice(TAGS, size=rng.integers(12))]
        fixed = repair_iob2(tags)
        # Well formed: every word tagged B/I belongs to exactly one entity.
        covered = sum(e - s for _, s, e in get_entities(fixed))
        assert covered == sum(t != "O" for t in fixed)
        assert repair_iob2(fixed) == fixed


def test_check_tags_messages():
    with pytest.raises(InputError, match="sentence 2 word 1 has tag 3 \\(int\\)"):
        check_tags(["O", 3], "IOB2", 2)
    with pytest.raises(InputError, match="Sentence 0 word 0 has tag 'S-PER'"):
        check_tags(["S-PER"], "IOB2", 0)
    with pytest.raises(InputError, match="scheme=None for plain labels"):
        check_tags(["NN"], "IOB1", 0)
    check_tags(["NN", "VB"], None, 0)
    check_tags(["S-PER", "E-PER", "O"], "BIOES", 0)


def test_cjk_and_combining_marks_are_split_into_words():
    words, starts, ends = split_words("東京に行く हिन्दी e\u0301te\u0301 Zoë!")
    assert words == [
        "東",
        "京",
        "に",
        "行",
        "く",
        "हिन्दी",
        "e\u0301te\u0301",
        "Zoë",
        "!",
    ]
    text = "東京に行く हिन्दी e\u0301te\u0301 Zoë!"
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == words
