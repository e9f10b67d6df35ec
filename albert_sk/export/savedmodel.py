"""A TensorFlow SavedModel that takes raw strings: the tokenizer is inside.

:func:`export_classifier` (``AlbertClassifier.export_serving``) writes a
SavedModel whose ``serve`` signature takes a 1-D ``tf.string`` tensor of raw
texts and returns the probabilities ``predict_proba`` returns, in
``classes_`` order. In the graph, the texts are normalised as
:func:`albert_sk.text.normalize` does it (TensorFlow string ops and
``tensorflow_text.normalize_utf8``), tokenised by SentencePiece
(``tensorflow_text.SentencepieceTokenizer`` on the estimator's own
``spiece.model``), packed as ``[CLS] text [SEP]`` (``[CLS] a [SEP] b [SEP]``
for pairs), cut to ``max_length`` tokens as ``predict`` cuts them, and
padded with a padding mask. A second signature, ``count_tokens``, says how
many tokens each text has and whether it was cut, so nothing is cut
unseen (``predict`` warns; a graph cannot).

Differences from the Python tokenisation, measured over every code point by
``tests/test_serving_export.py``: about 200 characters that Unicode added
in its versions 14 and 15 (Vithkuqi letters, a few Latin and Glagolitic
capitals, new combining marks) fold differently, because Python and
TensorFlow ship different Unicode tables. Every character of the scripts in
common use (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, CJK,
Hangul, fullwidth forms, emoji) folds the same, so their texts get the same
tokens.

Loading the SavedModel needs the ``tensorflow_text`` ops:
``import tensorflow_text`` before ``tf.saved_model.load``. Needs the
TensorFlow backend (``KERAS_BACKEND=tensorflow``, the default).
"""

import json
import os

from albert_sk._version import __version__
from albert_sk.exceptions import AlbertSkError, InputError

# Unicode White_Space without U+001C..U+001F: what albert_sk.text collapses.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
INFO_FILE = "albert_sk_serving.json"
MARKER = "saved_model.pb"


def _char_class(chars):
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def normalize(texts, *, lowercase=True, strip_accents=True):
    """:func:`albert_sk.text.normalize` as TensorFlow ops on a string tensor.

    Whitespace runs become one space and the ends are stripped; two
    backquotes or two apostrophes become ``"``; with ``strip_accents``, NFKD
    without the combining marks (Unicode category ``M``); with
    ``lowercase``, lower case. These steps run on the raw text in this
    order, as Python's does per character, so a character that folds into
    whitespace or a quote (``"¨"``, a fullwidth apostrophe) is left to
    SentencePiece's own normalisation in both.

    Examples
    --------
    Needs TensorFlow and ``tensorflow_text``:

    >>> import tensorflow as tf
    >>> from albert_sk import text
    >>> from albert_sk.export.savedmodel import normalize
    >>> texts = ["  Ça   VA\\tbien  ", "``Déjà vu''"]
    >>> [t.decode() for t in normalize(tf.constant(texts)).numpy()]
    ['ca va bien', '"deja vu"']
    >>> [text.normalize(t)[0] for t in texts]  # the same as in Python
    ['ca va bien', '"deja vu"']
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    texts = tf.strings.regex_replace(texts, _char_class(WHITESPACE) + "+", " ")
    texts = tf.strings.regex_replace(texts, "^ | $", "")
    texts = tf.strings.regex_replace(texts, "``|''", '"')
    if strip_accents:
        texts = tf_text.normalize_utf8(texts, "NFKD")
        texts = tf.strings.regex_replace(texts, r"\p{M}", "")
    if lowercase:  # per char, as Python's; tf.strings.lower cuts at a NUL
        chars = tf.strings.unicode_split(texts, "UTF-8")
        lowered = tf.ragged.map_flat_values(_lower_chars, chars)
        texts = tf.strings.reduce_join(lowered, axis=-1)
    return texts


def _lower_chars(chars):
    import tensorflow as tf

    return tf.where(chars == "\x00", chars, tf.strings.lower(chars, encoding="utf-8"))


def _pair_lengths(la, lb, budget):
    """Kept lengths of each pair, as ``albert_sk.text`` truncates them:
    the longer side down to the shorter one, then both (the first text
    keeps the odd token)."""
    import tensorflow as tf

    excess = la + lb - budget
    trim_longer = excess <= tf.abs(la - lb)
    a_longer = la > lb
    a_cut = tf.where(a_longer, la - excess, la)
    b_cut = tf.where(a_longer, lb, lb - excess)
    half_a, half_b = budget - budget // 2, budget // 2
    new_a = tf.where(excess <= 0, la, tf.where(trim_longer, a_cut, half_a))
    new_b = tf.where(excess <= 0, lb, tf.where(trim_longer, b_cut, half_b))
    return new_a, new_b


def _cut(ids, keep):
    """Row ``i`` of the ragged ``ids`` cut to its first ``keep[i]`` ids."""
    import tensorflow as tf

    starts = ids.row_starts()
    index = tf.ragged.range(starts, starts + keep).flat_values
    return tf.RaggedTensor.from_row_lengths(tf.gather(ids.values, index), keep)


class _Packer:
    """Raw strings -> the model's three integer inputs, in TensorFlow ops."""

    def __init__(self, estimator):
        import tensorflow_text as tf_text

        tok = estimator.tokenizer_
        if tok.FILE != "spiece.model":
            raise InputError(
                "export_serving tokenises with SentencePiece inside the graph, but "
                "this model has a WordPiece vocabulary (vocab.txt, from a "
                "checkpoint that ships one). Serve it with `albert-sk serve` or "
                "predict, or export it with export_hf."
            )
        self.sentencepiece = tf_text.SentencepieceTokenizer(
            model=tok.proto, out_type="int32"
        )
        self.lowercase, self.strip_accents = tok.lowercase, tok.strip_accents
        self.cls_id, self.sep_id, self.pad_id = tok.cls_id, tok.sep_id, tok.pad_id
        self.max_length = int(estimator.max_length)

    def ids(self, texts):
        normalized = normalize(
            texts, lowercase=self.lowercase, strip_accents=self.strip_accents
        )
        return self.sentencepiece.tokenize(normalized)

    def pack(self, texts, pairs=None):
        """``(inputs, n_tokens)``: model inputs and each row's uncut length."""
        import tensorflow as tf

        a = self.ids(texts)
        n = tf.shape(texts)[0]
        cls = tf.fill([n, 1], self.cls_id)
        sep = tf.fill([n, 1], self.sep_id)
        la = a.row_lengths()
        if pairs is None:
            kept = a[:, : self.max_length - 2]
            rows = tf.concat([cls, kept, sep], axis=1)
            segments = tf.zeros_like(rows)
            n_tokens = la + 2
        else:
            b = self.ids(pairs)
            lb = b.row_lengths()
            keep_a, keep_b = _pair_lengths(la, lb, self.max_length - 3)
            a, b = _cut(a, keep_a), _cut(b, keep_b)
            rows = tf.concat([cls, a, sep, b, sep], axis=1)
            segments = tf.concat(
                [
                    tf.zeros_like(tf.concat([cls, a, sep], axis=1)),
                    tf.ones_like(tf.concat([b, sep], axis=1)),
                ],
                axis=1,
            )
            n_tokens = la + lb + 3
        token_ids = rows.to_tensor(default_value=self.pad_id)
        mask = tf.sequence_mask(rows.row_lengths(), maxlen=tf.shape(token_ids)[1])
        inputs = {
            "token_ids": token_ids,
            "segment_ids": segments.to_tensor(default_value=0),
            "padding_mask": mask,
        }
        return inputs, tf.cast(n_tokens, "int32")


