"""``AlbertEstimator``: what every albert_sk estimator shares.

``fit`` is a chain of small steps that task subclasses override::

    fit -> _check_X / _check_y -> _initialize (backbone, tokenizer)
        -> _encode -> _build_model (_build_head) -> _compile -> _fit_loop

and prediction is ``_check_X -> _encode -> _run_model`` (one call:
``_predict_outputs``), whose outputs each public method (``predict``,
``predict_proba``, ``transform``, ...) turns into its answer; the tagger
decodes tag sequences in its own ``_decode`` step, QA spans in
``_candidates``.
"""

import math
import os
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from albert_sk import (
    backbones,
    convergence,
    distribute,
    efficiency,
    heads,
    model_file,
    pretrained_heads,
    training,
)
from albert_sk.batching import (
    bucket_sizes,
    fit_input,
    make_batches,
    split_rows,
    training_batches,
)
from albert_sk.checks import check_sample_weight, check_texts
from albert_sk.exceptions import InputError, NotFittedError, ParameterError
from albert_sk.text import MIN_VOCAB_SIZE
from albert_sk.training import LinearWarmupDecay, fresh_seed, seeded

# Padded tokens per prediction batch at least (short rows share a batch):
# on 2 CPU cores 8,192 ran SST-2 predict ~10% faster than 2,048
# (benchmarks/README.md); activations stay a few MB per layer.
PREDICT_TOKENS = 8192


