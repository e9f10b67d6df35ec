"""Property-based tests of character offsets on random Unicode text.

Texts mix combining marks, emoji (with skin tones and zero-width joiners),
zero-width and full-width characters, CJK, Hangul, right-to-left scripts,
ligatures, tabs and newlines with any other character. Each property says
what every offset returned must satisfy; the number of examples is stated
in each ``settings``.

The numpy-only layers (word splitting, span <-> tag conversion, SentencePiece
offsets, token <-> character spans, word windows) run many examples; the
fitted tiny AlbertTagger and AlbertQA run fewer, one model per module.
"""

import re
import unicodedata
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from albert_sk import AlbertQA, AlbertTagger
from albert_sk.align import (
    char_span_to_tokens,
    entity_records,
    spans_to_tags,
    split_words,
    tokens_to_char_span,
)
from albert_sk.exceptions import TruncationWarning, VocabularyWarning
from albert_sk.text import train_sentencepiece
from albert_sk.windows import word_windows

LAYER_EXAMPLES = 400  # numpy-only properties
MODEL_EXAMPLES = 30  # properties through a fitted model

SPECIAL = [
    "\u0301",  # combining acute
    "\u0308",  # combining diaeresis
    "\u0327",  # combining cedilla
    "\u093f",  # Devanagari vowel sign i (a mark that \w does not match)
    "\u094d",  # Devanagari virama
    "\u064e",  # Arabic fatha
    "\U0001f600",  # emoji
    "\U0001f44d\U0001f3fd",  # thumbs up, skin tone
    "\U0001f468\u200d\U0001f469",  # ZWJ sequence
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\uff21\uff22\uff11",  # full-width letters and digit
    "\u6771\u4eac",  # CJK
    "\u65e5\u672c\u8a9e",
    "\u6211\u5728\u5317\u4eac\u5de5\u4f5c",  # Chinese without spaces
    "\uff0c",  # full-width comma
    "\u3002",  # ideographic full stop
    "\u300a\u7ea2\u697c\u68a6\u300b",  # book title marks around CJK
    "\uff08\uff21\uff22\uff23\uff09",  # full-width parentheses and letters
    "2019\u5e74",  # digits next to an ideograph
    "\u4f7f\u7528Python\u7f16\u7a0b",  # a Latin word inside Chinese
    "\U00020000\U0002a6df",  # Extension B (astral ideographs)
    "\U00030000",  # Extension G
    "\uf900\ufa6d",  # compatibility ideographs
    "\u3042\u30ab",  # kana (not ideographs)
    "\ud55c\uad6d\uc5b4",  # Hangul
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew (RTL)
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic (RTL)
    "\u202e",  # right-to-left override
    "\t",
    "\n",
    "\r\n",
    " ",
    "  ",
    "\xa0",  # no-break space
    "\u3000",  # ideographic space
    "\u0130",  # I with dot: lower() gives two characters
    "\u00df",  # sharp s
    "\ufb01",  # fi ligature (NFKD: two letters)
    "\u00bd",  # vulgar fraction one half
    "\u00a8",  # spacing diaeresis (NFKD: space + mark)
    "``",
    "''",
    "Zo\u00eb",
    "caf\u00e9",
    "e\u0301",
    "Ada",
    "Paris",
    "New York",
    ".",
    ",",
    "!",
    "-",
]
piece = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=3),
)
texts = st.lists(piece, max_size=24).map("".join)
# Whitespace as ALBERT's tokenizer (and Hugging Face's) splits on it:
# str.isspace() without the information separators U+001C..U+001F.
SEPARATORS = "\x1c\x1d\x1e\x1f"


def _blank(ch):
    return ch.isspace() and ch not in SEPARATORS


nonblank_texts = texts.filter(lambda t: t.strip())


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", VocabularyWarning)
        warnings.simplefilter("ignore", TruncationWarning)
        return fit()


