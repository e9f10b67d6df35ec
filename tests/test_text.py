"""albert_sk.text: normalisation, offsets, packing, batching, vocabulary training.

No Keras here: these tests run in well under a second each.
"""

import pickle
import sys
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest

from albert_sk.exceptions import InputError, TruncationWarning, VocabularyWarning
from albert_sk.text import Tokenizer, normalize, train_sentencepiece

EXTRA = [
    "Café Müller served a naïve crème brûlée in Zürich.",
    "İstanbul and Straße are spelled with İ and ß.",
    "東京は素晴らしい都市です。 北京も大きい。",
    "Emoji reviews 😀👍🏽 are common now 🎉.",
]


@pytest.fixture(scope="module")
def tok(sentiment):
    return train_sentencepiece(sentiment.text.tolist() + EXTRA * 5, 600, seed=0)


def _blank(ch):
    """What SentencePiece reads as a word boundary: spaces and zero-width marks."""
    return ch.isspace() or unicodedata.category(ch) == "Cf"


# === Normalisation ===


def test_normalize_lowercases_and_strips_accents():
    out, source = normalize("Café ÉTÉ")
    assert out == "cafe ete"
    assert source.tolist() == list(range(len("Café ÉTÉ") + 1))


def test_normalize_ascii_is_identity_map():
    out, source = normalize("Hello World")
    assert out == "hello world"
    assert source.tolist() == list(range(12))


def test_normalize_dotted_capital_i_expands_to_two_chars():
    # "İ".lower() is "i" + COMBINING DOT ABOVE: two chars from one.
    out, source = normalize("xİy", strip_accents=False)
    assert out == "xi\u0307y"
    assert source.tolist() == [0, 1, 1, 2, 3]
    # Accent stripping then drops the combining dot again.
    out, source = normalize("xİy")
    assert out == "xiy"
    assert source.tolist() == [0, 1, 2, 3]


def test_normalize_sharp_s_is_kept():
    out, source = normalize("STRAßE")
    assert out == "straße"
    assert source.tolist() == list(range(7))


def test_normalize_off_keeps_text():
    out, source = normalize("Crème", lowercase=False, strip_accents=False)
    assert out == "Crème"
    assert source.tolist() == list(range(6))


def test_normalize_lowercase_only_keeps_accents():
    out, _ = normalize("Crème", strip_accents=False)
    assert out == "crème"
    out, _ = normalize("Crème", lowercase=False)
    assert out == "Creme"


def test_normalize_follows_albert_preprocessing():
    # As ALBERT's own tokenizer and Hugging Face's AlbertTokenizer: quotes,
    # whitespace runs, stripped ends, then NFKD without marks, then lower case.
    text = "  ``Hi''  there\tyou\u3000NOW "
    out, source = normalize(text)
    assert out == '"hi" there you now'
    assert [text[i] for i in source[:-1]] == list("`Hi' there\tyou\u3000NOW")
    assert source[-1] == len(text.rstrip())
    # Three apostrophes: the first two are a quote, as str.replace reads them.
    assert normalize("'''")[0] == "\"'"
    # NFKD folds compatibility characters; each output char maps to its source.
    out, source = normalize("ﬁne ＡＢＣ ½")
    assert out == "fine abc 1\u20442"
    assert source.tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 9]
    # No final-sigma rule: Hugging Face lower-cases char by char.
    assert normalize("ΟΔΟΣ")[0] == "οδοσ"


def test_normalize_quotes_and_spaces_without_folding():
    out, source = normalize("``A''  b\n", lowercase=False, strip_accents=False)
    assert out == '"A" b'
    assert source.tolist() == [0, 2, 3, 5, 7, 8]


def test_encode_ascii_fast_path_is_the_normalisation(tok):
    texts = ["plain text", "``quoted''", "tab\tand  double", " lead", "trail "]
    expected = [tok._sp.encode(tok.normalize(t)[0]) for t in texts]
    assert tok.encode(texts) == expected
    assert tok.encode(["``x''"]) == tok.encode(['"x"'])


def test_offsets_of_quoted_and_spaced_text(tok):
    text = "He said ``Great  movie''\tand ¨ left."
    [(ids, starts, ends)] = tok.encode_with_offsets([text])
    spans = [text[s:e] for s, e in zip(starts, ends, strict=True)]
    assert "".join(spans) == "Hesaid``Greatmovie''andleft."
    for span in spans:
        assert span == span.strip() and "¨" not in span


