"""A linear-chain CRF trained jointly with a tagger's model (keras.ops; its
loop in ``tf.scan`` on TensorFlow, which XLA can differentiate).

The tagger's head gives every token one score per tag (its logits, the
*emissions*); a CRF adds a score for each pair of consecutive tags (the
*transitions*) and trains both on the log-likelihood of the gold tag
sequence. This module holds that log-likelihood
(:func:`crf_log_likelihood`), the layer that holds the trainable transitions
(:class:`Transitions`) and the model that trains a tagging model with them
(:class:`CRFTrainer`), and the fit steps a tagger overrides to use them
(:class:`CRFMixin`).

Design: a training-only wrapper, not a layer inside the saved model.
:class:`CRFTrainer` is a ``keras.Model`` subclass that calls the tagging
model unchanged (it shares its layers) and tracks a :class:`Transitions`
layer; it overrides ``compute_loss``, which reads the transition variable.
Keras' trainers compute gradients for ``model.trainable_variables`` and on
JAX call ``compute_loss`` inside the ``StatelessScope`` that maps every
tracked variable to its traced value (``Trainer.stateless_compute_loss``):
a variable the model tracks is differentiated on every backend (a
``GradientTape`` on TensorFlow, ``jax.grad`` on JAX, autograd on torch),
while one held by a loss object outside the model would be a constant on
JAX. A layer adding its loss with ``add_loss`` would need the tags as a
model input, which prediction does not have. With the wrapper, the model
that is saved, pickled, exported and predicted with stays the plain
backbone + dense head; after fit the estimator keeps the learned matrix as
a numpy array (the tagger's ``transitions_``).

Decoding needs nothing new: the CRF's best path maximises the sum of the
emissions and transitions, and ``log_softmax(logits)`` differs from the
logits by one constant per position, the same for every tag, so Viterbi
over the words' log-probabilities plus the learned transitions
(:func:`albert_sk.decoding.viterbi`) finds the CRF's exact argmax path.

Transition matrices are ``(K + 1, K + 1)`` as in :mod:`albert_sk.decoding`:
the last row is the start of a sentence, the last column its end. The
scheme's forbidden transitions stay at
:data:`~albert_sk.decoding.FORBIDDEN`: the variable's entries there are
never read, so they get no gradient.
"""

import math

import keras
import numpy as np
from keras import ops

from albert_sk import training
from albert_sk.decoding import FORBIDDEN, allowed_transitions

# Marks in a row of tags (at its [CLS] and [SEP]) that the row is a window cut
# from a longer sentence: open at its start, at its end. Below any "-2 - tag".
OPEN_START = -(1 << 20)
OPEN_END = OPEN_START - 1