CORPUS = [
    "Ada visits Paris with Zo\u00eb. caf\u00e9 e\u0301t\u00e9 \u0130stanbul",
    "\u6771\u4eac\u306b\u884c\u304d\u307e\u3059\u3002 \u65e5\u672c\u8a9e",
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \ud55c\uad6d\uc5b4",
    "\uff21\uff22\uff11 \ufb01ne \u00bd \u00df \U0001f600 \U0001f44d\U0001f3fd",
    "\u0939\u093f\u0928\u094d\u0926\u0940 ``quoted'' text\twith\ttabs",
] * 20


@pytest.fixture(scope="module", params=[True, False], ids=["uncased", "cased"])
def tokenizer(request):
    return _quiet(
        lambda: train_sentencepiece(
            CORPUS,
            vocab_size=120,
            lowercase=request.param,
            strip_accents=request.param,
            seed=0,
        )
    )


# === Words and character spans (albert_sk.align) ===


@settings(max_examples=LAYER_EXAMPLES, deadline=None)
@given(texts)
def test_split_words_offsets_are_exact_and_cover_every_visible_char(text):
    words, starts, ends = split_words(text)
    assert len(words) == len(starts) == len(ends)
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == words
    assert all(w and not any(c.isspace() for c in w) for w in words)
    assert (starts[1:] >= ends[:-1]).all()  # in order, no overlap
    covered = np.zeros(len(text), bool)
    for s, e in zip(starts, ends, strict=True):
        covered[s:e] = True
    assert all(covered[i] or c.isspace() for i, c in enumerate(text))


CHINESE = st.sampled_from(
    [
        "\u6211",
        "\u5728",
        "\u4e2d\u56fd",
        "\uff0c",
        "\u3002",
        "\u300a",
        "\u300b",
        "\uff21\uff22",
        "\uff11\uff12",
        "2019",
        "Python",
        "3.5",
        " ",
        "\u3000",
        "\U00020001",
        "\U00031350",
        "\uf901",
        "\u30ab\u30ca",
    ]
)
chinese_texts = st.lists(st.one_of(CHINESE, piece), max_size=30).map("".join)


def _is_ideograph(ch):
    cp = ord(ch)
    return any(
        lo <= cp <= hi
        for lo, hi in [
            (0x3400, 0x4DBF),
            (0x4E00, 0x9FFF),
            (0xF900, 0xFAFF),
            (0x20000, 0x2FA1F),
            (0x30000, 0x323AF),
        ]
    )


@settings(max_examples=LAYER_EXAMPLES, deadline=None)
@given(chinese_texts)
def test_split_words_makes_every_cjk_ideograph_a_word(text):
    words, starts, ends = split_words(text)
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == words
    for word in words:
        # an ideograph is a word of its own (with the combining marks written
        # on it); other words hold none
        if _is_ideograph(word[0]):
            assert all(unicodedata.category(c)[0] == "M" for c in word[1:])
        else:
            assert not any(map(_is_ideograph, word))
    ideographs = [i for i, c in enumerate(text) if _is_ideograph(c)]
    assert set(ideographs) <= set(starts.tolist())
    # Latin words and numbers between ideographs stay whole: a maximal run
    # of ASCII letters and digits is one word.
    for m in re.finditer(r"[A-Za-z0-9]+", text):
        inside = (starts <= m.start()) & (ends >= m.end())
        assert inside.any(), (text, m.group())


@st.composite
def text_with_spans(draw):
    text = draw(nonblank_texts)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = []
    for s, e in zip(cuts[::2], cuts[1::2], strict=False):
        if text[s:e].strip():
            spans.append((s, e, draw(st.sampled_from(["PER", "LOC"]))))
    return text, spans