class AlbertEstimator(efficiency.EfficiencyMixin, BaseEstimator):
    """Shared machinery of the albert_sk estimators; not used directly.

    Subclasses implement ``_check_y``, ``_build_head``, ``_get_loss`` and
    their prediction methods on ``_run_model``'s outputs (and may override
    ``_encode`` and the other steps).
    """

    _parameter_constraints: dict = {
        "preset": [str, os.PathLike, None],
        "backbone": [StrOptions(set(backbones.SIZES)), dict],
        "vocab_size": [
            Interval(Integral, MIN_VOCAB_SIZE, None, closed="left"),
            StrOptions({"auto"}),
        ],
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
        **efficiency.PARAMETER_CONSTRAINTS,  # lora_rank, inference_dtype
    }
    # Fitted attributes written by ``save``; subclasses add their own.
    _saved_attributes = ("history_", "n_features_in_", "feature_names_in_")
    # What the estimators without a ``lowercase`` parameter (all but the
    # tagger and the pretrainer) do: a vocabulary trained from scratch
    # lower-cases the texts.
    lowercase = True
    # Facts the other modules read from the class (albert_sk._registry holds
    # the ones needed before it is imported):
    # (head layer, Hugging Face head prefix, architecture) that export_hf
    # writes and a fine-tuned checkpoint's head is imported into, or None;
    _hf_head = None
    # the fitted attribute naming the rows of that head (None: unnamed rows);
    _head_labels = None
    # whether each input is a JSON object (albert-sk serve), not a text.
    _json_records = False
    # learning_rate="auto" when fine-tuning a preset.
    _preset_learning_rate = 3e-5
    # learning_rate="auto" from scratch, by the backbone's hidden size (the
    # first row whose size is at least it): chosen by the sweep over datasets,
    # seeds and data orders in benchmarks/bench_learning.py (README, "Learning").
    # 1e-3 collapsed "small" to the class prior; see docs/classifier.md.
    _scratch_learning_rates = ((64, 1e-3), (256, 5e-4), (768, 1e-4))
    # epochs="auto", where an estimator accepts it (AlbertTagger):
    # (fine-tuning a preset, training from scratch).
    _auto_epochs = (3, 3)
    _output_feature = "pooled_output"
    _allow_pairs = True

    def __init__(
        self,
        *,
        preset=None,
        backbone="small",
        vocab_size="auto",
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

    def _check_y(self, y, inputs, *, reset=False):
        """Parse and validate targets ``y`` once; return ``(targets, inputs)``:
        the targets ready for the loss (with the fitted ``classes_``/scales)
        and the inputs they belong to (the tagger's raw texts cut at span
        edges: new values, ``inputs`` is not changed). With ``reset`` (a fit
        that is not a warm start) it first sets what fit learns from ``y``
        alone (``classes_``, target scales), as ``_check_X(reset=True)``
        sets ``n_features_in_``."""
        raise NotImplementedError

    def _check_params(self):
        """Checks of parameters against each other, before ``fit`` reads data
        (one at a time they are checked by ``_parameter_constraints``)."""
        data = self.validation_data
        if data is not None and len(data) != 2:
            raise ParameterError(
                "validation_data must be a tuple (X_val, y_val), but got a "
                f"tuple of {len(data)} items. Pass validation_data=(X_val, y_val)."
            )

    def _check_lengths(self, inputs, y):
        if len(y) != len(inputs):
            raise InputError(
                f"X and y must have the same number of rows, but X has "
                f"{len(inputs)} and y has {len(y)}. Pass one target per text."
            )

    # === The one place every "auto" is resolved ===

    def _resolve_dtype(self):
        """``mixed_precision="auto"``: bfloat16 compute on an accelerator."""
        mixed = self.mixed_precision
        if mixed == "auto":
            mixed = backbones.has_accelerator()
        return "mixed_bfloat16" if mixed else None

    def _resolve_jit(self):
        """``jit_compile="auto"``: XLA compiles once per padded shape, worth it
        on accelerators only; JAX without jit runs op by op (minutes for a
        tiny fit), so there it is always on."""
        jit = self.jit_compile
        if jit == "auto":
            jit = backbones.has_accelerator() or keras.backend.backend() == "jax"
        return bool(jit)

    def _epochs(self):
        """``epochs``, or what "auto" means: few to fine-tune a preset, the
        measured number from scratch."""
        if self.epochs != "auto":
            return self.epochs
        return self._auto_epochs[self.preset is None]

    def _learning_rate(self):
        """The peak learning rate: ``learning_rate``, or what "auto" means."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        return self._auto_learning_rate()

    def _auto_learning_rate(self):
        """The learning rate "auto" picks for this preset or backbone."""
        if self.preset is not None:
            return efficiency.preset_learning_rate(self, self._preset_learning_rate)
        return backbones.scratch_learning_rate(
            self.backbone, self._scratch_learning_rates
        )

    def _fit_seed(self):
        """``random_state``, or a fresh seed from the OS when it is None."""
        return fresh_seed() if self.random_state is None else int(self.random_state)

    # === Initialisation ===

    def _initialize(self, inputs):
        """Build the backbone and tokenizer from ``preset``/``backbone``."""
        backbones.configure_devices()
        dtype = self._resolve_dtype()
        if self.preset is None:
            return backbones.from_scratch(
                inputs.all_texts(),
                backbone=self.backbone,
                vocab_size=self.vocab_size,
                max_length=self.max_length,
                dropout=self._backbone_dropout(),
                dtype=dtype,
                seed=self.random_state,
                lowercase=self.lowercase,
            )
        return backbones.from_preset(
            self.preset, dtype=dtype, max_length=self.max_length
        )

    def _backbone_dropout(self):
        return self.dropout

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
        [CLS] sat at the class prior for whole epochs (docs/classifier.md).

        Examples
        --------
        >>> from albert_sk import AlbertClassifier
        >>> AlbertClassifier().pooling_  # from scratch
        'mean'
        >>> AlbertClassifier(preset="albert_base_en_uncased").pooling_
        'cls'
        >>> AlbertClassifier(pooling="cls").pooling_
        'cls'
        """
        if self.pooling == "auto":
            return "cls" if self.preset is not None else "mean"
        return self.pooling

    def _build_head(self, features):
        """Keras layers on the backbone output; returns the model's outputs."""
        raise NotImplementedError

    # === Training ===

    def _get_loss(self):
        raise NotImplementedError

    def _get_metrics(self):
        return None

    def _optimizer(self, total_steps, kind=None):
        """``kind`` (AdamW) with linear warmup and decay over ``total_steps``,
        no weight decay on biases and norms, gradients clipped."""
        schedule = LinearWarmupDecay(
            self._learning_rate(), int(self.warmup_ratio * total_steps), total_steps
        )
        options = {}
        if kind is None:
            kind = training.AdamW
            # A head that reads no pooled_output leaves the pooler without
            # gradients, by design: no warning about it.
            options["no_gradient"] = ["pooled_dense/"] if self._pooler_unused() else []
        optimizer = kind(
            learning_rate=schedule,
            weight_decay=self.weight_decay,
            clipnorm=self.max_grad_norm,
            **options,
        )
        optimizer.exclude_from_weight_decay(var_names=training.NORM_LAYER_NAMES)
        return optimizer

    def _compile(self, n_train):
        steps = self._epochs() * math.ceil(n_train / self.batch_size)
        self.model_.compile(
            optimizer=self._optimizer(steps),
            loss=self._get_loss(),
            metrics=self._get_metrics(),
            jit_compile=self._resolve_jit(),
        )
        training.build_optimizer(self.model_)

    def _stratify(self, targets):
        """Labels to stratify the validation split on, or None."""
        return None

    def _split(self, encoded, targets, weights, seed):
        """Train and validation parts: ``validation_data`` or ``validation_split``
        (rows drawn with this fit's ``seed``)."""
        if self.validation_data is not None:
            X_val, y_val = self.validation_data
            inputs = self._check_X(X_val, reset=False)
            y_val, inputs = self._check_y(y_val, inputs)
            enc_val, y_val = self._encode_fit(inputs, y_val)
            return (encoded, targets, weights), (enc_val, y_val, None)
        if not self.validation_split:
            return (encoded, targets, weights), None
        train, val = split_rows(
            len(encoded), self.validation_split, seed, self._stratify(targets)
        )

        def take(part):
            w = None if weights is None else weights[part]
            return encoded.subset(part), self._take_targets(targets, part), w

        return take(train), take(val)

    def _take_targets(self, targets, rows):
        return targets[rows]

    def _continue_optimizer(self, n_train):
        """``warm_start``: keep the previous fit's AdamW state; True if kept
        (:func:`albert_sk.training.continue_training`); else :meth:`_compile`
        gives a fresh one, warmup included."""
        steps = self._epochs() * math.ceil(n_train / self.batch_size)
        return training.continue_training(
            self.model_,
            self._learning_rate(),
            steps,
            self._get_loss(),
            self._get_metrics(),
        )

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
        """Fine-tune on texts ``X`` and targets ``y``; returns ``self``.

        ``sample_weight`` weighs each row's loss. The class docstrings say what
        ``X`` and ``y`` may be; ``AlbertQA``, ``AlbertVectorizer`` and
        ``AlbertPretrainer`` have a ``fit`` of their own.

        Examples
        --------
        With ``train`` as in the class example of
        :class:`~albert_sk.AlbertClassifier`, a tiny model holding out a fifth
        of the rows to report a validation loss:

        >>> from albert_sk import AlbertClassifier
        >>> model = AlbertClassifier(backbone="tiny", vocab_size=500, max_length=48,
        ...                          epochs=5, validation_split=0.2, random_state=0)
        >>> model.fit(train.text, train.label) is model
        True
        >>> len(model.history_["loss"]), len(model.history_["val_loss"])  # per epoch
        (5, 5)
        >>> model.history_["loss"][-1] < model.history_["loss"][0]
        True
        """
        self._fit(X, y, sample_weight)
        return self

    def _fit(self, X, y, sample_weight):
        """The fit chain of :meth:`fit`. Returns what a subclass may finish
        its fit with: the checked inputs and targets (``_check_X``,
        ``_check_y``) and the validation part (None without one). Nothing of
        one fit but fitted attributes stays on ``self``."""
        self._check_params()
        inputs = self._check_X(X, reset=True)
        warm = self.warm_start and hasattr(self, "model_")
        # a warm start keeps the classes (scales) it was fitted on
        targets, inputs = self._check_y(y, inputs, reset=not warm)
        weights = check_sample_weight(sample_weight, len(inputs))
        weights = self._class_weights(targets, weights)
        if not warm:
            # Release the previous model (and its optimizer and compiled
            # steps) before building the next: refits keep memory flat.
            self.__dict__.pop("model_", None)
        name = type(self).__name__
        previous = getattr(self, "history_", {}) if warm else {}
        epochs_before = len(previous.get("loss", []))
        first_loss = convergence.FirstLoss()
        seed = self._fit_seed()  # every draw of this fit comes from it
        checked = targets
        with (
            seeded(seed),
            distribute.scope(self.distribution, name),
        ):
            if not warm:
                backbone, self.tokenizer_ = self._initialize(inputs)
            encoded, targets = self._encode_fit(inputs, targets)
            if weights is not None and len(weights) != len(encoded):
                weights = self._expand_weights(weights, encoded)
            train, val = self._split(encoded, targets, weights, seed)
            if not warm:
                self.model_ = self._build_model(backbone)
                self._load_preset_head()
            self._prepare_fit_model(warm)  # LoRA adapters (lora_rank)
            if not (warm and self._continue_optimizer(len(train[0]))):
                self._compile(len(train[0]))
            self.history_ = self._fit_loop(train, val, seed, first_loss)
        self._check_convergence(train, first_loss.value, epochs_before)
        return inputs, checked, val

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
        convergence.warn(self, problem, from_scratch=self.preset is None)

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
            pretrained_heads.import_head(self, preset)

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
        if self._resolve_jit():
            return bucket_sizes(self.max_length)
        return bucket_sizes(self.max_length, step=8)

    def _batches(self, encoded, targets=None, weights=None, rng=None):
        buckets = self._bucket_sizes()
        return training_batches(
            encoded,
            targets,
            weights,
            batch_size=self.batch_size,
            buckets=buckets,
            rng=rng,
        )

    def _fit_loop(self, train, val, seed, first_loss=None):
        rng = np.random.default_rng(seed)
        data = fit_input(distribute.even_batches(self._batches(*train, rng=rng)))
        val_data = None
        if val is not None:
            val_data = fit_input(distribute.even_batches(self._batches(*val)))
        previous = getattr(self, "history_", None) if self.warm_start else None
        history = self.model_.fit(
            data,
            validation_data=val_data,
            epochs=self._epochs(),
            shuffle=False,  # the batches reshuffle their own plan every epoch
            callbacks=self._fit_callbacks(val is not None, first_loss),
            verbose=1 if self.verbose else 0,
        )
        result = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        if previous:
            result = {k: list(previous.get(k, [])) + result[k] for k in result}
        return result

    # === Prediction ===

    def _run_model(self, encoded, model=None):
        """Outputs of ``model`` (default: the ``inference_dtype`` one; fit-time
        checks pass ``model_``) for every row, in row order.

        Outputs with a token axis come back as a list of per-row arrays cut
        to each row's length; the others as one array.
        """
        index, padded = make_batches(
            encoded.lengths,
            self.batch_size,
            self._bucket_sizes(),
            max_tokens=max(self.batch_size * self.max_length, PREDICT_TOKENS),
        )
        model = self._inference_model() if model is None else model
        return training.predict_rows(
            model, encoded, index, padded, verbose=self.verbose
        )

    def _predict_outputs(self, X):
        self._check_is_fitted()
        inputs = self._check_X(X, reset=False)
        return self._run_model(self._encode(inputs))

    # === Persistence ===

    def save(self, path):
        """Write the fitted estimator to one file, atomically.

        The file (a zip archive) holds the Keras model (``model.keras``), the
        SentencePiece vocabulary and the estimator's parameters and fitted
        attributes as JSON. It is written to a temporary file in the same
        folder and moved into place, so a crash never leaves a broken file.
        ``callbacks`` and ``validation_data`` are not saved. Returns the
        absolute path.

        Examples
        --------
        With ``clf`` fitted as in the class example of
        :class:`~albert_sk.AlbertClassifier` (every estimator saves alike):

        >>> import os, tempfile
        >>> import numpy as np
        >>> from albert_sk import AlbertClassifier
        >>> texts = ["A great film.", "Boring and bad."]
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = clf.save(os.path.join(folder, "sentiment.albert"))
        ...     print(os.path.basename(path), os.path.isabs(path))
        ...     loaded = AlbertClassifier.load(path)
        sentiment.albert True
        >>> np.allclose(loaded.predict_proba(texts), clf.predict_proba(texts))
        True
        """
        self._check_is_fitted()
        return model_file.write(self, path)

    @classmethod
    def load(cls, path):
        """Load an estimator written by :meth:`save` (Keras safe_mode, no pickle).

        The file is checked before use (:mod:`albert_sk.model_file`): its zip
        directory (exact members, sizes), its format version, an albert_sk
        estimator class and that class's own parameters, and a Keras config
        without ``Lambda`` layers or foreign classes. Anything else raises
        :class:`~albert_sk.exceptions.ModelFileError`.

        Examples
        --------
        With ``clf`` fitted as in the class example of
        :class:`~albert_sk.AlbertClassifier`; a file holds one estimator
        class, and another class refuses it:

        >>> import os, tempfile
        >>> from albert_sk import AlbertClassifier, AlbertTagger
        >>> from albert_sk.exceptions import ModelFileError
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = clf.save(os.path.join(folder, "sentiment.albert"))
        ...     loaded = AlbertClassifier.load(path)
        ...     try:  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        ...         AlbertTagger.load(path)
        ...     except ModelFileError as err:
        ...         print(err)
        '...sentiment.albert' holds an AlbertClassifier, not an AlbertTagger.
        Load it with AlbertClassifier.load(path) or albert_sk.load(path).
        >>> loaded.get_params() == clf.get_params()
        True
        >>> text = ["A great film."]
        >>> loaded.predict(text).tolist() == clf.predict(text).tolist()
        True
        """
        return model_file.read(path, cls)

    # Members of the model file besides albert_sk.json, model.keras and
    # spiece.model (model_file.OPTIONAL_MEMBERS).
    _extra_members = ()

    def _model_to_save(self):
        """The Keras model written as ``model.keras``."""
        return self.model_

    def _extra_member_data(self):
        """``{name: bytes}`` of the ``_extra_members`` to write."""
        return {}

    def _restore_model(self, model, extras):
        """Set the fitted model from the loaded ``model.keras`` and extras."""
        self.model_ = model

    def _after_load(self):
        """Rebuild derived fitted state after :meth:`load`."""