# === Encoding and offsets ===

OFFSET_TEXTS = {
    "ascii": "Hello world, this movie was great!",
    "accented": "Café Müller served a naïve crème brûlée.",
    "emoji": "I love it 😀😀 so much 👍🏽",
    "cjk": "東京は素晴らしい 都市です",
    "zero_width": "a\u200bb zero\u200dwidth\ufeffx end",
    "spaces": "  lead  and\ttrail \n ",
    "dotted_i_sharp_s": "İstanbul STRASSE Straße",
    "compat": "ﬁne ＡＢＣ",
}


@pytest.mark.parametrize("kind", sorted(OFFSET_TEXTS))
def test_offsets_map_pieces_back_to_original_text(tok, kind):
    text = OFFSET_TEXTS[kind]
    [(ids, starts, ends)] = tok.encode_with_offsets([text])
    norm, _ = tok.normalize(text)
    proto = tok._sp.encode(norm, out_type="proto")
    assert ids.tolist() == [p.id for p in proto.pieces]
    assert ids.tolist() == tok.encode([text])[0]
    previous_end = 0
    for piece, start, end in zip(proto.pieces, starts, ends, strict=True):
        assert 0 <= start <= end <= len(text)
        assert start >= previous_end, "pieces overlap or go backwards"
        previous_end = end
        span = text[start:end]
        # The span is the original text of the piece (before lower-casing and
        # accent stripping), without the whitespace that precedes a word.
        surface = piece.surface
        if piece.piece.startswith("\u2581"):
            while surface and _blank(surface[0]):
                surface = surface[1:]
        assert tok.normalize(span)[0] == surface, (piece.piece, span)
        if start < end:
            assert not text[start].isspace() and not text[end - 1].isspace()
    # Every non-blank char of the text is inside some piece.
    covered = np.zeros(len(text), bool)
    for start, end in zip(starts, ends, strict=True):
        covered[start:end] = True
    assert all(covered[i] or _blank(c) for i, c in enumerate(text))


def test_offsets_of_accented_word_point_at_original_chars(tok):
    text = "Crème brûlée"
    [(ids, starts, ends)] = tok.encode_with_offsets([text])
    spans = "".join(text[s:e] for s, e in zip(starts, ends, strict=True))
    assert spans == "Crèmebrûlée"


def test_boundary_only_piece_has_empty_span(tok):
    text = "ok \u200b\ufeff  東京"
    [(ids, starts, ends)] = tok.encode_with_offsets([text])
    pieces = tok.id_to_piece(ids)
    for piece, start, end in zip(pieces, starts, ends, strict=True):
        if piece == "\u2581":
            assert start == end


def test_offsets_with_lowercase_only_keep_dotted_i(sentiment):
    tok = train_sentencepiece(
        sentiment.text.tolist()[:1000] + EXTRA * 5, 400, strip_accents=False, seed=0
    )
    text = "İstanbul"
    [(ids, starts, ends)] = tok.encode_with_offsets([text])
    assert starts[0] == 0 and ends[-1] == len(text)
    assert "".join(text[s:e] for s, e in zip(starts, ends, strict=True)) == text


def test_encode_empty_text(tok):
    assert tok.encode([""]) == [[]]
    [(ids, starts, ends)] = tok.encode_with_offsets([""])
    assert len(ids) == len(starts) == len(ends) == 0


# === Packing ===


def test_pack_single_texts(tok):
    enc = tok.pack([[10, 11], [12]], max_length=16)
    assert enc.row(0).tolist() == [tok.cls_id, 10, 11, tok.sep_id]
    assert enc.row(1).tolist() == [tok.cls_id, 12, tok.sep_id]
    assert enc.lengths.tolist() == [4, 3]
    assert enc.segment_ids.tolist() == [0] * 7


def test_pack_pairs_and_segment_ids(tok):
    enc = tok.pack([[10, 11]], [[20, 21, 22]], max_length=16)
    cls, sep = tok.cls_id, tok.sep_id
    assert enc.row(0).tolist() == [cls, 10, 11, sep, 20, 21, 22, sep]
    assert enc.segment_ids.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    batch = enc.batch(np.array([0]), 10)
    assert batch["token_ids"].tolist() == [
        [cls, 10, 11, sep, 20, 21, 22, sep, tok.pad_id, tok.pad_id]
    ]
    assert batch["segment_ids"].tolist() == [[0, 0, 0, 0, 1, 1, 1, 1, 0, 0]]
    assert batch["padding_mask"].tolist() == [[1] * 8 + [0, 0]]


