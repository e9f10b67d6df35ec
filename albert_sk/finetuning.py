"""``FineTunedEstimator``: the estimators that fine-tune a task head.

``AlbertClassifier``, ``AlbertRegressor``, ``AlbertTagger`` and ``AlbertQA``
fit through one chain of small steps that each task overrides a few of::

    fit -> _fit: _check_params -> _check_X -> _check_y -> _initialize
        -> _encode_fit -> _split -> _build_model (_build_head) -> _compile
        -> _fit_loop -> _check_convergence

This layer holds the parameters only fine-tuning has (validation, early
stopping, ``warm_start``, ``distribution``, ``lora_rank``,
``inference_dtype``) besides those it shares with pretraining
(:class:`albert_sk.base.TrainingMixin`), and everything only fitting reads.
Prediction, persistence and the shared parameters are
:class:`albert_sk.base.AlbertEstimator`'s.
"""

import math
import os
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from albert_sk import (
    backbones,
    convergence,
    distribute,
    efficiency,
    heads,
    pretrained_heads,
    training,
)
from albert_sk.base import TRAINING_CONSTRAINTS, AlbertEstimator, TrainingMixin
from albert_sk.batching import fit_input, split_rows, training_batches
from albert_sk.checks import check_sample_weight
from albert_sk.exceptions import InputError, ParameterError
from albert_sk.training import seeded


class FineTunedEstimator(efficiency.EfficiencyMixin, TrainingMixin, AlbertEstimator):
    """Shared machinery of the fine-tuning estimators; not used directly.

    Subclasses implement ``_check_y``, ``_build_head``, ``_get_loss`` and
    their prediction methods on ``_run_model``'s outputs (and may override
    ``_encode_fit`` and the other steps).
    """

    _parameter_constraints: dict = {
        **AlbertEstimator._parameter_constraints,
        **TRAINING_CONSTRAINTS,
        "validation_split": [Interval(Real, 0, 1, closed="neither"), None],
        "validation_data": [tuple, None],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "distribution": [StrOptions({"auto", "data_parallel"}), HasMethods(["scope"])],
        **efficiency.PARAMETER_CONSTRAINTS,  # lora_rank, inference_dtype
    }
    # learning_rate="auto" when fine-tuning a preset (with lora_rank:
    # efficiency.LORA_LEARNING_RATE_FACTOR times it).
    _preset_learning_rate = 3e-5
    # learning_rate="auto" from scratch, by the backbone's hidden size (the
    # first row whose size is at least it): chosen by the sweep over datasets,
    # seeds and data orders in benchmarks/bench_learning.py (README, "Learning").
    # 1e-3 collapsed "small" to the class prior; see docs/classifier.md.
    _scratch_learning_rates = ((64, 1e-3), (256, 5e-4), (768, 1e-4))

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
        lora_rank=None,
        inference_dtype="float32",
    ):
        super().__init__(
            preset=preset,
            backbone=backbone,
            vocab_size=vocab_size,
            max_length=max_length,
            batch_size=batch_size,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
            random_state=random_state,
            verbose=verbose,
        )
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.max_grad_norm = max_grad_norm
        self.dropout = dropout
        self.validation_split = validation_split
        self.validation_data = validation_data
        self.early_stopping = early_stopping
        self.patience = patience
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.distribution = distribution
        self.lora_rank = lora_rank
        self.inference_dtype = inference_dtype

    # === Checks ===

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

    # === Resolved parameters ===

    def _auto_learning_rate(self):
        """The learning rate "auto" picks: with a preset and ``lora_rank``,
        :data:`~albert_sk.efficiency.LORA_LEARNING_RATE_FACTOR` times the
        preset's rate."""
        if self.preset is not None:
            return efficiency.preset_learning_rate(
                self._preset_learning_rate, self.lora_rank
            )
        return super()._auto_learning_rate()

    def _backbone_dropout(self):
        return self.dropout

    def _pooler_unused(self):
        """True when the head reads no ``pooled_output`` (tokens, mean pooling)."""
        return self._output_feature != "pooled_output" or self._mean_pooled()

    def _mean_pooled(self):
        """True when the head reads the mean of the token vectors instead of
        the [CLS] pooler; only estimators with a ``pooling`` parameter
        (:class:`PoolingMixin`) pool a mean."""
        return False

    def _features(self, outputs, inputs):
        """What the head reads: the backbone's ``_output_feature``, or for
        ``pooling_="mean"`` the mean of ``sequence_output`` over real tokens."""
        if self._mean_pooled():
            return heads.mean_pool(outputs["sequence_output"], inputs["padding_mask"])
        return super()._features(outputs, inputs)

    # === Training ===

    def _get_loss(self):
        raise NotImplementedError

    def _get_metrics(self):
        return None

    def _compile(self, n_train):
        """Compile the model fit trains (``model_``); return it."""
        steps = self._epochs() * math.ceil(n_train / self.batch_size)
        # A head that reads no pooled_output leaves the pooler without
        # gradients, by design: no warning about it.
        unused = ["pooled_dense/"] if self._pooler_unused() else []
        self.model_.compile(
            optimizer=self._optimizer(steps, no_gradient=unused),
            loss=self._get_loss(),
            metrics=self._get_metrics(),
            jit_compile=self._resolve_jit(),
        )
        training.build_optimizer(self.model_)
        return self.model_

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
        """``warm_start``: the model fit trains, keeping the previous fit's
        AdamW state (:func:`albert_sk.training.continue_training`); None
        where there is none, and :meth:`_compile` gives a fresh one, warmup
        included."""
        steps = self._epochs() * math.ceil(n_train / self.batch_size)
        kept = training.continue_training(
            self.model_,
            self._learning_rate(),
            steps,
            self._get_loss(),
            self._get_metrics(),
        )
        return self.model_ if kept else None

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
            if weights is not None and encoded.source_rows is not None:
                weights = self._expand_weights(weights, encoded)  # one per row
            train, val = self._split(encoded, targets, weights, seed)
            if not warm:
                self.model_ = self._build_model(backbone)
                self._load_preset_head()
            self._prepare_fit_model(warm)  # LoRA adapters (lora_rank)
            trainer = self._continue_optimizer(len(train[0])) if warm else None
            if trainer is None:
                trainer = self._compile(len(train[0]))
            self.history_ = self._fit_loop(trainer, train, val, seed, first_loss)
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
        if self._mean_pooled():
            return
        if preset is not None and backbones.is_hf_checkpoint(preset):
            pretrained_heads.import_head(self, preset)

    def _class_weights(self, targets, weights):
        return weights

    def _expand_weights(self, weights, encoded):
        return weights[encoded.source_rows]

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

    def _fit_loop(self, model, train, val, seed, first_loss=None):
        """Fit ``model`` (``model_``, or a training model around it) on the
        batches of ``train``; return the history."""
        rng = np.random.default_rng(seed)
        data = fit_input(distribute.even_batches(self._batches(*train, rng=rng)))
        val_data = None
        if val is not None:
            val_data = fit_input(distribute.even_batches(self._batches(*val)))
        previous = getattr(self, "history_", None) if self.warm_start else None
        history = model.fit(
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


class PoolingMixin:
    """The ``pooling`` parameter of the estimators whose head reads one vector
    per text (the classifier and the regressor); the tagger and QA read every
    token and have none."""

    @property
    def pooling_(self):
        """How a text becomes one vector for the head (``pooling``): for
        "auto", "cls" (the pretrained pooler on [CLS]) with a preset,
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

    def _mean_pooled(self):
        return self.pooling_ == "mean"
