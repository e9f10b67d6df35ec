"""Keras training and inference utilities the estimators share.

The warmup-then-decay learning-rate schedule, seeding a fit without touching
the caller's global random state, and running a model over planned batches.
"""

import contextlib
import random

import keras
import numpy as np

from albert_sk import distribute

# Variables without weight decay: biases and normalisation scales/offsets.
NORM_LAYER_NAMES = ["bias", "gamma", "beta", "layer_norm", "layernorm"]


@keras.saving.register_keras_serializable(package="albert_sk")
class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak`` over ``warmup_steps``, then decay to 0."""

    def __init__(self, peak, warmup_steps, total_steps):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warmup = keras.ops.cast(max(self.warmup_steps, 1), "float32")
        decay = keras.ops.cast(max(self.total_steps - self.warmup_steps, 1), "float32")
        rising = self.peak * (step + 1.0) / warmup
        falling = self.peak * keras.ops.maximum(0.0, (self.total_steps - step) / decay)
        return keras.ops.where(step < self.warmup_steps, rising, falling)

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }


@contextlib.contextmanager
def seeded(seed):
    """Seed Keras' random streams with ``seed`` for a fit, leaving the caller's
    Python ``random`` and NumPy global states as they were.

    ``keras.utils.set_random_seed`` seeds Python, NumPy, the backend (the
    TensorFlow global seed, ``torch.manual_seed``) and Keras' own seed
    generator; Keras then draws initializer seeds from Python's ``random``.
    Both of those global states are restored on exit, so a fit neither
    reseeds nor advances the user's random numbers. The backend's global seed
    stays set, as with any Keras code that calls ``set_random_seed``.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        keras.utils.set_random_seed(int(seed))
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def fresh_seed():
    """A seed from the operating system's entropy (no global state touched)."""
    return int(np.random.SeedSequence().entropy % 2**32)