def test_pack_pair_truncation_is_longest_first(tok):
    a, b = list(range(10, 22)), list(range(30, 34))  # 12 and 4 tokens
    with pytest.warns(TruncationWarning, match=r"1 of 1 text pairs .* had 19\)"):
        enc = tok.pack([a], [b], max_length=11, name="text pairs")  # budget 4 + 4
    row = enc.row(0).tolist()
    assert len(row) == 11
    assert row == [tok.cls_id, *a[:4], tok.sep_id, *b, tok.sep_id]
    with pytest.warns(TruncationWarning):
        enc = tok.pack([a], [b], max_length=8)  # budget 5: 3 + 2
    assert enc.row(0).tolist() == [tok.cls_id, *a[:3], tok.sep_id, *b[:2], tok.sep_id]


def test_pack_warns_once_counting_rows(tok):
    rows = [[5] * 3, [5] * 20, [5] * 6, [5] * 30]
    with pytest.warns(TruncationWarning) as record:
        enc = tok.pack(rows, max_length=8, name="texts")
    assert len(record) == 1
    message = str(record[0].message)
    assert "2 of 4 texts" in message and "longest had 32" in message
    assert enc.lengths.tolist() == [5, 8, 8, 8]
    assert enc.row(1).tolist() == [tok.cls_id, *[5] * 6, tok.sep_id]


def test_pack_no_warning_when_everything_fits(tok):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = tok.pack([[5] * 6], max_length=8)
    assert enc.lengths.tolist() == [8]


def test_encoded_subset_keeps_rows(tok):
    enc = tok.pack([[10], [11, 12], [13, 14, 15]], [[1], [2], [3]], max_length=16)
    sub = enc.subset([2, 0])
    assert sub.row(0).tolist() == enc.row(2).tolist()
    assert sub.row(1).tolist() == enc.row(0).tolist()
    assert len(sub) == 2
    assert sub.segment_ids.tolist() == [0] * 5 + [1] * 2 + [0] * 3 + [1] * 2


def test_train_sentencepiece_special_ids(tok):
    assert tok.id_to_piece(range(5)) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (
        0,
        1,
        2,
        3,
        4,
    )
    assert tok.vocab_size == 600


def test_train_sentencepiece_warns_when_vocab_is_capped():
    texts = ["the cat sat on the mat", "a dog ran", "cats and dogs"] * 3
    with pytest.warns(VocabularyWarning, match=r"vocab_size=1000 .* has \d+ pieces"):
        tok = train_sentencepiece(texts, 1000, seed=0)
    assert tok.vocab_size < 1000
    assert tok.id_to_piece(range(5)) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]


def test_train_sentencepiece_is_deterministic_with_seed(sentiment):
    texts = sentiment.text.tolist()[:800]
    a = train_sentencepiece(texts, 300, seed=3)
    b = train_sentencepiece(texts, 300, seed=3)
    assert a.proto == b.proto


def test_train_sentencepiece_refuses_blank_texts():
    with pytest.raises(InputError, match="non-blank text"):
        train_sentencepiece(["", "   "], 100, seed=0)


def test_tokenizer_refuses_vocabulary_without_albert_pieces():
    import io

    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["hello world", "some more words here"] * 20),
        model_writer=buffer,
        vocab_size=30,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    with pytest.raises(InputError, match=r"lacks the ALBERT special pieces"):
        Tokenizer(buffer.getvalue())


def test_tokenizer_pickles(tok):
    clone = pickle.loads(pickle.dumps(tok))
    assert "_sp" not in tok.__getstate__()
    text = ["Café Müller 😀 was great", "東京"]
    assert clone.encode(text) == tok.encode(text)
    a, b = clone.encode_with_offsets(text), tok.encode_with_offsets(text)
    for x, y in zip(a, b, strict=True):
        assert all(np.array_equal(u, v) for u, v in zip(x, y, strict=True))
    assert (clone.lowercase, clone.strip_accents) == (True, True)
    assert clone.vocab_size == tok.vocab_size


def test_numpy_layers_do_not_import_keras():
    assert "albert_sk.text" in sys.modules
    import subprocess

    code = (
        "import sys, albert_sk.text, albert_sk.io, albert_sk.batching, "
        "albert_sk.windows, albert_sk.align, albert_sk.metrics; "
        "print(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "False"
