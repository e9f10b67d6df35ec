"""Multi-device data parallel training: what the ``distribution`` parameter means.

* ``"auto"`` (the default): one device, as Keras places it.
* ``"data_parallel"``: every visible accelerator (every logical CPU when there
  is none) holds a replica; each batch is split between them and the
  gradients are averaged. On JAX this is ``keras.distribution.DataParallel``,
  on TensorFlow a ``tf.distribute.MirroredStrategy``.
* an explicit object with a ``scope()`` method: a ``keras.distribution``
  object (JAX backend) or a ``tf.distribute.Strategy`` (TensorFlow backend).
  It is used as given.

The model, its optimizer and the training loop are created inside the
scope. The string forms pickle and clone like any parameter; strategy objects
do not pickle, so prefer ``"data_parallel"`` for grid searches.
"""

import contextlib

import keras
import numpy as np

from albert_sk.exceptions import InputError


def _backend():
    return keras.backend.backend()


def _tf_devices(tf):
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def resolve(distribution, who="estimator"):
    """The backend object for ``distribution``, or None for one device."""
    if distribution is None or (
        isinstance(distribution, str) and distribution == "auto"
    ):
        return None
    backend = _backend()
    if isinstance(distribution, str):  # "data_parallel"; other strings fail earlier
        if backend == "jax":
            return keras.distribution.DataParallel()
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.distribute.MirroredStrategy(_tf_devices(tf))
        raise InputError(
            f"{who} got distribution={distribution!r}, which albert_sk supports "
            f"on the JAX and TensorFlow backends, but Keras runs on {backend!r}. "
            "Set KERAS_BACKEND=jax or tensorflow, or use distribution='auto'."
        )
    module = type(distribution).__module__
    is_keras = module.startswith("keras")
    if is_keras and backend != "jax":
        raise InputError(
            f"{who} got a keras.distribution object ({type(distribution).__name__}),"
            f" which Keras supports on the JAX backend, but Keras runs on "
            f"{backend!r}. Use distribution='data_parallel' (a MirroredStrategy on "
            "TensorFlow), or set KERAS_BACKEND=jax."
        )
    if module.startswith("tensorflow") and backend != "tensorflow":
        raise InputError(
            f"{who} got a tf.distribute strategy ({type(distribution).__name__}) "
            f"but Keras runs on {backend!r}. Use distribution='data_parallel' or "
            "a keras.distribution object."
        )
    return distribution


def scope(distribution, who="estimator"):
    """Context manager that places the variables and steps created inside it."""
    resolved = resolve(distribution, who)
    return contextlib.nullcontext() if resolved is None else resolved.scope()


def predict_on_batch(model, batch):
    """``model.predict_on_batch`` that also works for a model built in a strategy.

    A TensorFlow model created inside a ``tf.distribute`` strategy runs every
    ``predict_on_batch`` call on each replica with the whole batch, and
    concatenates the copies. ``predict`` splits the batch between replicas.
    """
    if getattr(model, "_distribute_strategy", None) is not None:
        rows = len(next(iter(batch.values())))
        return model.predict(batch, batch_size=max(rows, 1), verbose=0)
    if _backend() == "tensorflow":
        return _tf_predict_function(model, batch)(batch)
    return model.predict_on_batch(batch)


def _tf_predict_function(model, batch):
    """``model``'s forward pass as one ``tf.function`` for every batch shape.

    Keras's ``predict_on_batch`` retraces its function for each new
    ``(rows, length)`` shape (0.3 s each for a tiny model), and a prediction
    plan has one shape per length bucket. Here the inputs are declared
    ``(None, None)``: one trace per model, with the model's ``jit_compile``.
    """
    function = model.__dict__.get("_albert_sk_predict")
    if function is None:
        import tensorflow as tf

        spec = {
            name: tf.TensorSpec((None, None), tf.as_dtype(np.asarray(v).dtype), name)
            for name, v in batch.items()
        }
        function = tf.function(
            lambda inputs: model(inputs, training=False),
            input_signature=[spec],
            jit_compile=bool(getattr(model, "jit_compile", False)),
        )
        # Set past Keras's attribute tracking: not a layer, weight or config.
        object.__setattr__(model, "_albert_sk_predict", function)
    return function


def _batch_devices():
    """Devices the current strategy or distribution splits a batch over (1: none)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.distribute.has_strategy():
            return 1
        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    if keras.backend.backend() != "jax":
        return 1
    current = keras.distribution.distribution()
    if current is None:
        return 1
    mesh = current.device_mesh
    name = getattr(current, "batch_dim_name", None)
    if name in mesh.axis_names:
        return int(mesh.shape[mesh.axis_names.index(name)])
    return 1


def needs_one_length():
    """True inside a TensorFlow strategy with more than one replica.

    There every batch is padded to one length: the replicas' sparse
    embedding gradients are gathered with collective ops that need equal
    shapes on every step, and length buckets would hand them different ones.
    """
    return keras.backend.backend() == "tensorflow" and _batch_devices() > 1


def even_batches(batches):
    """Batches whose row count divides evenly between the devices.

    JAX shards every batch over the devices of the batch axis and needs the
    row count to be a multiple of their number, and TensorFlow's collective
    ops need equal shapes on every replica (sparse embedding gradients);
    length bucketing leaves smaller batches. Those get copies of their last
    row with sample weight 0, and the real rows' weights are scaled by
    ``padded / real`` rows, so the batch loss (a sum over the padded batch
    size) equals the unpadded batch's mean: nothing is dropped and nothing
    changes. Outside a multi-device scope, ``batches`` is returned as is.
    """
    n = _batch_devices()
    return batches if n == 1 else _EvenBatches(batches, n)


def _pad(value, pad):
    return np.concatenate([value, np.repeat(value[-1:], pad, axis=0)])


class _EvenBatches(keras.utils.PyDataset):
    def __init__(self, inner, n):
        super().__init__()
        self.inner, self.n = inner, n

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        x, y, *weights = self.inner[i]
        rows = len(keras.tree.flatten(x)[0])
        # Every batch carries weights: TensorFlow fixes the batch structure.
        w = np.asarray(weights[0] if weights else np.ones(rows), dtype="float32")
        pad = -rows % self.n
        if not pad:
            return x, y, w
        x = keras.tree.map_structure(lambda v: _pad(v, pad), x)
        y = keras.tree.map_structure(lambda v: _pad(v, pad), y)
        w = np.concatenate([w * ((rows + pad) / rows), np.zeros(pad, "float32")])
        return x, y, w

    def on_epoch_end(self):
        self.inner.on_epoch_end()