@keras.saving.register_keras_serializable(package="albert_sk")
class AdamW(keras.optimizers.AdamW):
    """Keras' AdamW that skips, without a warning, the variables that get no
    gradient by design: those whose path holds one of ``no_gradient`` (the
    pooler, when the head reads the token vectors). Any other variable
    without a gradient still gets Keras' warning.

    On TensorFlow, an embedding's sparse gradient is made dense first (see
    ``_backend_apply_gradients``), and without a distribution strategy the
    update is fused (see ``_fused``): Keras' numbers from a train step of
    2,074 ops instead of 3,327 (the tiny backbone)."""

    def __init__(self, *args, no_gradient=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.no_gradient = list(no_gradient)

    def _filter_empty_gradients(self, grads, variables):
        kept = [
            (g, v)
            for g, v in zip(grads, variables, strict=True)
            if g is not None or not any(p in v.path for p in self.no_gradient)
        ]
        grads, variables = ([g for g, _ in kept], [v for _, v in kept])
        return super()._filter_empty_gradients(grads, variables)

    def get_config(self):
        return {**super().get_config(), "no_gradient": self.no_gradient}

    def _backend_apply_gradients(self, grads, trainable_variables):
        # An embedding's gradient comes as IndexedSlices, one slice per token
        # occurrence. Keras' Adam squares the slices one by one, so a token
        # seen k times gets v from k squares instead of the square of their
        # sum: a first step sqrt(k) times the learning rate where Adam's is
        # the learning rate. Dense, it is Adam's update (as on JAX/PyTorch).
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            grads = [
                tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                for g in grads
            ]
        return super()._backend_apply_gradients(grads, trainable_variables)

    # --- TensorFlow without a distribution strategy: the same updates in a
    # third of the graph. Keras builds clipping, weight decay and Adam from
    # ~65 small ops per variable and recomputes the step's scalars for each;
    # tracing them was half the time of a small fit. Here the scalars are
    # computed once and Adam is TensorFlow's fused ResourceApplyAdam kernel
    # (Keras' formula: m, v, then lr*sqrt(1-b2^t)/(1-b1^t)*m/(sqrt(v)+eps)).
    # Under a strategy (updates must go through it), other backends or
    # amsgrad, Keras' own code runs.

    def _fused(self):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return False
        import tensorflow as tf

        return not tf.distribute.has_strategy()

    def _clip_gradients(self, grads):
        if not (self.clipnorm and self.clipnorm > 0) or not self._fused():
            return super()._clip_gradients(grads)
        import tensorflow as tf

        def clip(g):
            # Keras' clipnorm: g * c / max(||g||, c), each gradient on its own.
            return g * self.clipnorm / tf.maximum(tf.norm(g), self.clipnorm)

        return [g if g is None else clip(g) for g in grads]

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None or not self._fused():
            return super()._apply_weight_decay(variables)
        import tensorflow as tf

        decay = tf.cast(self.learning_rate, "float32") * self.weight_decay
        for variable in variables:
            # Keras asks about the TensorFlow variable (its name is the path).
            value = _tf_variable(variable)
            if self._use_weight_decay(value):
                value.assign_sub(value * tf.cast(decay, value.dtype))

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not self._fused():
            return super()._backend_update_step(
                grads, trainable_variables, learning_rate
            )
        import tensorflow as tf

        step = tf.cast(self.iterations + 1, "float32")
        scalars = {
            "lr": tf.cast(learning_rate, "float32"),
            "beta1_power": tf.pow(tf.constant(self.beta_1, "float32"), step),
            "beta2_power": tf.pow(tf.constant(self.beta_2, "float32"), step),
            "beta1": tf.constant(self.beta_1, "float32"),
            "beta2": tf.constant(self.beta_2, "float32"),
            "epsilon": tf.constant(self.epsilon, "float32"),
        }
        for grad, variable in zip(grads, trainable_variables, strict=True):
            index = self._get_variable_index(variable)
            value = _tf_variable(variable)
            dtype = value.dtype
            tf.raw_ops.ResourceApplyAdam(
                var=value.handle,
                m=self._momentums[index].value.handle,
                v=self._velocities[index].value.handle,
                grad=tf.cast(grad, dtype),
                **{k: tf.cast(t, dtype) for k, t in scalars.items()},
            )


def _tf_variable(variable):
    """The TensorFlow variable under a Keras one (a TensorFlow one as is)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def build_optimizer(model):
    """Create the compiled optimizer's variables now, not inside ``fit``.

    Keras on TensorFlow without a distribution strategy leaves them to the
    first trace of the train step, and a ``tf.function`` that creates
    variables is traced twice: half the time of a small fit. Under a
    strategy Keras builds them in its scope itself.
    """
    optimizer = model.optimizer
    if keras.backend.backend() != "tensorflow" or optimizer.built:
        return
    if getattr(model, "_distribute_strategy", None) is not None:
        return
    optimizer.build(model.trainable_variables)


def continue_training(model, peak, steps, loss, metrics):
    """Recompile ``model`` keeping its trained optimizer (``warm_start``).

    The optimizer's moments and step count carry over; the learning rate
    does not warm up again: it starts at ``peak`` and decays linearly to 0
    over ``steps`` more steps. Returns False (nothing done) when the model
    has no built optimizer, as after ``load``, which reads weights only.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not optimizer.built:
        return False
    done = int(keras.ops.convert_to_numpy(optimizer.iterations))
    # Warmup "ends" at the current step: the schedule peaks at the first new
    # step and reaches 0 after ``steps`` more.
    optimizer.learning_rate = LinearWarmupDecay(peak, done, done + steps)
    model.compile(
        optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=model.jit_compile
    )
    return True


def predict_rows(model, encoded, index, padded, *, verbose=0):
    """``model``'s outputs for every row of ``encoded``, in row order.

    ``index``/``padded`` are the batch plan (:func:`~albert_sk.batching.make_batches`).
    Outputs with a token axis come back as a list of per-row arrays cut to
    each row's length; the others as one array.
    """
    progress = keras.utils.Progbar(len(encoded)) if verbose else None
    result = None
    for rows, length in zip(index, padded, strict=False):
        out = distribute.predict_on_batch(model, encoded.batch(rows, length))
        out = keras.tree.map_structure(np.asarray, out)
        if result is None:
            # Object arrays are leaves for keras.tree: one cell per row.
            result = keras.tree.map_structure(
                lambda o: (
                    np.empty(len(encoded), dtype=object)
                    if o.ndim >= 3
                    else np.empty((len(encoded),) + o.shape[1:], dtype=o.dtype)
                ),
                out,
            )
        for target, values in zip(
            keras.tree.flatten(result), keras.tree.flatten(out), strict=False
        ):
            if target.dtype == object:
                for j, row in enumerate(rows):
                    target[row] = values[j, : encoded.lengths[row]]
            else:
                target[rows] = values
        if progress is not None:
            progress.add(len(rows))
    return keras.tree.map_structure(
        lambda r: list(r) if r.dtype == object else r, result
    )
