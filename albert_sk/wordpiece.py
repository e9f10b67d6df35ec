"""WordPiece tokenisation for checkpoints that ship a BERT ``vocab.txt``.

Published Chinese ALBERT checkpoints (Google's ``albert_*_zh``, brightmart's
``albert_zh`` and the ``albert_chinese_*`` conversions on the Hugging Face hub)
hold a WordPiece vocabulary read by ``BertTokenizer``, not a
``spiece.model``. :class:`WordPieceTokenizer` gives the same ids as
``transformers``' ``BertTokenizer`` (BERT's basic tokenizer: clean-up, every
CJK ideograph a word of its own, punctuation split off, optional lower-casing
and accent stripping; then greedy longest-match-first WordPiece) through the
Rust ``tokenizers`` library, which also gives each piece's character offsets
into the original text. Same interface as :class:`albert_sk.text.Tokenizer`.
The ideographs split apart are ``BertTokenizer``'s blocks (CJK Unified
Ideographs, Extensions A to E, compatibility ideographs), so ids match the
checkpoints' own; :func:`albert_sk.align.split_words` also splits the newer
Extensions F to I. BERT checkpoints (loaded as ALBERTs) use it too, and a
checkpoint with only a WordPiece ``tokenizer.json`` (what
``BertTokenizerFast`` writes) gets the same tokenizer from it
(:func:`read_tokenizer_json`). No Keras here.
"""

import numpy as np

from albert_sk.exceptions import InputError
from albert_sk.text import Packing

SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]"}
MASK_TOKEN = "[MASK]"
CONTINUATION = "##"
# BertTokenizer's default: a longer word is one [UNK].
MAX_WORD_CHARS = 100


def read_vocab(data):
    """The tokens of a ``vocab.txt`` (bytes), one per line, as ``BertTokenizer``
    reads them: split on ``\\n`` only, the line end removed."""
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"vocab.txt is not UTF-8 text (byte {err.start}). A WordPiece "
            "vocabulary has one token per line, in UTF-8."
        ) from None
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    return [t.rstrip("\r") if t.endswith("\r") else t for t in tokens]


class WordPieceTokenizer(Packing):
    """A BERT WordPiece vocabulary plus the basic tokenizer's normalisation.

    Parameters
    ----------
    proto : bytes
        The content of ``vocab.txt`` (one token per line; the line number is
        the id).
    lowercase : bool, default=True
        Lower-case before WordPiece (``do_lower_case``).
    strip_accents : bool or None, default=None
        Strip accents (NFD without marks); None follows ``lowercase``, as
        ``BertTokenizer`` does.

    Pickles as its vocabulary bytes; the Rust tokenizer is rebuilt on load.

    Examples
    --------
    >>> from albert_sk.wordpiece import WordPieceTokenizer
    >>> vocab = "[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\n北\\n京\\nab\\n##c\\n"
    >>> tok = WordPieceTokenizer(vocab.encode())
    >>> ids, starts, ends = tok.encode_with_offsets(["在北京 ABC"])[0]
    >>> ids.tolist(), starts.tolist(), ends.tolist()
    ([1, 5, 6, 7, 8], [0, 1, 2, 4, 6], [1, 2, 3, 6, 7])
    """

    FILE = "vocab.txt"

    def __init__(self, proto, *, lowercase=True, strip_accents=None):
        self.proto = bytes(proto)
        self.lowercase = bool(lowercase)
        self.strip_accents = (
            self.lowercase if strip_accents is None else bool(strip_accents)
        )
        self._tokens = read_vocab(self.proto)
        vocab = {}
        for i, token in enumerate(self._tokens):
            vocab[token] = i  # a repeated token keeps its last id, as in BERT
        missing = [t for t in SPECIAL_TOKENS.values() if t not in vocab]
        if missing:
            raise InputError(
                f"The WordPiece vocabulary lacks the special tokens {missing}. "
                "A BERT/ALBERT vocab.txt defines [PAD], [UNK], [CLS], [SEP] and "
                "[MASK]; use the checkpoint's own vocab.txt."
            )
        self.pad_id, self.unk_id = vocab["[PAD]"], vocab["[UNK]"]
        self.cls_id, self.sep_id = vocab["[CLS]"], vocab["[SEP]"]
        self.mask_id = vocab.get(MASK_TOKEN)
        self._vocab = vocab
        self._tok = self._build()

    def _build(self):
        from tokenizers import Tokenizer as RustTokenizer
        from tokenizers import models, normalizers, pre_tokenizers

        tok = RustTokenizer(
            models.WordPiece(
                dict(self._vocab),
                unk_token=SPECIAL_TOKENS["unk"],
                max_input_chars_per_word=MAX_WORD_CHARS,
                continuing_subword_prefix=CONTINUATION,
            )
        )
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True,
            handle_chinese_chars=True,
            strip_accents=self.strip_accents,
            lowercase=self.lowercase,
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return tok

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_tok", "_tokens")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._tokens = read_vocab(self.proto)
        self._tok = self._build()

    @property
    def vocab_size(self):
        """Lines of ``vocab.txt``: one embedding row per id."""
        return len(self._tokens)

    @property
    def word_boundary_id(self):
        """WordPiece has no bare word-boundary piece (-1 matches no id)."""
        return -1

    def word_starts(self):
        """Boolean array over the vocabulary: True where a piece starts a word."""
        return np.fromiter(
            (not t.startswith(CONTINUATION) for t in self._tokens),
            bool,
            len(self._tokens),
        )

    def id_to_piece(self, ids):
        return [self._tokens[int(i)] for i in ids]

    def encode(self, texts):
        """Token ids (no special tokens) for each text, one Rust batch call."""
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [e.ids for e in encodings]

    def encode_with_offsets(self, texts):
        """Ids plus ``[start, end)`` character offsets into the original texts.

        Returns a list of ``(ids, starts, ends)`` int arrays. A piece's span
        covers the characters it came from (``##`` pieces continue the word
        they belong to), never whitespace.
        """
        out = []
        for e in self._tok.encode_batch(list(texts), add_special_tokens=False):
            n = len(e.ids)
            ids = np.asarray(e.ids, dtype=np.int32)
            offsets = np.asarray(e.offsets, dtype=np.int64).reshape(n, 2)
            out.append((ids, offsets[:, 0].copy(), offsets[:, 1].copy()))
        return out


