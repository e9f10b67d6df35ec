"""``AlbertRegressor``: text and text-pair regression (one or several targets)."""

import keras
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions

from albert_sk import convergence
from albert_sk.checks import check_missing_targets
from albert_sk.exceptions import InputError
from albert_sk.finetuning import FineTunedEstimator, PoolingMixin
from albert_sk.heads import dense_head


class AlbertRegressor(RegressorMixin, PoolingMixin, FineTunedEstimator):
    """Fine-tune ALBERT to predict numbers from texts or text pairs.

    Targets are standardised for training (mean 0, variance 1 per column)
    and predictions mapped back, so the learning rate does not depend on the
    scale of ``y``. ``score`` is R².

    Parameters
    ----------
    preset, backbone, vocab_size, max_length, epochs, batch_size, \
learning_rate, weight_decay, warmup_ratio, max_grad_norm, dropout, \
validation_split, validation_data, early_stopping, patience, \
pooling, mixed_precision, jit_compile, random_state, verbose, callbacks, \
warm_start, distribution, lora_rank, inference_dtype
        As in :class:`~albert_sk.AlbertClassifier`.

    Attributes
    ----------
    model_ : keras.Model
    tokenizer_ : albert_sk.text.Tokenizer
    history_ : dict of lists
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation learnt in ``fit``.
    n_outputs_ : int
        Number of target columns; ``predict`` returns 1-D when ``y`` was 1-D.

    Examples
    --------
    >>> from albert_sk import AlbertRegressor
    >>> from sklearn.model_selection import train_test_split
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()  # shipped with albert_sk
    >>> short = reviews[reviews.text.str.len() < 60]
    >>> train, test = train_test_split(short, train_size=600, test_size=200,
    ...                                random_state=0)
    >>> reg = AlbertRegressor(backbone="tiny", vocab_size=500, max_length=48,
    ...                       epochs=4, random_state=0)
    >>> score = reg.fit(train.text, train.label * 4.0 + 1).score(
    ...     test.text, test.label * 4.0 + 1)  # 1 or 5 stars
    >>> score > 0  # R², better than predicting the mean
    True
    >>> reg.predict(["A great film."]).shape
    (1,)
    """

    _saved_attributes = FineTunedEstimator._saved_attributes + (
        "y_mean_",
        "y_scale_",
        "n_outputs_",
        "y_ndim_",
    )
    _hf_head = ("outputs", "classifier", "AlbertForSequenceClassification")

    _parameter_constraints = {
        **FineTunedEstimator._parameter_constraints,
        "pooling": [StrOptions({"auto", "cls", "mean"})],
    }

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
        self.pooling = pooling

    def _values(self, y, inputs):
        """``y`` as float64 (its own shape) and as 2-D, checked."""
        who = type(self).__name__
        if y is None:
            raise InputError(
                f"{who}.fit needs numeric targets y, but got y=None. Pass the "
                "targets: fit(X, y)."
            )
        if isinstance(y, (str, bytes)):
            raise InputError(f"{who} expects y as numbers, but got a string.")
        raw = (
            y.to_numpy()
            if hasattr(y, "to_numpy")
            else np.asarray(list(y), dtype=object)
        )
        self._check_lengths(inputs, raw)
        check_missing_targets(raw, who)
        try:
            values = np.asarray(raw, dtype="float64")
        except (TypeError, ValueError):
            flat = raw.reshape(len(raw), -1)
            for row, item in enumerate(flat):
                try:
                    np.asarray(item, dtype="float64")
                except (TypeError, ValueError):
                    raise InputError(
                        f"{who} expects numeric targets, but row {row} of y is "
                        f"{(item[0] if item.size == 1 else item.tolist())!r:.60}. "
                        "Convert y to numbers, e.g. "
                        "pd.to_numeric(y)."
                    ) from None
            raise
        if values.ndim not in (1, 2):
            raise InputError(
                f"{who} expects y 1-D or 2-D, but got shape {values.shape}. Pass "
                "one target per text, or one row of targets per text."
            )
        bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
        if len(bad):
            found = values.reshape(len(values), -1)[bad[0]].tolist()
            raise InputError(
                f"{who} expects finite targets, but row {bad[0]} of y is "
                f"{found[0] if len(found) == 1 else found}. Drop that row or give "
                "it a finite target."
            )
        return values, values.reshape(len(values), -1)

    def _check_y(self, y, inputs, *, reset=False):
        who = type(self).__name__
        values, values2d = self._values(y, inputs)
        if reset:
            scale = values2d.std(axis=0)
            self.y_ndim_ = values.ndim
            self.n_outputs_ = values2d.shape[1]
            self.y_mean_ = values2d.mean(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, 1.0)
        if values2d.shape[1] != self.n_outputs_:
            raise InputError(
                f"y has {values2d.shape[1]} target columns but {who} was fitted "
                f"on {self.n_outputs_}."
            )
        scaled = (values2d - self.y_mean_) / self.y_scale_
        return scaled.astype("float32"), inputs

    def _build_head(self, features):
        return dense_head(
            features, self.n_outputs_, dropout=self.dropout, name="outputs"
        )

    def _get_loss(self):
        return keras.losses.MeanSquaredError()

    def _hf_problem_type(self):
        # export_hf folds y_mean_ and y_scale_ into the exported head.
        return "regression"

    def _constant_loss(self, targets, weights):
        return convergence.constant_regression_loss(targets, weights), "the mean"

    def predict(self, X):
        """Predicted targets: shape (n,) for 1-D ``y`` in fit, else (n, n_outputs).

        Examples
        --------
        With ``reg`` fitted as in the class example (1-D ``y``):

        >>> values = reg.predict(["A great film.", "Boring and bad."])
        >>> values.shape, values.dtype.name
        ((2,), 'float64')
        >>> reg.n_outputs_
        1
        """
        outputs = self._predict_outputs(X).astype("float64")
        values = outputs * self.y_scale_ + self.y_mean_
        return values[:, 0] if self.y_ndim_ == 1 else values