@settings(max_examples=LAYER_EXAMPLES, deadline=None)
@given(text_with_spans())
def test_spans_to_tags_and_back_keep_every_entity(case):
    text, spans = case
    words, tags, starts, ends = spans_to_tags(text, spans)
    assert len(tags) == len(words) == len(starts)
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == words
    back = entity_records(text, tags, starts, ends)
    assert [(r["label"], r["start"], r["end"]) for r in back] == [
        # each span comes back without the whitespace at its ends
        (
            label,
            s + len(text[s:e]) - len(text[s:e].lstrip()),
            e - len(text[s:e]) + len(text[s:e].rstrip()),
        )
        for s, e, label in spans
    ]
    for r in back:
        assert r["text"] == text[r["start"] : r["end"]] == r["text"].strip() != ""


@settings(max_examples=LAYER_EXAMPLES, deadline=None)
@given(
    st.lists(st.integers(1, 40), max_size=60),
    st.integers(6, 30),
    st.integers(0, 15),
)
def test_word_windows_hold_every_word_within_the_size(counts, size, stride):
    stride = min(stride, size // 2)
    counts = [min(c, size) for c in counts]  # the tagger splits longer words
    windows = word_windows(counts, size, stride)
    cum = np.concatenate([[0], np.cumsum(counts)])
    seen = set()
    for a, b in windows:
        assert a < b and cum[b] - cum[a] <= size
        seen.update(range(a, b))
    assert seen == set(range(len(counts)))
    assert (np.diff(windows[:, 0]) > 0).all() and (np.diff(windows[:, 1]) > 0).all()


# === SentencePiece offsets (albert_sk.text) and token spans (QA) ===


@settings(
    max_examples=LAYER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(texts)
def test_piece_offsets_stay_in_the_text_and_never_start_on_a_blank(tokenizer, text):
    ((ids, starts, ends),) = tokenizer.encode_with_offsets([text])
    assert len(ids) == len(starts) == len(ends)
    assert ((0 <= starts) & (starts <= ends) & (ends <= len(text))).all()
    assert (np.diff(starts) >= 0).all() and (np.diff(ends) >= 0).all()
    for s, e in zip(starts, ends, strict=True):
        if e > s:
            assert not _blank(text[s]) and not _blank(text[e - 1])
    # The same ids as encode (the path the classifier takes).
    assert list(ids) == tokenizer.encode([text])[0]


@pytest.fixture(scope="module")
def wordpiece():
    """A WordPiece vocabulary (albert_sk.wordpiece) of the corpus characters."""
    from albert_sk.wordpiece import WordPieceTokenizer

    chars = sorted({c for t in CORPUS + SPECIAL for c in t.lower() if c.strip()})
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ada", "##s", *chars]
    return WordPieceTokenizer("\n".join(tokens).encode("utf-8"))


@settings(
    max_examples=LAYER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(chinese_texts)
def test_wordpiece_offsets_are_in_order_and_never_on_a_blank(wordpiece, text):
    ((ids, starts, ends),) = wordpiece.encode_with_offsets([text])
    assert ((0 <= starts) & (starts < ends) & (ends <= len(text))).all()
    assert (starts[1:] >= ends[:-1]).all()
    for s, e in zip(starts, ends, strict=True):
        assert not text[s].isspace() and not text[e - 1].isspace()
    assert list(ids) == wordpiece.encode([text])[0]
    # every ideograph is a piece of its own, at its own offset: those of
    # BertTokenizer's blocks (not Extensions F to I: the ids must stay
    # BertTokenizer's)
    bert = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
    bert += [(0x20000, 0x2A6DF), (0x2A700, 0x2CEAF), (0x2F800, 0x2FA1F)]
    ideographs = [
        i for i, c in enumerate(text) if any(a <= ord(c) <= b for a, b in bert)
    ]
    assert set(ideographs) <= set(starts.tolist())


@settings(
    max_examples=LAYER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text_with_spans())
def test_answer_spans_round_trip_through_tokens(tokenizer, case):
    text, spans = case
    ((_, starts, ends),) = tokenizer.encode_with_offsets([text])
    for a, b, _ in spans:
        tokens = char_span_to_tokens(starts, ends, a, b)
        if tokens is None:
            # No piece covers the answer: it holds only characters that
            # normalise away (marks, zero-width), which fit counts in a
            # DataLossWarning.
            assert not any(
                (s < b) & (e > a) & (e > s) for s, e in zip(starts, ends, strict=True)
            )
            continue
        first, last = tokens
        cs, ce = tokens_to_char_span(starts, ends, first, last)
        assert 0 <= cs < ce <= len(text)
        assert cs < b and ce > a  # the tokens overlap the answer
        for s, e in zip(starts, ends, strict=True):
            if e > s and s < b and e > a:  # every piece of the answer is inside
                assert cs <= s and e <= ce


# === Through fitted tiny models ===


@pytest.fixture(scope="module")
def tagger():
    X = [
        "Ada visits Paris today",
        "Zo\u00eb left \u6771\u4eac for Lagos",
        "Bob loves New York",
        "\u05e9\u05dc\u05d5\u05dd Hiro in Oslo",
    ] * 6
    spans = [
        [(0, 3, "PER"), (11, 16, "LOC")],
        [(0, 3, "PER"), (9, 11, "LOC"), (16, 21, "LOC")],
        [(0, 3, "PER"), (10, 18, "LOC")],
        [(5, 9, "PER"), (13, 17, "LOC")],
    ] * 6
    params = dict(backbone="tiny", vocab_size=100, max_length=16, epochs=1)
    return _quiet(lambda: AlbertTagger(**params, random_state=0).fit(X, spans))


@settings(max_examples=MODEL_EXAMPLES, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4))
def test_tagger_entities_are_exact_slices_and_tags_match_words(tagger, batch):
    tags = _quiet(lambda: tagger.predict(batch))
    entities = _quiet(lambda: tagger.predict_entities(batch))
    for text, sentence_tags, found in zip(batch, tags, entities, strict=True):
        words, starts, ends = split_words(text)
        assert len(sentence_tags) == len(words)
        for entity in found:
            s, e = entity["start"], entity["end"]
            assert 0 <= s < e <= len(text)
            assert text[s:e] == entity["text"]
            assert s in set(starts.tolist()) and e in set(ends.tolist())


@settings(max_examples=MODEL_EXAMPLES, deadline=None)
@given(
    st.lists(
        st.lists(
            nonblank_texts.map(lambda t: "".join(t.split())).filter(bool), max_size=40
        ),
        min_size=1,
        max_size=3,
    )
)
def test_tagger_gives_one_tag_per_word_of_any_word_list(tagger, sentences):
    tags = _quiet(lambda: tagger.predict(sentences))
    assert [len(t) for t in tags] == [len(s) for s in sentences]


@pytest.fixture(scope="module")
def qa():
    context = "Ada was born in Paris in 1815 and wrote the first program."
    X = [{"question": "Where was Ada born?", "context": context}] * 8
    params = dict(backbone="tiny", vocab_size=100, max_length=32, epochs=1)
    model = AlbertQA(**params, max_query_length=12, doc_stride=8, random_state=0)
    return _quiet(lambda: model.fit(X, ["Paris"] * 8))


@settings(max_examples=MODEL_EXAMPLES, deadline=None)
@given(st.lists(st.tuples(nonblank_texts, nonblank_texts), min_size=1, max_size=3))
def test_qa_answers_are_exact_slices_of_their_context(qa, rows):
    X = [{"question": q, "context": c} for q, c in rows]
    spans = _quiet(lambda: qa.predict_spans(X, n_best=3))
    answers = _quiet(lambda: qa.predict(X))
    for (_, context), records, answer in zip(rows, spans, answers, strict=True):
        assert records and answer == records[0]["answer"]
        for r in records:
            s, e = r["start"], r["end"]
            assert 0 <= s <= e <= len(context)
            assert context[s:e] == r["answer"]
            if r["answer"]:
                assert not _blank(r["answer"][0]) and not _blank(r["answer"][-1])
