"""``AlbertClassifier``: binary, multiclass and multilabel text classification."""

import warnings
from numbers import Real

import keras
import numpy as np
import pandas as pd
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import type_of_target

from albert_sk import convergence
from albert_sk.checks import check_missing_targets
from albert_sk.exceptions import InputError, LabelWarning, user_stacklevel
from albert_sk.finetuning import FineTunedEstimator, PoolingMixin
from albert_sk.heads import dense_head


class AlbertClassifier(ClassifierMixin, PoolingMixin, FineTunedEstimator):
    """Fine-tune ALBERT to classify texts or text pairs.

    Binary and multiclass targets take any label type (str, int, bool), kept
    in ``classes_``. A 2-D 0/1 indicator matrix ``y`` trains a multilabel
    model (sigmoid outputs, ``threshold``).

    Parameters
    ----------
    preset : str or path, default=None
        keras-hub preset name (``"albert_base_en_uncased"``, downloaded when
        online), local keras-hub preset directory, local Hugging Face ALBERT
        checkpoint directory, or None to train from scratch.
    backbone : {"tiny", "small", "base"} or dict, default="small"
        Size of a from-scratch model, or ``AlbertBackbone`` arguments.
        Ignored when ``preset`` is set.
    vocab_size : int or "auto", default="auto"
        The SentencePiece vocabulary trained on the ``fit`` texts when
        ``preset=None``. "auto" is as many pieces as the texts support, up to
        8,000 (a few hundred for a few hundred sentences, ~4,000 for the
        3,000 UCI sentiment sentences). An int is an upper bound: more than
        the texts support gives a smaller vocabulary and a
        :class:`~albert_sk.exceptions.VocabularyWarning`.
    max_length : int, default=128
        Tokens per input, special tokens included. Longer inputs are
        truncated with a :class:`~albert_sk.exceptions.TruncationWarning`.
    epochs, batch_size : int, default=3, 32
    learning_rate : float or "auto", default="auto"
        Peak AdamW learning rate; "auto" is 5e-5 with a preset and, from
        scratch, 1e-3 for "tiny", 5e-4 for "small" and 1e-4 for "base" (by
        ``hidden_dim`` for a dict backbone), chosen by the sweep in
        ``benchmarks/bench_learning.py``. Linear warmup over
        ``warmup_ratio`` of the steps, then linear decay to 0. A fit that
        ends no better than a constant prediction, or diverges, emits
        :class:`~sklearn.exceptions.ConvergenceWarning`.
    weight_decay, warmup_ratio, max_grad_norm, dropout : float
        AdamW weight decay (not on biases and norms), warmup fraction,
        gradient clipping norm (None: no clipping), head and backbone dropout.
    validation_split : float in (0, 1), default=None
        Fraction of the training texts held out (stratified) for validation.
    validation_data : tuple (X_val, y_val), default=None
        Explicit validation set; takes precedence over ``validation_split``.
    early_stopping : bool, default=False
        Stop when the validation loss (training loss without validation) has
        not improved for ``patience`` epochs; the best weights are restored.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    threshold : float, default=0.5
        Probability above which a label is predicted (multilabel only).
    pooling : {"auto", "cls", "mean"}, default="auto"
        How the head sees a text: "cls" reads the backbone's pooler on the
        [CLS] token (what pretrained checkpoints and :func:`~albert_sk.export_hf`
        use), "mean" averages the token vectors. "auto" is "cls" with a
        preset and "mean" from scratch, where a [CLS] head sat at the class
        prior for whole epochs on some seeds (``benchmarks/README.md``,
        "Learning").
    mixed_precision, jit_compile : bool or "auto", default="auto"
        bfloat16 mixed precision and XLA; "auto" turns them on when a GPU is
        visible.
    random_state : int, default=None
        Seeds Keras, numpy and the batch order: two CPU fits with the same
        seed predict identically.
    verbose : int, default=0
        1 shows Keras progress bars.
    callbacks : list of keras.callbacks.Callback, default=None
    warm_start : bool, default=False
        Continue training the fitted model on the next ``fit``: the weights,
        the tokenizer, ``classes_`` and the AdamW state (moments and step
        count) are kept and ``history_`` is extended. The learning rate does
        not warm up again: it starts at ``learning_rate`` and decays linearly
        to 0 over the new fit's ``epochs``. A model from :meth:`load` has no
        optimizer state (the file holds the weights), so its first warm fit
        starts a fresh AdamW, warmup included; a pickled one keeps it.
    distribution : "auto", "data_parallel" or a strategy, default="auto"
        "auto" trains on one device; "data_parallel" splits every batch
        between all GPUs (all logical CPUs when there is none) and averages
        the gradients. A ``keras.distribution`` object (JAX) or a
        ``tf.distribute.Strategy`` (TensorFlow) is used as given. See
        ``docs/scaling.md``.
    lora_rank : int, default=None
        None fine-tunes every weight. An int trains low-rank adapters of that
        rank (LoRA, keras-hub's ``Backbone.enable_lora``) on the query and
        value projections of the attention instead: the rest of the backbone
        stays frozen; the adapters, those projections' biases and the head
        train. With a preset, ``learning_rate="auto"`` is then 5e-4, ten
        times the full fine-tuning rate. ``save``, pickling and
        :func:`~albert_sk.export_hf` write the adapters merged into the
        weights (a plain model that predicts the same); a ``warm_start`` fit
        of a loaded model starts new adapters on them. See
        ``docs/efficiency.md``.
    inference_dtype : {"float32", "bfloat16", "int8"}, default="float32"
        Precision of prediction only: ``fit`` trains, and ``save`` writes,
        the float model. "bfloat16" predicts with a bfloat16 copy of it,
        "int8" with a copy quantised by Keras' ``model.quantize("int8")``;
        the copy is built at the first prediction and kept until ``fit`` or
        ``set_params``, so ``set_params`` after ``fit`` switches it.
        "float32" is exact; see ``docs/efficiency.md`` for the speed and
        score of the others.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (multilabel: column indices, or the column names of a
        DataFrame ``y``).
    model_ : keras.Model
        Backbone and head, mapping ``token_ids``/``segment_ids``/
        ``padding_mask`` to logits.
    tokenizer_ : albert_sk.text.Tokenizer
    history_ : dict of lists
        Loss and metrics per epoch (accumulated across warm starts).
    multilabel_ : bool
    n_features_in_, feature_names_in_ :
        Set only when ``X`` is a DataFrame.

    Examples
    --------
    >>> from albert_sk import AlbertClassifier
    >>> from sklearn.model_selection import train_test_split
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()  # shipped with albert_sk
    >>> short = reviews[reviews.text.str.len() < 60]
    >>> train, test = train_test_split(short, train_size=400, test_size=200,
    ...                                random_state=0)
    >>> clf = AlbertClassifier(backbone="tiny", vocab_size=500, max_length=48,
    ...                        epochs=5, random_state=0)
    >>> clf.fit(train.text, train.label).score(test.text, test.label) > 0.55
    True
    >>> clf.predict(["A great film.", "Boring and bad."]).shape
    (2,)
    >>> clf.predict_proba(["A great film."]).sum(axis=1).round(6).tolist()
    [1.0]
    """

    _parameter_constraints = {
        **FineTunedEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "threshold": [Interval(Real, 0, 1, closed="neither")],
        "pooling": [StrOptions({"auto", "cls", "mean"})],
    }
    _saved_attributes = FineTunedEstimator._saved_attributes + (
        "classes_",
        "multilabel_",
    )
    _hf_head = ("logits", "classifier", "AlbertForSequenceClassification")
    _head_labels = "classes_"
    # learning_rate="auto" with a preset, measured on all-MiniLM-L6-v2 over
    # SST-2, TREC and the UCI reviews, 3 seeds each
    # (benchmarks/bench_pretrained.py; docs/pretrained.md): 5e-5 is level
    # with transformers' own fine-tuning on all three, 3e-5 1.4 points below
    # it on TREC and 0.7 on UCI.
    _preset_learning_rate = 5e-5

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
        class_weight=None,
        threshold=0.5,
        pooling="auto",
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
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            warmup_ratio=warmup_ratio,
            max_grad_norm=max_grad_norm,
            dropout=dropout,
            validation_split=validation_split,
            validation_data=validation_data,
            early_stopping=early_stopping,
            patience=patience,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            warm_start=warm_start,
            distribution=distribution,
            lora_rank=lora_rank,
            inference_dtype=inference_dtype,
        )
        self.class_weight = class_weight
        self.threshold = threshold
        self.pooling = pooling

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # === Targets ===

    def _labels(self, y, inputs):
        """``y`` as an object array (1-D labels or 2-D indicators), checked."""
        who = type(self).__name__
        if y is None:
            raise InputError(
                f"{who}.fit needs targets y (one label per text), but got y=None. "
                "Pass the labels: fit(X, y)."
            )
        columns = list(y.columns) if isinstance(y, pd.DataFrame) else None
        if isinstance(y, (str, bytes)):
            raise InputError(f"{who} expects y as a list of labels, but got a string.")
        y = np.asarray(
            y.to_numpy() if hasattr(y, "to_numpy") else list(y), dtype=object
        )
        self._check_lengths(inputs, y)
        check_missing_targets(y, who)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim not in (1, 2):
            raise InputError(
                f"{who} expects y 1-D (labels) or 2-D (0/1), got {y.shape}."
            )
        return y, columns

    def _classes(self, y):
        """The sorted distinct labels of 1-D ``y`` and the index of each row's."""
        who = type(self).__name__
        try:
            classes, encoded = np.unique(y, return_inverse=True)
        except TypeError:
            kinds = sorted({type(v).__name__ for v in y})
            raise InputError(
                f"{who} expects labels of one type, but y mixes {kinds}. Convert "
                "them first, e.g. y.astype(str)."
            ) from None
        return np.asarray(classes.tolist()), encoded  # object -> str/int/bool

    def _fit_targets(self, y, columns, parsed):
        """Set the classes fit learns from ``y`` (as ``_labels`` gives it;
        ``parsed``: its indicators if 2-D, else its distinct labels)."""
        who = type(self).__name__
        if y.ndim == 2:
            never = parsed.sum(axis=0) == 0
            if never.any():
                warnings.warn(
                    f"{int(never.sum())} of {y.shape[1]} labels never occur in y "
                    f"(columns {np.flatnonzero(never).tolist()}): the model will "
                    "learn to never predict them.",
                    LabelWarning,
                    stacklevel=user_stacklevel(),
                )
            self.classes_ = np.asarray(columns if columns else np.arange(y.shape[1]))
            self.multilabel_ = True
            return
        classes = parsed
        if type_of_target(y.tolist()) == "continuous":
            raise InputError(
                f"{who} expects class labels, but y holds continuous values "
                f"such as {y[0]!r}. Use AlbertRegressor for numeric targets."
            )
        if len(classes) < 2:
            raise InputError(
                f"{who} needs at least two classes in y, but every row has "
                f"the label {classes.tolist()[0]!r}. Add examples of another "
                "class."
            )
        self.classes_, self.multilabel_ = classes, False

    def _check_y(self, y, inputs, *, reset=False):
        who = type(self).__name__
        y, columns = self._labels(y, inputs)
        parsed = self._indicators(y) if y.ndim == 2 else self._classes(y)[0]
        if reset:
            self._fit_targets(y, columns, parsed)
        if y.ndim == 2:
            if not self.multilabel_ or y.shape[1] != len(self.classes_):
                raise InputError(
                    f"y has {y.shape[1]} label columns but {who} was fitted on "
                    f"{len(self.classes_)} "
                    f"{'multilabel columns' if self.multilabel_ else 'classes'}."
                )
            return parsed, inputs
        if self.multilabel_:
            raise InputError(f"{who} was fitted on multilabel y but got 1-D labels.")
        known = {c: i for i, c in enumerate(self.classes_.tolist())}
        unknown = [v for v in parsed.tolist() if v not in known]
        if unknown:
            raise InputError(
                f"y holds labels {unknown} that {who} was not fitted on "
                f"(classes_ = {self.classes_.tolist()}). Refit without warm_start "
                "to learn new classes."
            )
        return np.asarray([known[v] for v in y.tolist()], dtype="int32"), inputs

    def _indicators(self, y):
        """2-D ``y`` as a float32 0/1 matrix, checked."""
        try:
            values = y.astype("float32")
        except (TypeError, ValueError):
            values = None
        if values is None or not np.isin(values, (0, 1)).all():
            raise InputError(
                f"{type(self).__name__} reads a 2-D y as a multilabel indicator "
                "matrix of 0/1, but y holds other values. Pass 1-D labels, or "
                "binarize with sklearn.preprocessing.MultiLabelBinarizer."
            )
        return values

    def _stratify(self, targets):
        return None if self.multilabel_ else targets

    def _class_weights(self, targets, weights):
        if self.class_weight is None:
            return weights
        if self.multilabel_:
            raise InputError(
                "class_weight is not supported for multilabel y; pass sample_weight."
            )
        class_weight = self.class_weight
        if isinstance(class_weight, dict):
            index = {c: i for i, c in enumerate(self.classes_.tolist())}
            unknown = [k for k in class_weight if k not in index]
            if unknown:
                raise InputError(
                    f"class_weight names labels {unknown} that are not in y "
                    f"(classes: {self.classes_.tolist()})."
                )
            class_weight = {index[k]: w for k, w in class_weight.items()}
        per_row = compute_sample_weight(class_weight, targets).astype("float32")
        return per_row if weights is None else weights * per_row

    # === Model ===

    def _build_head(self, features):
        units = len(self.classes_)
        return dense_head(features, units, dropout=self.dropout, name="logits")

    def _get_loss(self):
        if self.multilabel_:
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def _get_metrics(self):
        if self.multilabel_:
            return [keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def _constant_loss(self, targets, weights):
        if self.multilabel_:
            return convergence.constant_multilabel_loss(targets, weights), "them"
        loss = convergence.constant_classification_loss(
            targets, weights, len(self.classes_)
        )
        return loss, "the class frequencies"

    def _collapse(self, encoded, targets):
        if self.multilabel_:
            return None
        rng = np.random.default_rng(self.random_state)
        n = min(len(encoded), convergence.COLLAPSE_SAMPLE)
        rows = np.sort(rng.choice(len(encoded), size=n, replace=False))
        logits = self._run_model(encoded.subset(rows), self.model_)
        return convergence.collapse(
            logits.argmax(axis=1), targets[rows], self.classes_.tolist()
        )

    # === Prediction ===

    def decision_function(self, X):
        """Logits: (n,) for binary (positive minus negative), else (n, n_classes).

        Examples
        --------
        With ``clf`` fitted as in the class example:

        >>> texts = ["A great film.", "Boring and bad."]
        >>> scores = clf.decision_function(texts)
        >>> scores.shape  # binary: one score per text
        (2,)
        >>> (scores > 0).tolist() == (clf.predict(texts) == clf.classes_[1]).tolist()
        True
        """
        logits = self._predict_outputs(X)
        if not self.multilabel_ and len(self.classes_) == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities (rows sum to 1), or per-label ones (multilabel).

        Examples
        --------
        With ``clf`` fitted as in the class example:

        >>> proba = clf.predict_proba(["A great film.", "Boring and bad."])
        >>> proba.shape  # columns in classes_ order
        (2, 2)
        >>> clf.classes_.tolist()
        [0, 1]
        >>> proba.sum(axis=1).round(6).tolist()
        [1.0, 1.0]
        """
        logits = self._predict_outputs(X).astype("float64")
        if self.multilabel_:
            return expit(logits)
        return softmax(logits, axis=1)

    def predict(self, X):
        """Labels from ``classes_``; a 0/1 indicator matrix for multilabel.

        Examples
        --------
        With ``clf``, ``train`` and ``test`` as in the class example:

        >>> predicted = clf.predict(test.text)
        >>> predicted.shape
        (200,)
        >>> set(predicted.tolist()) <= set(clf.classes_.tolist())
        True
        >>> float((predicted == test.label).mean()) > 0.55  # accuracy
        True
        """
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba >= self.threshold).astype(int)
        return self.classes_[proba.argmax(axis=1)]

    # === Serving ===

    def _hf_problem_type(self):
        if self.multilabel_:
            return "multi_label_classification"
        return "single_label_classification"

    def export_serving(self, path):
        """Write a TensorFlow SavedModel that takes raw texts, tokenizer inside.

        Its ``serve`` signature takes a 1-D ``tf.string`` tensor of texts (and
        a second one, ``text_pairs``, for a model fitted on pairs) and returns
        :meth:`predict_proba`'s probabilities, in ``classes_`` order: the
        texts are normalised, tokenised with this model's SentencePiece
        vocabulary and cut to ``max_length`` tokens in the graph, as
        :meth:`predict` does. Its ``count_tokens`` signature returns each
        text's token count and whether it was cut (``predict`` warns about
        those; a graph cannot). ``albert_sk_serving.json`` in the folder
        lists ``classes_``. The folder is written beside ``path`` and
        renamed into place. See ``docs/serving.md`` and
        :mod:`albert_sk.export.savedmodel` for the few characters whose folding
        differs.

        Loading needs TensorFlow and the ``tensorflow_text`` ops, not
        albert_sk: ``import tensorflow_text`` then
        ``tf.saved_model.load(path).serve(tf.constant(texts))``. Exporting
        needs the TensorFlow backend.

        Returns
        -------
        str
            The absolute path of the folder.

        Examples
        --------
        With ``clf`` fitted as in the class example (skipped in the test
        suite: exporting and loading a SavedModel takes tens of seconds;
        ``tests/test_serving_export.py`` checks it):

        >>> import os, tempfile
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> import tensorflow_text  # doctest: +SKIP
        >>> texts = ["A great film.", "Boring and bad."]
        >>> with tempfile.TemporaryDirectory() as folder:  # doctest: +SKIP
        ...     path = clf.export_serving(os.path.join(folder, "served"))
        ...     served = tf.saved_model.load(path).serve(tf.constant(texts))
        ...     same = np.allclose(served, clf.predict_proba(texts), atol=1e-5)
        >>> same  # doctest: +SKIP
        True
        """
        from albert_sk.export.savedmodel import export_classifier

        return export_classifier(self, path)
