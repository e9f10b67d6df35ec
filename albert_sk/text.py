"""SentencePiece tokenisation: normalisation, ids, character offsets, packing.

No Keras here. Texts are tokenised once per ``fit``/``predict`` call with the
C++ SentencePiece processor; the model only ever sees the integer arrays built
here; :mod:`albert_sk.batching` groups them into padded batches.
"""

import functools
import io
import itertools
import math
import re
import unicodedata
import warnings

import numpy as np
import sentencepiece as spm

from albert_sk.batching import Encoded
from albert_sk.exceptions import (
    InputError,
    TruncationWarning,
    VocabularyWarning,
    first_rows,
    user_stacklevel,
)

SPECIAL_PIECES = {"pad": "<pad>", "unk": "<unk>", "cls": "[CLS]", "sep": "[SEP]"}
MASK_PIECE = "[MASK]"
# Smallest vocabulary that still leaves room for the special pieces and bytes.
MIN_VOCAB_SIZE = 64
# vocab_size="auto": as many pieces as the texts support, at most this many.
AUTO_VOCAB_SIZE = 8000


# Unicode's White_Space characters: Python's str.isspace() without the
# information separators U+001C..U+001F, which Hugging Face's AlbertTokenizer
# (Rust's char::is_whitespace) does not split on either.
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# An ASCII text needs the slow path only for these: a doubled quote, a
# whitespace run or a whitespace char other than " ", a space at either end.
_ASCII_SPECIAL = re.compile(r"``|''|[\t\n\x0b\x0c\r]|  |^ | $")
_QUOTES = {"``": '"', "''": '"'}


@functools.lru_cache(maxsize=65536)
def _fold_char(ch, lowercase, strip_accents):
    """One char as ALBERT's tokenizer folds it: NFKD without marks, then lower.

    Per char, as Hugging Face's ``AlbertTokenizer`` does it (no final-sigma
    rule). Marks are every general category ``M*`` (``StripAccents``).
    """
    if strip_accents:
        ch = "".join(
            c
            for c in unicodedata.normalize("NFKD", ch)
            if unicodedata.category(c)[0] != "M"
        )
    if lowercase:
        ch = "".join(c.lower() for c in ch)
    return ch


def normalize(text, *, lowercase=True, strip_accents=True):
    """Normalise as ALBERT's tokenizer does, and map each output char to its source.

    The steps of ALBERT's own preprocessing and of Hugging Face's
    ``AlbertTokenizer``: whitespace runs become one space and the ends are
    stripped; two backquotes or two apostrophes become ``"``; with ``strip_accents``,
    NFKD (so compatibility characters such as ``ﬁ`` or fullwidth letters
    fold too) without the combining marks; with ``lowercase``, lower case.

    Returns ``(normalized, source)`` where ``source[i]`` is the index in
    ``text`` of the character that produced ``normalized[i]``; ``source`` has
    one extra entry, the end of the text without its trailing whitespace, so
    end offsets map too.
    """
    if text.isascii() and not _ASCII_SPECIAL.search(text):
        out = text.lower() if lowercase else text
        return out, np.arange(len(text) + 1, dtype=np.int64)
    fold = lowercase or strip_accents
    end = len(text)
    while end and text[end - 1] in _WHITESPACE:
        end -= 1
    parts, source = [], []
    i = 0
    while i < end and text[i] in _WHITESPACE:
        i += 1
    while i < end:
        ch = text[i]
        if ch in _WHITESPACE:
            parts.append(" ")
            source.append(i)
            while text[i] in _WHITESPACE:  # the run stops before ``end``
                i += 1
            continue
        if ch in "`'" and text[i : i + 2] in _QUOTES:
            parts.append('"')
            source.append(i)
            i += 2
            continue
        folded = _fold_char(ch, lowercase, strip_accents) if fold else ch
        parts.append(folded)
        source.extend([i] * len(folded))
        i += 1
    source.append(end)
    return "".join(parts), np.asarray(source, dtype=np.int64)


def _is_blank(ch):
    """Whitespace, or a zero-width format char (U+200B, U+FEFF) SentencePiece
    reads as a word boundary: never the start of a piece's span."""
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def _byte_to_char(text):
    """Map each UTF-8 byte offset of ``text`` (and its end) to a char offset."""
    if text.isascii():
        return np.arange(len(text) + 1, dtype=np.int64)
    sizes = np.fromiter((len(c.encode("utf-8")) for c in text), np.int64, len(text))
    return np.append(np.repeat(np.arange(len(text)), sizes), len(text))


