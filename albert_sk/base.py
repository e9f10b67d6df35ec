"""``AlbertEstimator``: what every albert_sk estimator shares.

The parameters every estimator has, input checking, the backbone and
tokenizer, encoding, prediction, save/load and pickling. Prediction is
``_check_X -> _encode -> _run_model`` (one call: ``_predict_outputs``), whose
outputs each public method (``predict``, ``predict_proba``, ``transform``,
...) turns into its answer; the tagger decodes tag sequences in its own
``_decode`` step, QA spans in ``_candidates``.

``TrainingMixin`` is the training fine-tuning
(:class:`albert_sk.finetuning.FineTunedEstimator`, which holds the fit chain)
and pretraining (:class:`albert_sk.AlbertPretrainer`) share: their common
parameters, the learning rate and the optimizer. ``AlbertVectorizer``, which
does not train, is an ``AlbertEstimator`` alone.
"""

import os
from numbers import Integral, Real

import keras
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from albert_sk import backbones, distribute, model_file, training
from albert_sk.batching import bucket_sizes, make_batches
from albert_sk.checks import check_texts
from albert_sk.exceptions import InputError, NotFittedError
from albert_sk.text import MIN_VOCAB_SIZE
from albert_sk.training import LinearWarmupDecay, fresh_seed

# Padded tokens per prediction batch at least (short rows share a batch):
# on 2 CPU cores 8,192 ran SST-2 predict ~10% faster than 2,048
# (benchmarks/README.md); activations stay a few MB per layer.
PREDICT_TOKENS = 8192

# The parameters of TrainingMixin: what fine-tuning and pretraining share.
TRAINING_CONSTRAINTS = {
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [
        Interval(Real, 0, None, closed="neither"),
        StrOptions({"auto"}),
    ],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "warmup_ratio": [Interval(Real, 0, 1, closed="both")],
    "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "callbacks": [list, None],
}


class TrainingMixin:
    """The training fine-tuning and pretraining share: ``epochs``, the peak
    ``learning_rate`` ("auto" included) and the optimizer, with linear warmup
    over ``warmup_ratio`` of the steps and decay, ``weight_decay`` and
    gradients clipped at ``max_grad_norm``.

    Both declare its parameters (:data:`TRAINING_CONSTRAINTS`). It reads
    those, ``preset`` and ``backbone``, and what "auto" means for the class:
    ``_preset_learning_rate`` (continuing a preset) and
    ``_scratch_learning_rates`` (from scratch, by the backbone's hidden size).
    """

    def _epochs(self):
        """Passes over the training data (``AlbertTagger`` resolves "auto")."""
        return self.epochs

    def _learning_rate(self):
        """The peak learning rate: ``learning_rate``, or what "auto" means."""
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        return self._auto_learning_rate()

    def _auto_learning_rate(self):
        """The learning rate "auto" picks for this preset or backbone."""
        if self.preset is not None:
            return self._preset_learning_rate
        return backbones.scratch_learning_rate(
            self.backbone, self._scratch_learning_rates
        )

    def _optimizer(self, total_steps, kind=None, no_gradient=()):
        """``kind`` (default: :class:`albert_sk.training.AdamW`, which skips
        the variables whose path holds one of ``no_gradient``) with linear
        warmup and decay over ``total_steps``, no weight decay on biases and
        norms, gradients clipped."""
        schedule = LinearWarmupDecay(
            self._learning_rate(), int(self.warmup_ratio * total_steps), total_steps
        )
        options = {}
        if kind is None:
            kind, options = training.AdamW, {"no_gradient": list(no_gradient)}
        optimizer = kind(
            learning_rate=schedule,
            weight_decay=self.weight_decay,
            clipnorm=self.max_grad_norm,
            **options,
        )
        optimizer.exclude_from_weight_decay(var_names=training.NORM_LAYER_NAMES)
        return optimizer


class AlbertEstimator(BaseEstimator):
    """Shared machinery of the albert_sk estimators; not used directly.

    Subclasses add their own parameters, a ``fit`` (the fine-tuning ones
    through :class:`albert_sk.finetuning.FineTunedEstimator`) and their
    prediction methods on ``_run_model``'s outputs.
    """

    _parameter_constraints: dict = {
        "preset": [str, os.PathLike, None],
        "backbone": [StrOptions(set(backbones.SIZES)), dict],
        "vocab_size": [
            Interval(Integral, MIN_VOCAB_SIZE, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "max_length": [Interval(Integral, 8, 512, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "mixed_precision": [StrOptions({"auto"}), "boolean"],
        "jit_compile": [StrOptions({"auto"}), "boolean"],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
        "verbose": ["verbose"],
    }
    # Fitted attributes written by ``save``; subclasses add their own.
    _saved_attributes = ("history_", "n_features_in_", "feature_names_in_")
    # Parameters added after model files and pickles were first written, with
    # the value a file or pickle without them was fitted with (``load`` and
    # unpickling fill them in).
    _former_defaults = {}
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
    _output_feature = "pooled_output"
    _allow_pairs = True

    def __init__(
        self,
        *,
        preset=None,
        backbone="small",
        vocab_size="auto",
        max_length=128,
        batch_size=32,
        mixed_precision="auto",
        jit_compile="auto",
        random_state=None,
        verbose=0,
    ):
        self.preset = preset
        self.backbone = backbone
        self.vocab_size = vocab_size
        self.max_length = max_length
        self.batch_size = batch_size
        self.mixed_precision = mixed_precision
        self.jit_compile = jit_compile
        self.random_state = random_state
        self.verbose = verbose

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

    # === Resolved parameters ("auto") ===

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
        """Dropout of a backbone built from scratch: none for an estimator
        that does not train (fine-tuning ones: ``dropout``)."""
        return 0.0

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

    def _features(self, outputs, inputs):
        """What the head reads: the backbone's ``_output_feature``."""
        return outputs[self._output_feature]

    def _build_head(self, features):
        """Keras layers on the backbone output; returns the model's outputs."""
        raise NotImplementedError

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

    def _inference_model(self):
        """The model prediction runs: ``model_`` (fine-tuning estimators
        convert it for ``inference_dtype``: efficiency.EfficiencyMixin)."""
        return self.model_

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

    def __setstate__(self, state):
        missing = {k: v for k, v in self._former_defaults.items() if k not in state}
        super().__setstate__({**state, **missing})

    def _export_loss(self):
        """What a Hugging Face export of this fitted estimator loses (a
        message for an :class:`~albert_sk.exceptions.ExportWarning`), or None."""
        return None

    def _hf_problem_type(self):
        """The ``problem_type`` a Hugging Face config gives this fitted
        estimator's head (``AlbertForSequenceClassification``), or None."""
        return None

    def _after_load(self):
        """Rebuild derived fitted state after :meth:`load`."""