def _check_backend(who):
    import keras

    if keras.backend.backend() != "tensorflow":
        raise AlbertSkError(
            f"{who}.export_serving writes a TensorFlow SavedModel and needs the "
            f"TensorFlow backend, but Keras runs on {keras.backend.backend()!r}. "
            "Save the model (est.save(path)), then load it and export it in a "
            "process started with KERAS_BACKEND=tensorflow."
        )


def export_classifier(estimator, path):
    """Write ``estimator``'s SavedModel to the folder ``path``, atomically.

    See :meth:`albert_sk.AlbertClassifier.export_serving`, which calls it.
    Returns the absolute path of the folder.

    Examples
    --------
    With ``clf`` fitted as in the class example of
    :class:`~albert_sk.AlbertClassifier` (skipped in the test suite:
    exporting and loading a SavedModel takes tens of seconds;
    ``tests/test_serving_export.py`` checks it):

    >>> import os, tempfile
    >>> import tensorflow as tf
    >>> import tensorflow_text  # registers the SentencePiece ops
    >>> from albert_sk.export.savedmodel import export_classifier
    >>> with tempfile.TemporaryDirectory() as folder:  # doctest: +SKIP
    ...     path = export_classifier(clf, os.path.join(folder, "served"))
    ...     print(sorted(tf.saved_model.load(path).signatures))
    ['count_tokens', 'serve']
    """
    import keras
    import tensorflow as tf

    from albert_sk._files import atomic_directory

    who = type(estimator).__name__
    estimator._check_is_fitted()
    _check_backend(who)
    packer = _Packer(estimator)
    model = estimator.model_
    multilabel = bool(estimator.multilabel_)
    pairs = bool(getattr(estimator, "pairs_", False))
    max_length = packer.max_length

    def probabilities(inputs):
        logits = tf.cast(model(inputs, training=False), "float32")
        return tf.sigmoid(logits) if multilabel else tf.nn.softmax(logits, axis=-1)

    def counts(n_tokens):
        return {"n_tokens": n_tokens, "truncated": n_tokens > max_length}

    text_spec = tf.TensorSpec([None], tf.string, name="texts")
    pair_spec = tf.TensorSpec([None], tf.string, name="text_pairs")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(packer.sentencepiece)
    if pairs:
        archive.add_endpoint(
            "serve",
            lambda texts, text_pairs: probabilities(packer.pack(texts, text_pairs)[0]),
            input_signature=[text_spec, pair_spec],
        )
        archive.add_endpoint(
            "count_tokens",
            lambda texts, text_pairs: counts(packer.pack(texts, text_pairs)[1]),
            input_signature=[text_spec, pair_spec],
        )
    else:
        archive.add_endpoint(
            "serve",
            lambda texts: probabilities(packer.pack(texts)[0]),
            input_signature=[text_spec],
        )
        archive.add_endpoint(
            "count_tokens",
            lambda texts: counts(packer.pack(texts)[1]),
            input_signature=[text_spec],
        )
    info = {
        "estimator": who,
        "albert_sk_version": __version__,
        "classes": [_plain(c) for c in estimator.classes_.tolist()],
        "multilabel": multilabel,
        "text_pairs": pairs,
        "max_length": max_length,
        "lowercase": packer.lowercase,
        "strip_accents": packer.strip_accents,
        "signatures": {
            "serve": "probabilities (n, n_classes) in classes order",
            "count_tokens": "n_tokens (uncut, special tokens included), truncated",
        },
    }
    with atomic_directory(path, marker=MARKER) as folder:
        archive.write_out(folder, verbose=False)
        with open(os.path.join(folder, INFO_FILE), "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=1, ensure_ascii=False)
    return os.path.abspath(os.fspath(path))


def _plain(value):
    return value if isinstance(value, (str, int, float, bool)) else str(value)