class Packing:
    """``[CLS] a [SEP] (b [SEP])`` rows from token ids: what every tokenizer
    shares (SentencePiece here, WordPiece in :mod:`albert_sk.wordpiece`).
    Subclasses set ``cls_id``, ``sep_id`` and ``pad_id``."""

    def pack(self, ids_a, ids_b=None, *, max_length, name="texts"):
        """``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]`` rows, truncated to fit.

        Pairs lose tokens from the longer side first. One
        :class:`TruncationWarning` counts the truncated rows; nothing is cut
        silently.
        """
        if ids_b is None:
            return self._pack_single(ids_a, max_length=max_length, name=name)
        rows, segments, cut, longest = [], [], [], 0
        budget = max_length - (2 if ids_b is None else 3)
        for i, a in enumerate(ids_a):
            b = None if ids_b is None else ids_b[i]
            la, lb = len(a), (0 if b is None else len(b))
            if la + lb > budget:
                cut.append(i)
                longest = max(longest, la + lb + max_length - budget)
                la, lb = _truncate_pair(la, lb, budget, b is not None)
            tokens = [self.cls_id, *a[:la], self.sep_id]
            seg = [0] * len(tokens)
            if b is not None:
                tokens += [*b[:lb], self.sep_id]
                seg += [1] * (lb + 1)
            rows.append(tokens)
            segments.append(seg)
        if cut:
            warnings.warn(
                f"{len(cut)} of {len(rows)} {name} were longer than max_length="
                f"{max_length} tokens (the longest had {longest}) and were "
                f"truncated (rows {first_rows(cut)}). Raise max_length to keep "
                "them whole.",
                TruncationWarning,
                stacklevel=user_stacklevel(),
            )
        return Encoded.from_rows(rows, segments, pad_id=self.pad_id)

    def _pack_single(self, ids, *, max_length, name):
        """``pack`` for single texts, with array operations instead of a row loop."""
        n, budget = len(ids), max_length - 2
        lengths = np.fromiter(map(len, ids), np.int64, n)
        flat = np.fromiter(itertools.chain.from_iterable(ids), np.int32, lengths.sum())
        keep = np.minimum(lengths, budget)
        out_lengths = keep + 2
        starts = np.cumsum(out_lengths) - out_lengths
        token_ids = np.empty(int(out_lengths.sum()), dtype=np.int32)
        token_ids[starts] = self.cls_id
        token_ids[starts + out_lengths - 1] = self.sep_id
        # Position k of row i's kept tokens: flat[src_i + k] -> token_ids[dst_i + k].
        k = np.arange(keep.sum()) - np.repeat(np.cumsum(keep) - keep, keep)
        source = np.repeat(np.cumsum(lengths) - lengths, keep) + k
        token_ids[np.repeat(starts + 1, keep) + k] = flat[source]
        cut = lengths > budget
        if cut.any():
            warnings.warn(
                f"{int(cut.sum())} of {n} {name} were longer than max_length="
                f"{max_length} tokens (the longest had {int(lengths.max()) + 2}) "
                f"and were truncated (rows {first_rows(np.flatnonzero(cut))}). "
                "Raise max_length to keep them whole.",
                TruncationWarning,
                stacklevel=user_stacklevel(),
            )
        segment_ids = np.zeros_like(token_ids)
        return Encoded(token_ids, segment_ids, starts, out_lengths, self.pad_id)