def read_tokenizer_json(data):
    """``(vocab.txt bytes, lowercase, strip_accents)`` of a WordPiece tokenizer.json.

    ``data`` is the parsed ``tokenizer.json`` of the ``tokenizers`` library, as
    ``BertTokenizerFast.save_pretrained`` writes it (most current hub uploads
    hold no ``vocab.txt``). Only what :class:`WordPieceTokenizer` computes is
    accepted: a ``WordPiece`` model with ``##`` continuations and ids 0 to
    n-1, BERT's normaliser (clean-up and CJK splitting on; lower-casing and
    accent stripping read from it) and pre-tokenizer. Anything else would
    give other ids, so it is refused.
    """
    model = data.get("model") or {}
    found = {
        "model": model.get("type"),
        "continuing_subword_prefix": model.get("continuing_subword_prefix"),
        "max_input_chars_per_word": model.get("max_input_chars_per_word"),
        "normalizer": (data.get("normalizer") or {}).get("type"),
        "pre_tokenizer": (data.get("pre_tokenizer") or {}).get("type"),
    }
    expected = {
        "model": "WordPiece",
        "continuing_subword_prefix": CONTINUATION,
        "max_input_chars_per_word": MAX_WORD_CHARS,
        "normalizer": "BertNormalizer",
        "pre_tokenizer": "BertPreTokenizer",
    }
    normalizer = data.get("normalizer") or {}
    for key in ("clean_text", "handle_chinese_chars"):
        found[f"normalizer.{key}"] = normalizer.get(key, True)
        expected[f"normalizer.{key}"] = True
    differ = {k: v for k, v in found.items() if v != expected[k]}
    if differ:
        raise InputError(
            f"tokenizer.json describes a tokenizer albert_sk does not reproduce: "
            f"expected BERT's WordPiece ({expected}), got {differ}. Add the "
            "checkpoint's vocab.txt (one token per line) beside it."
        )
    vocab = model.get("vocab") or {}
    ids = sorted(vocab.values())
    if ids != list(range(len(ids))):
        raise InputError(
            f"The WordPiece vocabulary of tokenizer.json has ids {ids[:3]}...{ids[-3:]}"
            f" for {len(ids)} tokens; expected each id from 0 to {len(ids) - 1} "
            "once. Use the checkpoint's vocab.txt."
        )
    tokens = sorted(vocab, key=vocab.get)
    bad = [t for t in tokens if "\n" in t or t.endswith("\r")]
    extra = [
        (t["content"], t["id"])
        for t in data.get("added_tokens") or ()
        if vocab.get(t["content"]) != t["id"]
    ]
    if bad or extra:
        raise InputError(
            f"tokenizer.json has tokens a vocab.txt cannot hold ({bad[:3]}) or "
            f"added tokens outside its WordPiece vocabulary ({extra[:3]}); "
            "expected a BERT WordPiece vocabulary. Use the checkpoint's vocab.txt."
        )
    lowercase = bool(normalizer.get("lowercase", True))
    proto = "".join(f"{t}\n" for t in tokens).encode("utf-8")
    return proto, lowercase, normalizer.get("strip_accents")


def is_wordpiece_json(path):
    """A ``tokenizer.json`` of the ``tokenizers`` library with a WordPiece model
    (keras-hub presets hold a ``tokenizer.json`` of another kind)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict) and (data.get("model") or {}).get("type") == "WordPiece"
    )


def wordpiece_file(path):
    """The WordPiece vocabulary file of a checkpoint directory, or None.

    ``vocab.txt``, else a WordPiece ``tokenizer.json``; None when the
    directory holds a ``spiece.model`` (a SentencePiece checkpoint) or neither.
    """
    import os

    if os.path.isfile(os.path.join(path, "spiece.model")):
        return None
    if os.path.isfile(os.path.join(path, "vocab.txt")):
        return "vocab.txt"
    if is_wordpiece_json(os.path.join(path, "tokenizer.json")):
        return "tokenizer.json"
    return None


def has_wordpiece_vocab(path):
    """A checkpoint directory with a ``vocab.txt`` or a WordPiece
    ``tokenizer.json``, and no ``spiece.model``."""
    return wordpiece_file(path) is not None
