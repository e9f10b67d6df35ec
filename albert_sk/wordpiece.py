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
Extensions F to I. No Keras here.
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


def has_wordpiece_vocab(path):
    """A checkpoint directory with a ``vocab.txt`` and no ``spiece.model``."""
    import os

    return os.path.isfile(os.path.join(path, "vocab.txt")) and not os.path.isfile(
        os.path.join(path, "spiece.model")
    )