def crf_log_likelihood(emissions, tags, transitions, *, cut=False):
    """``log p(tags | emissions)`` of a linear-chain CRF, one per row.

    Only the positions with a tag (``tags >= 0``) form the chain; the
    others (later pieces of a word, special tokens, padding) are skipped:
    the forward scores carry over them unchanged. A row with no tag scores 0.
    A row that is a window cut from a longer sentence is open where it was
    cut: :data:`OPEN_START` anywhere in the row drops the start-of-sentence
    transition (its first tag may continue an entity), :data:`OPEN_END` the
    end-of-sentence one.

    Parameters
    ----------
    emissions : tensor of shape (batch, length, K)
        Each position's score of each tag (a head's logits).
    tags : int tensor of shape (batch, length)
        The gold tag of each position, negative where there is none.
    transitions : tensor of shape (K + 1, K + 1)
        ``transitions[i, j]``: the score of tag ``j`` following tag ``i``;
        row ``K`` is the start of a sentence, column ``K`` its end.
    cut : bool, default=False
        Loop only over the batch's longest chain, a length known only when
        the step runs: faster, but not for code compiled for static shapes
        (XLA, JAX's jit), which loops over every position.

    Returns
    -------
    tensor of shape (batch,)
        The gold path's score less the log-sum-exp of every path's score.

    Examples
    --------
    >>> import numpy as np
    >>> from keras import ops
    >>> from albert_sk.crf import crf_log_likelihood
    >>> emissions = np.log([[[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]])
    >>> tags = np.array([[0, -1, 1]])  # the middle position has no tag
    >>> ll = crf_log_likelihood(emissions, tags, np.zeros((3, 3)))
    >>> round(float(np.exp(ops.convert_to_numpy(ll)[0])), 2)  # 0.9 * 0.8
    0.72
    """
    emissions = ops.cast(emissions, "float32")
    transitions = ops.cast(transitions, "float32")
    tags = ops.cast(tags, "int32")
    k = ops.shape(transitions)[0] - 1
    step_scores = transitions[:k, :k]  # (K, K): from a tag to the next
    open_start = ops.any(tags == OPEN_START, axis=1)[:, None]
    open_end = ops.any(tags == OPEN_END, axis=1)[:, None]
    start = ops.where(open_start, 0.0, transitions[k, :k][None, :])  # (batch, K)
    end = ops.where(open_end, 0.0, transitions[:k, k][None, :])
    # The chain, packed to the front of each row: its n tags in order, then
    # the rest. Only the forward recursion needs a loop (with ``cut``, only
    # over the batch's longest chain); the gold path's score is a sum.
    emissions, tags, n = _pack_chain(emissions, tags, cut)
    position = ops.arange(ops.shape(tags)[1])[None, :]
    live = position < n[:, None]
    tag = ops.maximum(tags, 0)
    first, last = tag[:, 0], ops.take_along_axis(tag, ops.maximum(n - 1, 0)[:, None], 1)
    emitted = ops.squeeze(ops.take_along_axis(emissions, tag[..., None], 2), 2)
    moved = ops.take(ops.reshape(step_scores, (-1,)), tag[:, :-1] * k + tag[:, 1:])
    gold = (
        ops.sum(ops.where(live, emitted, 0.0), axis=1)
        + ops.sum(ops.where(live[:, 1:], moved, 0.0), axis=1)
        + ops.squeeze(ops.take_along_axis(start, first[:, None], 1), 1)
        + ops.squeeze(ops.take_along_axis(end, last, 1), 1)
    )

    def step(alpha, position):
        emit, go = position[:, :k], position[:, k:] > 0.5
        forward = ops.logsumexp(alpha[:, :, None] + step_scores[None], axis=1) + emit
        alpha = ops.where(go, forward, alpha)
        return alpha, alpha  # keras' TensorFlow scan wants outputs shaped as carry

    # One tensor to scan over, the mask as a last column: keras' scan on
    # TensorFlow fails on several inputs of unknown length (keras 3.15). The
    # first position starts alpha and is masked out of the loop, which so
    # runs at least once (keras' torch scan fails on zero steps).
    go = live & (position > 0)
    xs = ops.concatenate([emissions, ops.cast(go, "float32")[..., None]], axis=-1)
    xs = ops.transpose(xs, (1, 0, 2))
    alpha = _last_carry(step, start + emissions[:, 0], xs)
    log_z = ops.logsumexp(alpha + end, axis=1)
    return ops.where(n > 0, gold - log_z, 0.0)


def _last_carry(step, init, xs):
    """The last carry of ``ops.scan(step, init, xs)``. On TensorFlow,
    ``tf.scan``, which bounds its loop: XLA (``jit_compile``, the default
    on a GPU) differentiates only a loop of known size, and keras' scan
    (3.15) gives none."""
    if keras.backend.backend() != "tensorflow":
        return ops.scan(step, init, xs)[0]
    import tensorflow as tf

    return tf.scan(lambda carry, x: step(carry, x)[0], xs, initializer=init)[-1]


