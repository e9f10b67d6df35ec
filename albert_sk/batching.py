"""Training batches and how ``Model.fit`` reads them.

:class:`Batches` pads length-bucketed batches of an encoded dataset;
:func:`fit_input` hands them to ``fit`` in the backend's fastest form.
"""

import keras
import numpy as np

from albert_sk.text import make_batches


class Batches(keras.utils.PyDataset):
    """Length-bucketed, padded batches of an :class:`~albert_sk.text.Encoded`.

    ``targets`` is an array indexed by row, or an object whose
    ``batch(index, length)`` pads per-token targets to the batch length.
    With ``rng`` set (training) the batch plan is reshuffled every epoch.
    """

    def __init__(self, encoded, targets, weights, *, batch_size, buckets, rng=None):
        super().__init__()
        self.encoded, self.targets, self.weights = encoded, targets, weights
        self.batch_size, self.buckets, self.rng = batch_size, buckets, rng
        self._plan()

    def _plan(self):
        self.index, self.padded = make_batches(
            self.encoded.lengths, self.batch_size, self.buckets, self.rng
        )
        # Where Keras wraps a PyDataset itself (not on TensorFlow: see
        # fit_input) it reads the tensor spec off the first two batches: give
        # them different padded lengths (when there are any) so the sequence
        # axis stays free instead of being fixed to the first bucket.
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
