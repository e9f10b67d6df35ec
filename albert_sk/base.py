"""``AlbertEstimator``: what every albert_sk estimator shares.

``fit`` is a chain of small steps that task subclasses override::

    fit -> _check_X / _check_y -> _initialize (backbone, tokenizer)
        -> _encode -> _build_model (_build_head) -> _compile -> _fit_loop

and prediction is ``_check_X -> _encode -> _run_model -> _decode``.
"""

import json
import math
import os
import tempfile
import warnings
import zipfile
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from albert_sk import __version__, backbones, convergence, distribute, heads, model_file
from albert_sk.batching import Batches, fit_input
from albert_sk.exceptions import (
    InputError,
    ModelFileError,
    NotFittedError,
)
from albert_sk.io import atomic_write, check_texts
from albert_sk.text import MIN_VOCAB_SIZE, Tokenizer, bucket_sizes, make_batches

MODEL_FORMAT = model_file.FORMAT
MODEL_FORMAT_VERSION = model_file.FORMAT_VERSION
_NORM_LAYER_NAMES = ["bias", "gamma", "beta", "layer_norm", "layernorm"]
# Padded tokens per prediction batch at least (short rows share a batch):
# on 2 CPU cores 8,192 ran SST-2 predict ~10% faster than 2,048
# (benchmarks/README.md); activations stay a few MB per layer.
PREDICT_TOKENS = 8192


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


def scratch_learning_rate(backbone, table):
    """The from-scratch rate of ``table`` for a named size or a dict backbone."""
    config = backbone if isinstance(backbone, dict) else {}
    size = backbone if isinstance(backbone, str) else "small"
    hidden = config.get("hidden_dim", backbones.SIZES[size]["hidden_dim"])
    for width, rate in table:
        if hidden <= width:
            return rate
    return table[-1][1]


def _to_json(value):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.asarray(value["__ndarray__"], dtype=value["dtype"])
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