def _pack_chain(emissions, tags, cut):
    """The positions with a tag moved to the front of each row, in order.

    Returns the packed emissions and tags (with ``cut``, cut to the longest
    chain; never on JAX, which traces static shapes) and each row's number
    of tags.
    """
    length = ops.shape(tags)[1]
    position = ops.arange(length, dtype="int32")[None, :]
    chain = tags >= 0
    order = ops.argsort(ops.where(chain, position, position + length), axis=1)
    tags = ops.take_along_axis(tags, order, axis=1)
    emissions = ops.take_along_axis(emissions, order[..., None], axis=1)
    n = ops.sum(ops.cast(chain, "int32"), axis=1)
    if cut and keras.backend.backend() != "jax":
        longest = ops.maximum(ops.max(n), 1)
        tags, emissions = tags[:, :longest], emissions[:, :longest]
    return emissions, tags, n


def chain_targets(labels, first, cut, starts):
    """A token classifier's targets as :class:`CRFTrainer` reads them.

    The CRF chains each word's first piece (``first``); the other labelled
    pieces learn their tag by themselves, marked ``-2 - tag``; a row that is
    a window cut from a longer sentence (``cut`` at its ``[CLS]`` or
    ``[SEP]``) is open there (:data:`OPEN_START`, :data:`OPEN_END`).

    Parameters
    ----------
    labels : int array of shape (n_tokens,)
        Each token's tag, -1 where nothing is learned (the rows' tokens
        end to end).
    first, cut : bool arrays of shape (n_tokens,)
    starts : int array
        Each row's first token.

    Examples
    --------
    >>> import numpy as np
    >>> from albert_sk.crf import OPEN_START, chain_targets
    >>> labels = np.array([-1, 3, 3, 0, -1])  # [CLS] a word of 2 pieces, a word, [SEP]
    >>> first = np.array([False, True, False, True, False])
    >>> cut = np.array([True, False, False, False, False])  # cut at its start
    >>> out = chain_targets(labels, first, cut, np.array([0]))
    >>> out[0] == OPEN_START, out[1:].tolist()
    (np.True_, [3, -5, 0, -1])
    """
    labels = np.where((labels >= 0) & ~first, -2 - labels, labels)
    at_start = np.zeros(len(labels), bool)
    at_start[starts] = True
    labels[cut & at_start] = OPEN_START
    labels[cut & ~at_start] = OPEN_END
    return labels


