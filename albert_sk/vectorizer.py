"""``AlbertVectorizer``: texts to fixed-size ALBERT embeddings, as a transformer."""

import keras
import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from albert_sk.base import AlbertEstimator
from albert_sk.training import seeded


class AlbertVectorizer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, AlbertEstimator
):
    """Embed texts (or text pairs) with an ALBERT backbone, no training.

    ``fit`` loads the backbone and tokenizer of ``preset`` (or, with
    ``preset=None``, trains a vocabulary on the texts and builds a randomly
    initialised backbone: use a preset — e.g. one written by
    :class:`~albert_sk.AlbertPretrainer` — for meaningful embeddings).
    ``transform`` returns one row of ``hidden_dim`` floats per text, so
    ``make_pipeline(AlbertVectorizer(preset=...), LogisticRegression())``
    works as any sklearn text pipeline.

    Parameters
    ----------
    preset, backbone, vocab_size, max_length, batch_size, mixed_precision, \
jit_compile, random_state, verbose
        As in :class:`~albert_sk.AlbertClassifier`.
    pooling : {"mean", "cls"}, default="mean"
        "mean" averages the last layer over the text's tokens; "cls" is
        ALBERT's pooled ``[CLS]`` output (tanh of a dense layer).

    Attributes
    ----------
    model_ : keras.Model
    tokenizer_ : albert_sk.text.Tokenizer
    n_features_out_ : int
        Embedding width (the backbone's ``hidden_dim``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from albert_sk import AlbertVectorizer
    >>> from sklearn.model_selection import train_test_split
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()  # shipped with albert_sk
    >>> short = reviews[reviews.text.str.len() < 60]
    >>> train, test = train_test_split(short, train_size=400, test_size=200,
    ...                                random_state=0)
    >>> vec = AlbertVectorizer(backbone="tiny", vocab_size=500, max_length=48,
    ...                        random_state=0)
    >>> vec.fit_transform(train.text).shape
    (400, 64)
    >>> pipe = make_pipeline(vec, LogisticRegression(max_iter=1000))
    >>> pipe.fit(train.text, train.label).score(test.text, test.label) > 0.5
    True
    """

    _parameter_constraints = {
        **AlbertEstimator._parameter_constraints,
        "pooling": [StrOptions({"mean", "cls"})],
    }
    _saved_attributes = AlbertEstimator._saved_attributes + ("n_features_out_",)

    def __init__(
        self,
        *,
        preset=None,
        backbone="small",
        vocab_size="auto",
        max_length=128,
        pooling="mean",
        batch_size=32,
        mixed_precision="auto",
        jit_compile="auto",
        random_state=None,
        verbose=0,
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
        self.pooling = pooling

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load (or build) the backbone and tokenizer; ``y`` is ignored.

        Examples
        --------
        No training happens, so a fit takes about a second (``train`` as in
        the class example):

        >>> from albert_sk import AlbertVectorizer
        >>> vec = AlbertVectorizer(backbone="tiny", vocab_size=500, max_length=48,
        ...                        random_state=0).fit(train.text)
        >>> vec.n_features_out_
        64
        >>> vec.get_feature_names_out()[:2].tolist()
        ['albertvectorizer0', 'albertvectorizer1']
        """
        inputs = self._check_X(X, reset=True)
        with seeded(self._fit_seed()):
            backbone, self.tokenizer_ = self._initialize(inputs)
            self.model_ = self._build_model(backbone)
        self.n_features_out_ = backbone.hidden_dim
        return self

    @property
    def _n_features_out(self):  # read by get_feature_names_out
        return self.n_features_out_

    @property
    def _output_feature(self):
        return "pooled_output" if self.pooling == "cls" else "sequence_output"

    def _build_head(self, features):
        return keras.layers.Identity(dtype="float32", name="embedding")(features)

    def transform(self, X):
        """Embeddings, shape ``(n_texts, n_features_out_)``, float32.

        Examples
        --------
        With ``vec`` fitted as in the class example:

        >>> X = vec.transform(["A great film.", "Boring and bad, all of it."])
        >>> X.shape, X.dtype.name
        ((2, 64), 'float32')
        >>> import numpy as np  # a text embeds alike alone or in a batch
        >>> np.allclose(X[:1], vec.transform(["A great film."]), atol=1e-5)
        True
        """
        outputs = self._predict_outputs(X)
        if self.pooling == "cls":
            return outputs.astype("float32")
        return np.stack([row.mean(axis=0) for row in outputs]).astype("float32")