class AlbertEstimator(BaseEstimator):
    """Shared machinery of the albert_sk estimators; not used directly.

    Subclasses implement ``_check_y``, ``_build_head``, ``_get_loss`` and
    ``_decode`` (and may override ``_encode`` and the other steps).
    """

    _parameter_constraints: dict = {
        "preset": [str, os.PathLike, None],
        "backbone": [StrOptions(set(backbones.SIZES)), dict],
        "vocab_size": [Interval(Integral, MIN_VOCAB_SIZE, None, closed="left")],
        "max_length": [Interval(Integral, 8, 512, closed="both")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="neither"), None],
        "validation_data": [tuple, None],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "mixed_precision": [StrOptions({"auto"}), "boolean"],
        "jit_compile": [StrOptions({"auto"}), "boolean"],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "distribution": [StrOptions({"auto", "data_parallel"}), HasMethods(["scope"])],
    }
    # Fitted attributes written by ``save``; subclasses add their own.
    _saved_attributes = ("history_", "n_features_in_", "feature_names_in_")
    # learning_rate="auto" when fine-tuning a preset.
    _preset_learning_rate = 3e-5
    # learning_rate="auto" from scratch, by the backbone's hidden size (the
    # first row whose size is at least it): chosen by the sweep over datasets,
    # seeds and data orders in benchmarks/bench_learning.py (README, "Learning").
    # 1e-3 collapsed "small" to the class prior; see docs/classifier.md.
    _scratch_learning_rates = ((64, 1e-3), (256, 5e-4), (768, 1e-4))
    _output_feature = "pooled_output"
    _allow_pairs = True

    def __init__(
        self,
        *,
        preset=None,
        backbone="small",
        vocab_size=8000,
        max_length=128,
        epochs=3,
        batch_size=32,
        learning_rate="auto",
        weight_decay=0.01,
        warmup_ratio=0.1,
        max_grad_norm=1.0,
        dropout=0.1,
        validation_split=None,
        validation_data=None,
        early_stopping=False,
        patience=2,
        mixed_precision="auto",
        jit_compile="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        distribution="auto",
    ):
        self.preset = preset
        self.backbone = backbone
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.max_grad_norm = max_grad_norm
        self.dropout = dropout
        self.validation_split = validation_split
        self.validation_data = validation_data
        self.early_stopping = early_stopping
        self.patience = patience
        self.mixed_precision = mixed_precision
        self.jit_compile = jit_compile
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.distribution = distribution

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.non_deterministic = True
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    # === Checks ===

    def _check_is_fitted(self):
        if not hasattr(self, "model_"):
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} instance is not fitted yet. Call 'fit' with "
                f"training texts first, or load a saved model with {name}.load(path)."
            )

    def _check_X(self, X, *, reset):
        inputs = check_texts(X, type(self).__name__, allow_pairs=self._allow_pairs)
        if reset:
            if inputs.feature_names is not None:
                self.feature_names_in_ = inputs.feature_names
                self.n_features_in_ = len(inputs.feature_names)
            else:
                for attr in ("feature_names_in_", "n_features_in_"):
                    self.__dict__.pop(attr, None)
            self.pairs_ = inputs.pairs is not None
        else:
            is_pairs = inputs.pairs is not None
            if is_pairs != self.pairs_:
                fitted = "text pairs" if self.pairs_ else "single texts"
                got = "text pairs" if is_pairs else "single texts"
                raise InputError(
                    f"{type(self).__name__} was fitted on {fitted} but got {got}. "
                    f"Pass {fitted}, as in fit."
                )
            names = getattr(self, "feature_names_in_", None)
            if (
                names is not None
                and inputs.feature_names is not None
                and list(names) != list(inputs.feature_names)
            ):
                raise InputError(
                    f"{type(self).__name__} was fitted on columns {list(names)} but "
                    f"got columns {list(inputs.feature_names)}. Rename or select "
                    "the columns used in fit."
                )
        return inputs

    def _check_y(self, y, inputs):
        """Validate targets and return them as an array ready for the loss."""
        raise NotImplementedError

    def _check_sample_weight(self, sample_weight, n):
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype="float32")
        if weights.ndim != 1 or len(weights) != n:
            raise InputError(
                f"sample_weight must be a 1-D array with one weight per text "
                f"({n}), but got shape {weights.shape}. Pass one weight per row "
                "of X."
            )
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise InputError(
                f"sample_weight must be finite and >= 0, but row {bad[0]} is "
                f"{weights[bad[0]]}. Fix or drop that weight."
            )
        return weights

    def _check_lengths(self, inputs, y):
        if len(y) != len(inputs):
            raise InputError(
                f"X and y must have the same number of rows, but X has "
                f"{len(inputs)} and y has {len(y)}. Pass one target per text."
            )

    # === Initialisation ===

    def _resolve_dtype(self):
        mixed = self.mixed_precision
        if mixed == "auto":
            mixed = backbones.has_accelerator()
        return "mixed_bfloat16" if mixed else None

    def _initialize(self, inputs):
        """Seed, then build the backbone and tokenizer from ``preset``/``backbone``."""
        backbones.configure_devices()
        if self.random_state is not None:
            keras.utils.set_random_seed(self.random_state)
        dtype = self._resolve_dtype()
        if self.preset is None:
            return backbones.from_scratch(
                inputs.all_texts(),
                backbone=self.backbone,
                vocab_size=self.vocab_size,
                max_length=self.max_length,
                dropout=self.dropout,
                dtype=dtype,
                seed=self.random_state,
                lowercase=getattr(self, "lowercase", True),
            )
        return backbones.from_preset(
            self.preset, dtype=dtype, max_length=self.max_length
        )

    def _encode(self, inputs):
        """Token rows for ``inputs``: ``[CLS] a [SEP] (b [SEP])``."""
        tok = self.tokenizer_
        pairs = None if inputs.pairs is None else tok.encode(inputs.pairs)
        return tok.pack(
            tok.encode(inputs.texts),
            pairs,
            max_length=self.max_length,
            name="text pairs" if pairs is not None else "texts",
        )

    def _build_model(self, backbone):
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("token_ids", "segment_ids", "padding_mask")
        }
        features = self._features(backbone(inputs), inputs)
        outputs = self._build_head(features)
        return keras.Model(inputs, outputs, name=type(self).__name__.lower())

    def _pooler_unused(self):
        """True when the head reads no ``pooled_output`` (tokens, mean pooling)."""
        return self._output_feature != "pooled_output" or self.pooling_ == "mean"

    def _features(self, outputs, inputs):
        """What the head reads: the backbone's ``_output_feature``, or for
        ``pooling_="mean"`` the mean of ``sequence_output`` over real tokens."""
        if self._output_feature == "pooled_output" and self.pooling_ == "mean":
            return heads.mean_pool(outputs["sequence_output"], inputs["padding_mask"])
        return outputs[self._output_feature]

    @property
    def pooling_(self):
        """How a text becomes one vector for estimators with a ``pooling``
        parameter: "cls" (the pretrained pooler on [CLS]) with a preset,
        "mean" from scratch, where the pooler starts untrained and fits on
        [CLS] sat at the class prior for whole epochs (docs/classifier.md)."""
        pooling = getattr(self, "pooling", "cls")
        if pooling == "auto":
            return "cls" if self.preset is not None else "mean"
        return pooling

    def _build_head(self, features):
        """Keras layers on the backbone output; returns the model's outputs."""
        raise NotImplementedError

    # === Training ===

    def _get_loss(self):
        raise NotImplementedError

    def _get_metrics(self):
        return None

    def _learning_rate(self):
        """The peak learning rate: ``learning_rate``, or what "auto" means."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        if self.preset is not None:
            return self._preset_learning_rate
        return scratch_learning_rate(self.backbone, self._scratch_learning_rates)

    def _compile(self, n_train):
        steps = self.epochs * math.ceil(n_train / self.batch_size)
        schedule = LinearWarmupDecay(
            self._learning_rate(), int(self.warmup_ratio * steps), steps
        )
        optimizer = keras.optimizers.AdamW(
            learning_rate=schedule,
            weight_decay=self.weight_decay,
            clipnorm=self.max_grad_norm,
        )
        optimizer.exclude_from_weight_decay(var_names=_NORM_LAYER_NAMES)
        jit = self.jit_compile
        if jit == "auto":
            # XLA compiles once per padded shape: worth it on accelerators only.
            # JAX without jit runs op by op (minutes for a tiny fit): always on.
            jit = backbones.has_accelerator() or keras.backend.backend() == "jax"
        self.model_.compile(
            optimizer=optimizer,
            loss=self._get_loss(),
            metrics=self._get_metrics(),
            jit_compile=jit,
        )

    def _stratify(self, targets):
        """Labels to stratify the validation split on, or None."""
        return None

    def _split(self, encoded, targets, weights):
        """Train and validation parts: ``validation_data`` or ``validation_split``."""
        if self.validation_data is not None:
            if len(self.validation_data) != 2:
                raise InputError(
                    "validation_data must be a tuple (X_val, y_val), but got a "
                    f"tuple of {len(self.validation_data)} items. Pass "
                    "validation_data=(X_val, y_val)."
                )
            X_val, y_val = self.validation_data
            inputs = self._check_X(X_val, reset=False)
            y_val = self._check_y(y_val, inputs, fitting=False)
            enc_val, y_val = self._encode_fit(inputs, y_val)
            return (encoded, targets, weights), (enc_val, y_val, None)
        if not self.validation_split:
            return (encoded, targets, weights), None
        rows = np.arange(len(encoded))
        stratify = self._stratify(targets)
        try:
            train, val = train_test_split(
                rows,
                test_size=self.validation_split,
                random_state=self.random_state,
                stratify=stratify,
            )
        except ValueError as err:  # a class too rare to stratify on
            from albert_sk.exceptions import DataLossWarning
            from albert_sk.text import first_rows

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
                f"validation_split={self.validation_split} could not keep the "
                f"class proportions of y ({err}){rare}. The split is random "
                "instead, so the validation part may lack some classes. Give "
                "each class at least 2 rows, raise validation_split, or pass "
                "validation_data.",
                DataLossWarning,
                stacklevel=4,
            )
            train, val = train_test_split(
                rows, test_size=self.validation_split, random_state=self.random_state
            )

        def take(part):
            w = None if weights is None else weights[part]
            return encoded.subset(part), self._take_targets(targets, part), w

        return take(train), take(val)

    def _take_targets(self, targets, rows):
        return targets[rows]

    def _continue_optimizer(self, n_train):
        """``warm_start``: keep the previous fit's AdamW state; True if kept.

        The moments and the step count carry over. The learning rate does not
        warm up again (the moments are already estimated): it starts at
        ``learning_rate`` and decays linearly to 0 over this fit's steps. A
        model without a trained optimizer (after ``load``, which reads the
        weights only) gets a fresh one from :meth:`_compile`, warmup included.
        """
        optimizer = getattr(self.model_, "optimizer", None)
        if optimizer is None or not optimizer.built:
            return False
        done = int(keras.ops.convert_to_numpy(optimizer.iterations))
        steps = self.epochs * math.ceil(n_train / self.batch_size)
        # Warmup "ends" at the current step: the schedule peaks at the first
        # new step and reaches 0 after ``steps`` more.
        optimizer.learning_rate = LinearWarmupDecay(
            self._learning_rate(), done, done + steps
        )
        self.model_.compile(
            optimizer=optimizer,
            loss=self._get_loss(),
            metrics=self._get_metrics(),
            jit_compile=self.model_.jit_compile,
        )
        return True

    def _encode_fit(self, inputs, targets):
        """Encoded rows and their targets (tasks with windows override this)."""
        return self._encode(inputs), targets

    def _fit_callbacks(self, has_validation, first_loss=None):
        callbacks = list(self.callbacks or [])
        if first_loss is not None:
            callbacks.append(
                keras.callbacks.LambdaCallback(
                    on_train_batch_end=first_loss.on_train_batch_end
                )
            )
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss" if has_validation else "loss",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        return callbacks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fine-tune on texts ``X`` and targets ``y``; returns ``self``."""
        inputs = self._check_X(X, reset=True)
        targets = self._check_y(y, inputs, fitting=True)
        weights = self._check_sample_weight(sample_weight, len(inputs))
        weights = self._class_weights(targets, weights)
        warm = self.warm_start and hasattr(self, "model_")
        if not warm:
            # Release the previous model (and its optimizer and compiled
            # steps) before building the next: refits keep memory flat.
            self.__dict__.pop("model_", None)
        name = type(self).__name__
        previous = getattr(self, "history_", {}) if warm else {}
        epochs_before = len(previous.get("loss", []))
        first_loss = convergence.FirstLoss()
        with distribute.scope(getattr(self, "distribution", "auto"), name):
            if not warm:
                backbone, self.tokenizer_ = self._initialize(inputs)
            encoded, targets = self._encode_fit(inputs, targets)
            if weights is not None and len(weights) != len(encoded):
                weights = self._expand_weights(weights, encoded)
            train, val = self._split(encoded, targets, weights)
            if not warm:
                self.model_ = self._build_model(backbone)
                self._load_preset_head()
            if not (warm and self._continue_optimizer(len(train[0]))):
                self._compile(len(train[0]))
            self.history_ = self._fit_loop(train, val, first_loss)
        self._check_convergence(train, first_loss.value, epochs_before)
        return self

    def _check_convergence(self, train, first_loss, epochs_before=0):
        """Emit ``ConvergenceWarning`` when the fit diverged or learned nothing."""
        history = self.history_
        losses = history.get("loss", [])[epochs_before:]
        end = -1
        monitor = history.get("val_loss" if "val_loss" in history else "loss", [])
        if self.early_stopping and len(monitor) > epochs_before:
            end = int(np.nanargmin(monitor[epochs_before:]))
        problem = convergence.diagnose(
            losses, first=first_loss, constant=self._constant_loss(*train[1:]), end=end
        )
        if problem is None and losses:
            problem = self._collapse(train[0], train[1])
        convergence.warn(self, problem, from_scratch=self.preset is None, stacklevel=4)

    def _constant_loss(self, targets, weights):
        """``(loss, what)`` of the best constant prediction, or None."""
        return None

    def _collapse(self, encoded, targets):
        """A message when predictions collapsed to one value, else None."""
        return None

    def _load_preset_head(self):
        """Start from the fine-tuned head of a Hugging Face ``preset`` that fits."""
        preset = None if self.preset is None else os.fspath(self.preset)
        # A Hugging Face head reads the [CLS] pooler: no use on mean features.
        if self.pooling_ != "cls":
            return
        if preset is not None and backbones.is_hf_checkpoint(preset):
            from albert_sk.hf import import_head

            import_head(self, preset)

    def _class_weights(self, targets, weights):
        return weights

    def _expand_weights(self, weights, encoded):
        return weights[encoded.source_rows]

    def _bucket_sizes(self):
        """Padded batch lengths: powers of two where each shape is an XLA
        compile (``jit_compile``, the JAX backend), else multiples of 8: less
        padding, which a TensorFlow graph or PyTorch runs without retracing.
        One length under a multi-replica TensorFlow strategy."""
        if distribute.needs_one_length():
            return bucket_sizes(self.max_length, smallest=self.max_length)
        jit = self.jit_compile
        if jit == "auto":
            jit = backbones.has_accelerator()
        if jit or keras.backend.backend() == "jax":
            return bucket_sizes(self.max_length)
        return bucket_sizes(self.max_length, step=8)

    def _batches(self, encoded, targets=None, weights=None, rng=None):
        buckets = self._bucket_sizes()
        return Batches(
            encoded,
            targets,
            weights,
            batch_size=self.batch_size,
            buckets=buckets,
            rng=rng,
        )

    def _fit_loop(self, train, val, first_loss=None):
        rng = np.random.default_rng(self.random_state)
        data = fit_input(distribute.even_batches(self._batches(*train, rng=rng)))
        val_data = None
        if val is not None:
            val_data = fit_input(distribute.even_batches(self._batches(*val)))
        previous = getattr(self, "history_", None) if self.warm_start else None
        with warnings.catch_warnings():
            if self._pooler_unused():
                # The pooler gets no gradient. It stays trainable, so a
                # pickled model reloads with the same optimizer variables;
                # only Keras' warning about it is silenced.
                warnings.filterwarnings(
                    "ignore", "Gradients do not exist for variables", UserWarning
                )
            history = self.model_.fit(
                data,
                validation_data=val_data,
                epochs=self.epochs,
                shuffle=False,  # Batches reshuffles its own plan every epoch
                callbacks=self._fit_callbacks(val is not None, first_loss),
                verbose=1 if self.verbose else 0,
            )
        result = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        if previous:
            result = {k: list(previous.get(k, [])) + result[k] for k in result}
        return result

    # === Prediction ===

    def _run_model(self, encoded):
        """Model outputs for every row, in row order.

        Outputs with a token axis come back as a list of per-row arrays cut
        to each row's length; the others as one array.
        """
        index, padded = make_batches(
            encoded.lengths,
            self.batch_size,
            self._bucket_sizes(),
            max_tokens=max(self.batch_size * self.max_length, PREDICT_TOKENS),
        )
        progress = keras.utils.Progbar(len(encoded)) if self.verbose else None
        result = None
        for rows, length in zip(index, padded, strict=False):
            out = distribute.predict_on_batch(self.model_, encoded.batch(rows, length))
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

    def _predict_outputs(self, X):
        self._check_is_fitted()
        inputs = self._check_X(X, reset=False)
        return self._run_model(self._encode(inputs))

    # === Persistence ===

    def _params_for_save(self):
        params = self.get_params(deep=False)
        for live in ("callbacks", "validation_data"):  # live objects: not written
            if live in params:
                params[live] = None
        if not isinstance(params.get("distribution", "auto"), str):
            params["distribution"] = "auto"  # a strategy object: not written
        if params.get("preset") is not None:
            params["preset"] = os.fspath(params["preset"])
        return params

    def save(self, path):
        """Write the fitted estimator to one file, atomically.

        The file (a zip archive) holds the Keras model (``model.keras``), the
        SentencePiece vocabulary and the estimator's parameters and fitted
        attributes as JSON. It is written to a temporary file in the same
        folder and moved into place, so a crash never leaves a broken file.
        ``callbacks`` and ``validation_data`` are not saved.
        """
        self._check_is_fitted()
        path = os.path.abspath(os.fspath(path))
        meta = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "albert_sk_version": __version__,
            "estimator": type(self).__name__,
            "params": self._params_for_save(),
            "fitted": {
                name: _to_json(getattr(self, name))
                for name in self._saved_attributes + ("pairs_",)
                if hasattr(self, name)
            },
            "tokenizer": {
                "lowercase": self.tokenizer_.lowercase,
                "strip_accents": self.tokenizer_.strip_accents,
            },
        }
        with atomic_write(path) as fh, tempfile.TemporaryDirectory() as scratch:
            model_file = os.path.join(scratch, "model.keras")
            self.model_.save(model_file)
            with zipfile.ZipFile(fh, "w") as archive:
                archive.writestr("albert_sk.json", json.dumps(meta, indent=1))
                archive.write(model_file, "model.keras")
                archive.writestr("spiece.model", self.tokenizer_.proto)
        return path

    @classmethod
    def load(cls, path):
        """Load an estimator written by :meth:`save` (Keras safe_mode, no pickle).

        The file is checked before use (:mod:`albert_sk.model_file`): its zip
        directory (exact members, sizes), its format version, an albert_sk
        estimator class and that class's own parameters, and a Keras config
        without ``Lambda`` layers or foreign classes. Anything else raises
        :class:`~albert_sk.exceptions.ModelFileError`.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No saved model at {path!r}.")
        if not zipfile.is_zipfile(path):
            raise model_file.error(
                path,
                "it may be truncated or a different kind of file",
                "Save the model again.",
            )
        try:
            with zipfile.ZipFile(path) as archive:
                model_file.check_directory(
                    archive.infolist(),
                    path,
                    limits=model_file.LIMITS,
                    allowed=model_file.MEMBERS,
                )
                meta = model_file.read_meta(archive, path)
                estimator_cls = _estimator_class(meta["estimator"])
                if cls is not AlbertEstimator and not issubclass(estimator_cls, cls):
                    raise ModelFileError(
                        f"{path!r} holds an {meta['estimator']}, not an "
                        f"{cls.__name__}. Load it with {meta['estimator']}.load(path) "
                        "or albert_sk.load(path)."
                    )
                model_file.check_params(estimator_cls, meta, path)
                estimator = _estimator_from_params(estimator_cls, meta, path)
                proto = archive.read("spiece.model")
                with tempfile.TemporaryDirectory() as scratch:
                    model = _load_keras_model(
                        model_file.extract_model(archive, path, scratch), path
                    )
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise ModelFileError(
                f"{path!r} is damaged ({err}). It is not a readable "
                f"{model_file.EXPECTED}; save the model again."
            ) from None
        try:
            estimator.tokenizer_ = Tokenizer(proto, **meta["tokenizer"])
        except (RuntimeError, ValueError, TypeError) as err:
            raise model_file.error(
                path,
                f"its spiece.model is not a SentencePiece model ({err})",
                "Save the model again.",
            ) from None
        estimator.model_ = model
        try:
            for name, value in meta["fitted"].items():
                setattr(estimator, name, _from_json(value))
            estimator._after_load()
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            raise model_file.error(
                path,
                f"albert_sk.json's fitted attributes do not fit "
                f"{type(estimator).__name__} ({type(err).__name__}: {err})",
            ) from None
        return estimator

    def _after_load(self):
        """Rebuild derived fitted state after :meth:`load`."""


def _estimator_class(name):
    """The estimator class ``name`` of :data:`model_file.ESTIMATORS`, imported."""
    import importlib

    return getattr(importlib.import_module(model_file.ESTIMATORS[name]), name)


def _estimator_from_params(estimator_cls, meta, path):
    """``estimator_cls(**params)``, its parameters validated as in ``fit``."""
    from sklearn.utils._param_validation import InvalidParameterError

    estimator = estimator_cls(**meta["params"])
    try:
        estimator._validate_params()
    except InvalidParameterError as err:
        raise model_file.error(
            path, f"albert_sk.json holds an invalid parameter ({err})"
        ) from None
    return estimator


def _load_keras_model(model_path, path):
    """The Keras model at ``model_path`` (safe_mode), or ``ModelFileError``."""
    try:
        return keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        first = " ".join(str(err).split())
        raise model_file.error(
            path,
            f"Keras cannot rebuild its model.keras safely "
            f"({type(err).__name__}: {first:.300})",
        ) from None


def load(path):
    """Load any albert_sk estimator saved with ``est.save(path)``."""
    return AlbertEstimator.load(path)