class Tokenizer(Packing):
    """A SentencePiece model plus the normalisation its vocabulary expects.

    Parameters
    ----------
    proto : bytes
        A serialized SentencePiece model (the content of ``spiece.model``).
    lowercase, strip_accents : bool
        Normalisation applied before SentencePiece. Pretrained ALBERT
        vocabularies are uncased and accent-free.

    Pickles as its proto bytes; the C++ processor is rebuilt on load.
    """

    # The member of a saved model file (and of a Hugging Face checkpoint)
    # that holds ``proto``.
    FILE = "spiece.model"

    def __init__(self, proto, *, lowercase=True, strip_accents=True):
        self.proto = bytes(proto)
        self.lowercase = bool(lowercase)
        self.strip_accents = bool(strip_accents)
        self._sp = spm.SentencePieceProcessor(model_proto=self.proto)
        ids = {
            name: self._sp.piece_to_id(piece) for name, piece in SPECIAL_PIECES.items()
        }
        unk = self._sp.unk_id()
        missing = [SPECIAL_PIECES[n] for n, i in ids.items() if i == unk and n != "unk"]
        if missing:
            raise InputError(
                f"The SentencePiece model lacks the ALBERT special pieces {missing}. "
                "Train the vocabulary with albert_sk (preset=None) or use an ALBERT "
                "spiece.model, which defines <pad>, <unk>, [CLS], [SEP] and [MASK]."
            )
        self.pad_id, self.unk_id = ids["pad"], ids["unk"]
        self.cls_id, self.sep_id = ids["cls"], ids["sep"]
        mask_id = self._sp.piece_to_id(MASK_PIECE)
        self.mask_id = None if mask_id == unk else mask_id

    def __getstate__(self):
        return {
            k: v for k, v in self.__dict__.items() if k not in ("_sp", "_sp_attached")
        }

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._sp = spm.SentencePieceProcessor(model_proto=self.proto)

    @property
    def vocab_size(self):
        return self._sp.get_piece_size()

    @property
    def word_boundary_id(self):
        """Id of the bare word-boundary piece ``▁``, which says nothing about
        the word it starts (a tagger reads a word's tag after it)."""
        return self._sp.piece_to_id("\u2581")

    def word_starts(self):
        """Boolean array over the vocabulary: True where a piece starts a word."""
        pieces = self.id_to_piece(range(self.vocab_size))
        return np.fromiter((p.startswith("\u2581") for p in pieces), bool, len(pieces))

    def id_to_piece(self, ids):
        return [self._sp.id_to_piece(int(i)) for i in ids]

    def normalize(self, text):
        return normalize(
            text, lowercase=self.lowercase, strip_accents=self.strip_accents
        )

    def encode(self, texts):
        """Token ids (no special tokens) for each text, one C++ batch call."""
        return self._sp.encode(self._normalized(texts), out_type=int)

    def _normalized(self, texts):
        lower = self.lowercase
        return [
            (t.lower() if lower else t)
            if t.isascii() and not _ASCII_SPECIAL.search(t)
            else self.normalize(t)[0]
            for t in texts
        ]

    def encode_attached(self, texts):
        """Token ids of texts written right after the text before them, with
        no space between (Chinese and Japanese words): the pieces they get
        inside unspaced text, with no word-boundary ``▁`` in front."""
        processor = self.__dict__.get("_sp_attached")
        if processor is None:
            from sentencepiece import sentencepiece_model_pb2

            model = sentencepiece_model_pb2.ModelProto()
            model.ParseFromString(self.proto)
            model.normalizer_spec.add_dummy_prefix = False
            processor = spm.SentencePieceProcessor(
                model_proto=model.SerializeToString()
            )
            self._sp_attached = processor
        return processor.encode(self._normalized(texts), out_type=int)

    def _is_blank(self, ch):
        """A word boundary: whitespace, a zero-width char, or a char that
        folds to whitespace (the spacing diaeresis ``¨`` is NFKD " " + U+0308)."""
        return _is_blank(ch) or not _fold_char(
            ch, self.lowercase, self.strip_accents
        ).strip(" ")

    def encode_with_offsets(self, texts):
        """Ids plus ``[start, end)`` character offsets into the original texts.

        Returns a list of ``(ids, starts, ends)`` int arrays; the span of a
        piece never includes whitespace, so a piece that is only the word
        boundary marker ``▁`` gets ``start == end``.
        """
        out = []
        for text in texts:
            norm, source = self.normalize(text)
            proto = self._sp.encode(norm, out_type="proto")
            to_char = _byte_to_char(norm)
            pieces = proto.pieces
            ids = np.fromiter((p.id for p in pieces), np.int32, len(pieces))
            begin = np.fromiter((p.begin for p in pieces), np.int64, len(pieces))
            end = np.fromiter((p.end for p in pieces), np.int64, len(pieces))
            b, e = to_char[begin], to_char[end]
            starts, ends = source[b], source[e]
            # A char that folds into several (e.g. "İ" -> "i" + U+0307) may be
            # split between pieces: it belongs to the first one, whose span
            # ends after it; a piece that starts inside it starts after it.
            ends = ends + ((e > 0) & (ends == source[np.maximum(e - 1, 0)]))
            starts = starts + ((b > 0) & (starts == source[np.maximum(b - 1, 0)]))
            ends = np.minimum(
                np.where(e > b, np.maximum(ends, starts), starts), len(text)
            )
            starts = np.minimum(starts, ends)
            for k, piece in enumerate(pieces):
                if piece.piece.startswith("\u2581"):  # covers the space before it
                    while starts[k] < ends[k] and self._is_blank(text[starts[k]]):
                        starts[k] += 1
                # and may cover a blank after a char SentencePiece drops (a
                # control char: "\x1b\t" is one "▁"): never end on a blank.
                while ends[k] > starts[k] and text[ends[k] - 1] in _WHITESPACE:
                    ends[k] -= 1
            out.append((ids, starts, ends))
        return out


def _truncate_pair(la, lb, budget, is_pair):
    if not is_pair:
        return budget, 0
    # Longest first, as Hugging Face's "longest_first": trim the longer side
    # down to the shorter one, then both, the first text keeping the odd token.
    excess = la + lb - budget
    if excess <= abs(la - lb):
        return (la - excess, lb) if la > lb else (la, lb - excess)
    return budget - budget // 2, budget // 2