class Transitions(keras.layers.Layer):
    """The trainable ``(K + 1, K + 1)`` transition scores of a CRF.

    ``allowed`` (boolean, as :func:`albert_sk.decoding.allowed_transitions`)
    says which entries are learned; :meth:`scores` holds
    :data:`~albert_sk.decoding.FORBIDDEN` at the others. ``initial`` starts
    the learned entries (default: zeros).
    """

    def __init__(self, allowed, initial=None, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.allowed = np.asarray(allowed, dtype=bool)
        n = self.allowed.shape[0]
        start = np.zeros((n, n), np.float32) if initial is None else initial
        self.transitions = self.add_weight(
            shape=(n, n),
            initializer=keras.initializers.Constant(
                np.where(self.allowed, start, 0.0).astype(np.float32)
            ),
            name="transitions",
        )

    def scores(self):
        """The transition matrix: the learned entries, FORBIDDEN elsewhere."""
        return ops.where(self.allowed, self.transitions.value, FORBIDDEN)


class CRFTrainer(keras.Model):
    """Trains ``model`` (token logits, shape ``(batch, length, K)``) with a CRF.

    ``fit`` takes the targets of a token classifier, ``(batch, length)``
    ints: a tag ``>= 0`` at the positions that form the chain (each word's
    first piece), ``-2 - tag`` at positions that learn a tag by themselves
    (cross-entropy on their softmax: other pieces of a word), ``-1`` where
    nothing is learned, :data:`OPEN_START` and :data:`OPEN_END` in a window
    cut from a longer sentence. The loss is the CRF's negative log-likelihood plus
    those cross-entropies, divided by the number of positions with a tag:
    with every transition allowed and zero it equals the mean token
    cross-entropy. A sample weight of shape ``(batch,)`` or ``(batch, 1)``
    scales each row.

    The wrapper is for training only: it shares ``model``'s layers, and
    ``transitions.scores()`` is what decoding reads after fit.
    """

    def __init__(self, model, allowed, initial=None, cut=False, **kwargs):
        super().__init__(**kwargs)
        self.cut = cut  # crf_log_likelihood's: off for XLA
        self.tagger = model
        self.built = True  # its layers are
        self.transitions = Transitions(allowed, initial, name="crf_transitions")

    def call(self, inputs, training=False):
        return self.tagger(inputs, training=training)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        tags = ops.cast(y, "int32")
        logits = ops.cast(y_pred, "float32")
        scores = self.transitions.scores()
        chain = crf_log_likelihood(logits, tags, scores, cut=self.cut)
        alone = (tags <= -2) & (tags > OPEN_START)
        log_p = ops.log_softmax(logits, axis=-1)
        own_tag = ops.where(alone, -2 - tags, 0)
        own = ops.take_along_axis(log_p, own_tag[..., None], axis=-1)
        cross = -ops.sum(ops.where(alone, own[..., 0], 0.0), axis=1)
        per_row = cross - chain
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            per_row = per_row * weight
        count = ops.sum(ops.cast((tags >= 0) | alone, "float32"))
        loss = ops.divide_no_nan(ops.sum(per_row), count)
        loss = _scale_for_replicas(loss)
        for extra in self.losses:  # regularisers and add_loss, as Keras adds them
            loss = loss + ops.sum(ops.cast(extra, "float32"))
        return loss


class CRFMixin:
    """The fit steps of a tagger whose ``transitions_`` a CRF learns in fit.

    Mixed into :class:`~albert_sk.AlbertTagger` (before
    ``FineTunedEstimator``); active where ``_transition_source()`` is
    ``"crf"`` (the ``transitions`` parameter), else each step is the base's.
    ``_compile`` compiles a :class:`CRFTrainer` around ``model_`` and
    returns it for fit to train (``warm_start``: a fresh optimizer, the
    transitions from the fitted ``transitions_``); ``_fit_loop`` keeps its
    learned transitions as ``transitions_``. The estimator encodes its
    targets for the trainer (``_encode_fit``, :func:`chain_targets`).
    """

    def _compile(self, n_train):
        if self._transition_source() != "crf":
            return super()._compile(n_train)
        return self._compile_crf(n_train, None)

    def _continue_optimizer(self, n_train):
        if self._transition_source() != "crf":
            return super()._continue_optimizer(n_train)
        return self._compile_crf(n_train, self.transitions_)

    def _compile_crf(self, n_train, initial):
        allowed = allowed_transitions(self.labels_.tolist(), self.tag_scheme_)
        allowed[-1, -1] = False  # an empty sentence is no transition
        jit = self._resolve_jit()
        trainer = CRFTrainer(self.model_, allowed, initial, cut=not jit)
        steps = self._epochs() * math.ceil(n_train / self.batch_size)
        unused = ["pooled_dense/"] if self._pooler_unused() else []
        trainer.compile(
            optimizer=self._optimizer(steps, no_gradient=unused), jit_compile=jit
        )
        training.build_optimizer(trainer)
        return trainer

    def _fit_loop(self, model, train, val, seed, first_loss=None):
        try:
            return super()._fit_loop(model, train, val, seed, first_loss)
        finally:
            if isinstance(model, CRFTrainer):
                scores = ops.convert_to_numpy(model.transitions.scores())
                self.transitions_ = scores.astype(np.float32)


def _scale_for_replicas(loss):
    """Divide by the replicas of a TensorFlow distribution strategy, as Keras
    does for its own losses (the gradients are summed over replicas)."""
    if keras.backend.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss
