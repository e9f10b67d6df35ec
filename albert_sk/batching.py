"""Encoded rows, length buckets, batch plans, and how ``Model.fit`` reads them.

:class:`Encoded` stores ragged token rows flat, with the task fields that
travel with them (the input row of each window, per-token maps back to
words) declared, so :meth:`Encoded.subset` keeps them. :func:`bucket_sizes`
and :func:`make_batches` plan padded batches of similar length;
:func:`training_batches` serves them to ``fit`` as a Keras ``PyDataset`` and
:func:`fit_input` in the backend's fastest form.

Keras is imported only by the fit stream (:func:`training_batches`,
:func:`fit_input`), so the numpy layers above (text, windows, masking) stay
importable without it.
"""

import functools
import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np

from albert_sk.exceptions import DataLossWarning, first_rows, user_stacklevel


def exclusive_cumsum(values):
    """``[0, v0, v0 + v1, ...]``: where each of rows of lengths ``values`` starts,
    and the total last."""
    out = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=out[1:])
    return out


def ragged_positions(lengths):
    """``(row, position)`` of every element of rows of ``lengths``, flat.

    Examples
    --------
    >>> [a.tolist() for a in ragged_positions([2, 0, 3])]
    [[0, 0, 2, 2, 2], [0, 1, 0, 1, 2]]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    return rows, np.arange(int(lengths.sum())) - exclusive_cumsum(lengths)[:-1][rows]


@dataclass
class Encoded:
    """Ragged token rows stored flat, ready to be cut into padded batches.

    ``source_rows`` maps each row to the input row it came from (a long
    input gives several windows); ``token_fields`` holds arrays with one
    value per token, in the layout of ``token_ids`` (for example the word
    each token belongs to). :meth:`subset` keeps both.
    """

    token_ids: np.ndarray  # int32, all rows concatenated
    segment_ids: np.ndarray  # int32, same layout
    starts: np.ndarray  # int64, row i is [starts[i], starts[i] + lengths[i])
    lengths: np.ndarray  # int64
    pad_id: int = 0
    source_rows: np.ndarray | None = None  # int64, one per row
    token_fields: dict = field(default_factory=dict)  # name -> one value per token

    @classmethod
    def from_rows(cls, rows, segments, *, pad_id=0):
        lengths = np.fromiter((len(r) for r in rows), np.int64, len(rows))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        total = int(lengths.sum())
        chain = itertools.chain.from_iterable
        flat = np.fromiter(chain(rows), np.int32, total)
        seg = np.fromiter(chain(segments), np.int32, total)
        return cls(flat, seg, starts, lengths, pad_id)

    def __len__(self):
        return len(self.lengths)

    def row(self, i):
        s = self.starts[i]
        return self.token_ids[s : s + self.lengths[i]]

    def token_rows(self):
        """The row of every token, in the layout of ``token_ids``."""
        return np.repeat(np.arange(len(self)), self.lengths)

    def subset(self, index):
        """Rows ``index`` (in that order) with their source rows and token fields."""
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        row, pos = ragged_positions(lengths)
        take = self.starts[index][row] + pos
        return Encoded(
            self.token_ids[take],
            self.segment_ids[take],
            exclusive_cumsum(lengths)[:-1],
            lengths,
            self.pad_id,
            None if self.source_rows is None else self.source_rows[index],
            {name: values[take] for name, values in self.token_fields.items()},
        )

    def batch(self, index, length):
        """Padded ``token_ids``/``segment_ids``/``padding_mask`` for rows ``index``."""
        n = len(index)
        token_ids = np.full((n, length), self.pad_id, dtype=np.int32)
        segment_ids = np.zeros((n, length), dtype=np.int32)
        for j, i in enumerate(index):
            s, m = self.starts[i], self.lengths[i]
            token_ids[j, :m] = self.token_ids[s : s + m]
            segment_ids[j, :m] = self.segment_ids[s : s + m]
        padding_mask = (
            np.arange(length)[None, :] < self.lengths[index][:, None]
        ).astype(np.int32)
        return {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        }


class TokenTargets:
    """Per-token training targets stored flat like :class:`Encoded` (a tagger's).

    ``batch`` pads them to the batch length with -1, the class the loss ignores
    (special tokens, padding, and word pieces after the first).
    """

    def __init__(self, labels, starts, lengths):
        self.labels, self.starts, self.lengths = labels, starts, lengths

    def __len__(self):
        return len(self.lengths)

    def batch(self, index, length):
        out = np.full((len(index), length), -1, dtype=np.int32)
        for j, i in enumerate(index):
            s, m = self.starts[i], self.lengths[i]
            out[j, :m] = self.labels[s : s + m]
        return out

    def subset(self, rows):
        parts = [
            self.labels[self.starts[i] : self.starts[i] + self.lengths[i]] for i in rows
        ]
        lengths = self.lengths[rows]
        flat = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        return TokenTargets(flat, exclusive_cumsum(lengths)[:-1], lengths)


def bucket_sizes(max_length, smallest=16, step=None):
    """Padded lengths used for batches, ending at ``max_length``.

    Powers of two from ``smallest`` (few shapes: each one is an XLA compile
    under ``jit_compile``), or with ``step`` every multiple of ``step`` (less
    padding where shapes cost nothing, as in a TensorFlow graph on CPU).

    Examples
    --------
    >>> bucket_sizes(100).tolist()
    [16, 32, 64, 100]
    >>> bucket_sizes(40, step=8).tolist()
    [8, 16, 24, 32, 40]
    """
    if step is not None:
        sizes = list(range(step, max_length, step)) + [max_length]
        return np.asarray(sizes, dtype=np.int64)
    sizes, size = [], smallest
    while size < max_length:
        sizes.append(size)
        size *= 2
    sizes.append(max_length)
    return np.asarray(sizes, dtype=np.int64)


def make_batches(lengths, batch_size, buckets, rng=None, pool=50, max_tokens=None):
    """Group rows of similar length into batches.

    Returns ``(index arrays, padded length of each)``. With ``rng`` the rows are
    shuffled, sorted by length only inside pools of ``pool`` batches, and the
    batch order is shuffled, so each epoch sees a new order. Without ``rng``
    (prediction) rows are sorted by length; there ``max_tokens`` lets batches of
    short rows hold more than ``batch_size`` rows, up to ``max_tokens`` padded
    tokens (bigger matrix products, same memory as a full-length batch).
    """
    lengths = np.asarray(lengths)
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = rng.permutation(n)
        chunk = batch_size * pool
        order = (
            np.concatenate(
                [
                    order[s : s + chunk][
                        np.argsort(lengths[order[s : s + chunk]], kind="stable")
                    ]
                    for s in range(0, n, chunk)
                ]
            )
            if n
            else order
        )
    if rng is None and max_tokens and n:
        bucket_of = buckets[np.searchsorted(buckets, lengths[order])]
        batches = []
        for size in np.unique(bucket_of):  # sorted rows: each bucket is a run
            group = order[bucket_of == size]
            rows = max(batch_size, int(max_tokens // size))
            batches += [group[s : s + rows] for s in range(0, len(group), rows)]
    else:
        batches = [order[s : s + batch_size] for s in range(0, n, batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    padded = [int(buckets[np.searchsorted(buckets, lengths[b].max())]) for b in batches]
    return batches, padded


def split_rows(n, test_size, seed, stratify=None):
    """Train and validation row indexes of ``n`` rows (``validation_split``).

    Stratified on ``stratify`` when given; when a class is too rare to keep
    the proportions, the split is random instead, with a
    :class:`~albert_sk.exceptions.DataLossWarning` that names those rows.
    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(n)
    try:
        return train_test_split(
            rows, test_size=test_size, random_state=seed, stratify=stratify
        )
    except ValueError as err:  # a class too rare to stratify on
        if stratify is None:
            raise
        _, inverse, counts = np.unique(
            stratify, return_inverse=True, return_counts=True
        )
        alone = np.flatnonzero(counts[inverse] < 2)
        rare = (
            f"; {len(alone)} rows hold a class no other row has (rows "
            f"{first_rows(alone)})"
            if len(alone)
            else ""
        )
        warnings.warn(
            f"validation_split={test_size} could not keep the class proportions "
            f"of y ({err}){rare}. The split is random instead, so the validation "
            "part may lack some classes. Give each class at least 2 rows, raise "
            "validation_split, or pass validation_data.",
            DataLossWarning,
            stacklevel=user_stacklevel(),
        )
        return train_test_split(rows, test_size=test_size, random_state=seed)


# === The fit stream (Keras) ===


def training_batches(encoded, targets, weights, *, batch_size, buckets, rng=None):
    """Length-bucketed, padded batches of ``encoded`` as a Keras ``PyDataset``.

    ``targets`` is an array indexed by row, or an object whose
    ``batch(index, length)`` pads per-token targets to the batch length.
    With ``rng`` set (training) the batch plan is reshuffled every epoch.
    """
    return _batches_class()(
        encoded, targets, weights, batch_size=batch_size, buckets=buckets, rng=rng
    )


@functools.cache
def _batches_class():
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self, encoded, targets, weights, *, batch_size, buckets, rng):
            super().__init__()
            self.encoded, self.targets, self.weights = encoded, targets, weights
            self.batch_size, self.buckets, self.rng = batch_size, buckets, rng
            self._plan()

        def _plan(self):
            self.index, self.padded = make_batches(
                self.encoded.lengths, self.batch_size, self.buckets, self.rng
            )
            # Where Keras wraps a PyDataset itself (not on TensorFlow: see
            # fit_input) it reads the tensor spec off the first two batches:
            # give them different padded lengths (when there are any) so the
            # sequence axis stays free instead of being fixed to the first
            # bucket.
            if len(set(self.padded)) > 1 and self.padded[0] == self.padded[1]:
                j = next(k for k, p in enumerate(self.padded) if p != self.padded[0])
                for plan in (self.index, self.padded):
                    plan[1], plan[j] = plan[j], plan[1]

        def __len__(self):
            return len(self.index)

        def __getitem__(self, i):
            index, length = self.index[i], self.padded[i]
            x = self.encoded.batch(index, length)
            if hasattr(self.targets, "batch"):
                y = self.targets.batch(index, length)
            else:
                y = self.targets[index]
            if self.weights is None:
                return x, y
            return x, y, self.weights[index]

        def on_epoch_end(self):
            if self.rng is not None:
                self._plan()

    return Batches


def fit_input(batches):
    """What ``Model.fit`` reads for the :class:`keras.utils.PyDataset` ``batches``.

    On TensorFlow, Keras wraps a PyDataset in ``tf.data`` with an autotuned
    prefetch. On 2 CPU cores its background threads halved the training
    throughput in about half of the epochs (benchmarks/README.md), so there
    the batches go through a plain ``tf.data`` generator instead: one batch
    prefetched, no autotuning, every axis free (one traced step serves all
    batch shapes), and ``on_epoch_begin`` / ``on_epoch_end`` called around
    each epoch's batches, as Keras does for a PyDataset. The tensor spec is
    read off ``batches[0]`` before the first ``on_epoch_begin``. Other
    backends read ``batches`` as is.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf

    def spec(value):
        value = np.asarray(value)
        return tf.TensorSpec([None] * value.ndim, tf.as_dtype(value.dtype))

    def generate():
        batches.on_epoch_begin()
        for i in range(len(batches)):
            yield batches[i]
        batches.on_epoch_end()

    signature = keras.tree.map_structure(spec, batches[0])
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))
    return dataset.with_options(options).prefetch(1)