def train_sentencepiece(
    texts,
    vocab_size,
    *,
    lowercase=True,
    strip_accents=True,
    model_type="unigram",
    character_coverage=0.9995,
    input_sentence_size=2_000_000,
    seed=None,
    warn=True,
):
    """Train an ALBERT-style SentencePiece vocabulary on ``texts``.

    The vocabulary holds ``<pad>``=0, ``<unk>``=1, ``[CLS]``=2, ``[SEP]``=3
    and ``[MASK]``=4, as ALBERT's ``spiece.model`` does. ``vocab_size`` is an
    upper bound: a corpus too small for it gives a smaller vocabulary and a
    :class:`VocabularyWarning` that says so (with ``warn=False``, call
    :func:`capped_vocabulary_message` yourself). ``vocab_size="auto"`` is
    the vocabulary the texts support, up to ``AUTO_VOCAB_SIZE`` pieces,
    without a warning.

    When there are more than ``input_sentence_size`` texts, a uniform sample
    of that many is drawn here with ``numpy.random.default_rng(seed)``:
    SentencePiece's own sampling would need its process-wide seed
    (``spm.set_random_generator_seed``), which this function never changes.

    Returns a :class:`Tokenizer`.
    """
    requested = vocab_size
    if isinstance(vocab_size, str):  # "auto"
        vocab_size = AUTO_VOCAB_SIZE
    norm = (
        normalize(t, lowercase=lowercase, strip_accents=strip_accents)[0] for t in texts
    )
    sentences = _reservoir_sample(
        (s for s in norm if s.strip()), int(input_sentence_size), seed
    )
    buffer = io.BytesIO()
    options = dict(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        vocab_size=int(vocab_size),
        hard_vocab_limit=False,
        model_type=model_type,
        character_coverage=character_coverage,
        input_sentence_size=0,  # the sample above, all of it
        shuffle_input_sentence=False,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=SPECIAL_PIECES["pad"],
        unk_piece=SPECIAL_PIECES["unk"],
        bos_piece=SPECIAL_PIECES["cls"],
        eos_piece=SPECIAL_PIECES["sep"],
        user_defined_symbols=[MASK_PIECE],
        minloglevel=2,
    )
    try:
        spm.SentencePieceTrainer.train(**options)
    except RuntimeError as err:
        chars = re.search(r"required_chars\. (\d+) vs (\d+)", str(err))
        if chars:  # Chinese or Japanese text: thousands of distinct characters
            raise InputError(
                f"vocab_size={requested!r} is too small for these texts: the "
                f"vocabulary must hold their {int(chars.group(2)) - 5} most "
                "frequent characters (character_coverage="
                f"{character_coverage}) besides its special pieces. Raise "
                f"vocab_size to at least {int(chars.group(2))}."
            ) from None
        raise InputError(
            "Could not train a SentencePiece vocabulary on the given texts "
            f"({err}). The texts must hold some non-blank text; pass more or "
            "longer texts, or a pretrained preset."
        ) from None
    tokenizer = Tokenizer(
        buffer.getvalue(), lowercase=lowercase, strip_accents=strip_accents
    )
    message = capped_vocabulary_message(requested, tokenizer)
    if warn and message is not None:
        warnings.warn(message, VocabularyWarning, stacklevel=user_stacklevel())
    return tokenizer


def capped_vocabulary_message(vocab_size, tokenizer):
    """Why ``tokenizer`` has fewer than ``vocab_size`` pieces, or None (always
    for ``"auto"``, which asks for what the texts support)."""
    if isinstance(vocab_size, str) or tokenizer.vocab_size >= vocab_size:
        return None
    return (
        f"vocab_size={vocab_size} is more than these texts support; the "
        f"vocabulary has {tokenizer.vocab_size} pieces. Pass a smaller "
        "vocab_size, or more text, to silence this warning."
    )


def _reservoir_sample(items, size, seed):
    """All of ``items`` when there are at most ``size``, else a uniform random
    sample of ``size`` of them: reservoir sampling (Li's algorithm L, which
    draws O(size log(n / size)) random numbers rather than one per item)."""
    items = iter(items)
    if size <= 0:
        return list(items)
    kept = list(itertools.islice(items, size))
    if len(kept) < size:
        return kept
    rng = np.random.default_rng(seed)

    def draw():
        return math.log(1.0 - rng.random())  # log of a uniform in (0, 1]

    w = math.exp(draw() / size)
    upcoming = size + int(draw() / math.log1p(-w)) if w < 1 else size
    for i, item in enumerate(items, start=size):
        if i == upcoming:
            kept[int(rng.integers(size))] = item
            w *= math.exp(draw() / size)
            upcoming = i + 1 + (int(draw() / math.log1p(-w)) if w < 1 else 0)
    return kept
