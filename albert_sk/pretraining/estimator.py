"""``AlbertPretrainer``: SentencePiece vocabulary + n-gram MLM + SOP pretraining.

The corpus is streamed in chunks of documents: each chunk is split into
sentences, tokenised, packed into sentence-order pairs and masked
(:mod:`albert_sk.pretraining.masking`), trained on, and dropped, so memory does not grow
with the corpus. Every batch is a pure function of ``(seed, epoch, chunk,
batch)``, which is what lets a killed run resume exactly where its last
checkpoint left it.
"""

import json
import os
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from albert_sk import backbones, convergence, heads
from albert_sk.base import TRAINING_CONSTRAINTS, AlbertEstimator, TrainingMixin
from albert_sk.batching import fit_input
from albert_sk.exceptions import InputError
from albert_sk.pretraining.corpus import Corpus
from albert_sk.pretraining.examples import Examples, empty_corpus_message, probe_batches
from albert_sk.pretraining.loop import (
    VOCABULARY_FILE,
    StreamBatches,
    Tracker,
    heads_archive,
    restore,
    restore_heads,
    resumable_checkpoint,
    resume_vocabulary,
    write_atomic,
)
from albert_sk.pretraining.vocabulary import train_vocabulary
from albert_sk.training import seeded

# Parameters that may change between a killed run and its resumption.
_RESUME_FREE = ("verbose", "callbacks", "checkpoint_dir", "checkpoint_every")


class AlbertPretrainer(TrainingMixin, AlbertEstimator):
    """Pretrain ALBERT on unlabelled text: own vocabulary, n-gram MLM and SOP.

    Parameters
    ----------
    preset : str or path, default=None
        Continue pretraining this preset (keras-hub name or directory, Hugging
        Face ALBERT directory) with its vocabulary, or None: train a
        SentencePiece vocabulary on the corpus and a new model.
    backbone : {"tiny", "small", "base"} or dict, default="small"
        Size of a new model (ignored with ``preset``).
    vocab_size : int or "auto", default="auto"
        The SentencePiece vocabulary: "auto" is as many pieces as the corpus
        supports, up to 8,000; an int is an upper bound (capped with a
        :class:`~albert_sk.exceptions.VocabularyWarning` when the corpus is
        too small for it).
    lowercase : bool, default=True
        Lower-case and strip accents before SentencePiece (an "uncased" model).
    character_coverage : float, default=0.9995
        Share of characters the vocabulary covers (lower it for CJK corpora).
    model_type : {"unigram", "bpe"}, default="unigram"
    vocab_sample_size : int, default=200_000
        Sentences the vocabulary is trained on (a uniform sample of a
        re-readable corpus; the first ones of a one-shot stream).
    doc_sep : {"blank_line", "line"}, default="blank_line"
        How a text file ``corpus`` is cut into documents.
    max_length : int, default=128
        Tokens per training row, special tokens included.
    mask_rate : float, default=0.15
        Share of tokens predicted by the masked language model.
    max_ngram : int, default=3
        Longest run of whole words masked together; ``p(n)`` is proportional
        to ``1/n``.
    sop : bool, default=True
        Train sentence-order prediction on ``pooled_output``.
    epochs : int, default=1
        Passes over the corpus (ignored when ``max_steps`` is set).
    max_steps : int, default=None
        Train for exactly this many batches, re-reading the corpus as needed.
        Required for one-shot iterators, whose length is unknown.
    batch_size : int, default=32
    learning_rate : float or "auto", default="auto"
        Peak learning rate: "auto" is 1e-3 for a new model, 1e-4 when
        continuing a preset. Linear warmup over ``warmup_ratio`` of the steps,
        then linear decay to 0.
    optimizer : {"adamw", "lamb"}, default="adamw"
    weight_decay, warmup_ratio, max_grad_norm : float
        Decoupled weight decay (not on biases and norms), warmup fraction,
        gradient clipping norm.
    dropout : float, default=0.0
        ALBERT v2 pretrains without dropout.
    checkpoint_dir : str or path, default=None
        Folder for checkpoints. A run that dies resumes from its last
        checkpoint on the next ``fit`` with the same parameters and corpus.
    checkpoint_every : int, default=500
        Steps between checkpoints (a crash loses at most this many).
    log_every : int, default=None
        Steps between ``history_`` entries; None: one entry per pass.
    mixed_precision, jit_compile : bool or "auto", default="auto"
    random_state : int, default=None
    verbose : int, default=0
        1 shows a progress bar over the training steps.
    callbacks : list of keras.callbacks.Callback, default=None
        Receive ``on_train_batch_end(step, logs)`` after every step.

    Attributes
    ----------
    model_ : keras.Model
        Backbone with the MLM head (tied to the token embedding) and the SOP
        head.
    backbone_ : keras_hub.models.AlbertBackbone
    tokenizer_ : albert_sk.text.Tokenizer
    history_ : dict of lists
        ``loss``, ``mlm_loss``, ``mlm_accuracy`` (and ``sop_loss``,
        ``sop_accuracy``) averaged over each log period, and ``step``.
    n_steps_ : int
        Training steps done in total.
    resumed_from_ : int or None
        Step of the checkpoint the last ``fit`` resumed from.

    Examples
    --------
    >>> from albert_sk import AlbertPretrainer
    >>> from albert_sk.io import load_sentiment_sentences
    >>> docs = load_sentiment_sentences().text[:600].tolist()
    >>> pre = AlbertPretrainer(backbone="tiny", vocab_size=300, max_length=32,
    ...                        max_steps=40, batch_size=16, learning_rate=2e-3,
    ...                        log_every=10, random_state=0)
    >>> pre.fit(docs).n_steps_
    40
    >>> 0.0 <= pre.score(docs[:50]) <= 1.0
    True
    """

    _parameter_constraints: dict = {
        **AlbertEstimator._parameter_constraints,
        **TRAINING_CONSTRAINTS,
        "lowercase": ["boolean"],
        "character_coverage": [Interval(Real, 0.9, 1, closed="both")],
        "model_type": [StrOptions({"unigram", "bpe"})],
        "vocab_sample_size": [Interval(Integral, 100, None, closed="left")],
        "doc_sep": [StrOptions({"blank_line", "line"})],
        "max_length": [Interval(Integral, 16, 512, closed="both")],
        "mask_rate": [Interval(Real, 0, 0.5, closed="right")],
        "max_ngram": [Interval(Integral, 1, 10, closed="both")],
        "sop": ["boolean"],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "optimizer": [StrOptions({"adamw", "lamb"})],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "log_every": [Interval(Integral, 1, None, closed="left"), None],
    }
    _saved_attributes = ("history_", "n_steps_", "resumed_from_", "seed_")
    # learning_rate="auto": 1e-3 for a new model of any size, 1e-4 when
    # continuing a preset (the ALBERT paper pretrains at 1.76e-3 with LAMB).
    _preset_learning_rate = 1e-4
    _scratch_learning_rates = ((2**31, 1e-3),)
    # Characters of documents per streamed chunk (about 250k tokens).
    _chunk_chars = 1_000_000

    def __init__(
        self,
        *,
        preset=None,
        backbone="small",
        vocab_size="auto",
        lowercase=True,
        character_coverage=0.9995,
        model_type="unigram",
        vocab_sample_size=200_000,
        doc_sep="blank_line",
        max_length=128,
        mask_rate=0.15,
        max_ngram=3,
        sop=True,
        epochs=1,
        max_steps=None,
        batch_size=32,
        learning_rate="auto",
        optimizer="adamw",
        weight_decay=0.01,
        warmup_ratio=0.1,
        max_grad_norm=1.0,
        dropout=0.0,
        checkpoint_dir=None,
        checkpoint_every=500,
        log_every=None,
        mixed_precision="auto",
        jit_compile="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
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
        self.lowercase = lowercase
        self.character_coverage = character_coverage
        self.model_type = model_type
        self.vocab_sample_size = vocab_sample_size
        self.doc_sep = doc_sep
        self.mask_rate = mask_rate
        self.max_ngram = max_ngram
        self.sop = sop
        self.epochs = epochs
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.max_grad_norm = max_grad_norm
        self.dropout = dropout
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.log_every = log_every
        self.callbacks = callbacks

    # === Vocabulary and model ===

    def _build_backbone(self, corpus):
        """(backbone, tokenizer) from ``preset`` or a new vocabulary."""
        dtype = self._resolve_dtype()
        if self.preset is not None:
            backbone, tokenizer = backbones.from_preset(
                self.preset, dtype=dtype, max_length=self.max_length
            )
            if tokenizer.mask_id is None:
                raise InputError(
                    f"The vocabulary of preset={os.fspath(self.preset)!r} has no "
                    "[MASK] piece, which masked-language-model pretraining needs. "
                    "Use an ALBERT vocabulary, or preset=None to train one."
                )
            return backbone, tokenizer
        tokenizer = resume_vocabulary(self.checkpoint_dir, self.lowercase)
        if tokenizer is None:
            tokenizer = train_vocabulary(
                corpus,
                self.vocab_size,
                sample_size=self.vocab_sample_size,
                seed=self.seed_,
                lowercase=self.lowercase,
                strip_accents=self.lowercase,
                model_type=self.model_type,
                character_coverage=self.character_coverage,
            )
        import keras_hub

        config = backbones.backbone_config(
            self.backbone,
            vocab_size=tokenizer.vocab_size,
            max_length=self.max_length,
            dropout=self.dropout,
        )
        return keras_hub.models.AlbertBackbone(**config, dtype=dtype), tokenizer

    def _build_model(self, backbone):
        names = ("token_ids", "segment_ids", "padding_mask", "mask_positions")
        inputs = {n: keras.Input(shape=(None,), dtype="int32", name=n) for n in names}
        if not self.sop:
            backbone.pooled_dense.trainable = False  # nothing reads pooled_output
        features = backbone({n: inputs[n] for n in names[:3]})
        outputs = {
            "mlm": heads.mlm_head(
                backbone, features["sequence_output"], inputs["mask_positions"]
            )
        }
        if self.sop:
            outputs["sop"] = heads.sop_head(
                features["pooled_output"], dropout=self.dropout
            )
        return keras.Model(inputs, outputs, name="albert_pretrainer")

    def _compile(self, total_steps):
        kind = keras.optimizers.Lamb if self.optimizer == "lamb" else None
        optimizer = self._optimizer(total_steps, kind)
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )
        outputs = ["mlm", "sop"] if self.sop else ["mlm"]
        self.model_.compile(
            optimizer=optimizer,
            loss={k: loss for k in outputs},
            weighted_metrics={
                k: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
                for k in outputs
            },
            jit_compile=self._resolve_jit(),
        )
        optimizer.build(self.model_.trainable_variables)

    # === Examples ===

    def _examples(self):
        """The batch builder for the fitted vocabulary and these settings."""
        return Examples(
            self.tokenizer_,
            max_length=self.max_length,
            batch_size=self.batch_size,
            mask_rate=self.mask_rate,
            max_ngram=self.max_ngram,
            sop=self.sop,
            # Multiples of 8 on a TF graph / PyTorch, powers of two under XLA.
            buckets=self._bucket_sizes(),
            chunk_chars=self._chunk_chars,
        )

    # === Checkpoints ===

    def _fingerprint(self, corpus):
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in _RESUME_FREE
        }
        params["preset"] = None if self.preset is None else os.fspath(self.preset)
        params["corpus"] = corpus.describe()
        return json.loads(json.dumps(params, default=str))

    # === Fit ===

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, corpus, y=None):
        """Pretrain on ``corpus``; returns ``self``.

        Parameters
        ----------
        corpus : list of str, path, iterable of str, or an estimator's X
            Documents (sentences of one document are consecutive text), a
            UTF-8 text file cut by ``doc_sep``, or any iterable of documents;
            a one-shot iterator is read once, in a single pass. The ``X`` of
            a fine-tuning estimator works too (a DataFrame of text columns,
            text pairs, a tagger's word lists, QA rows: their contexts), so
            pretraining can run on the texts the estimator will see.
        y : None
            Ignored.

        Examples
        --------
        With ``pre`` fitted on ``docs`` as in the class example
        (``max_steps=40, log_every=10``):

        >>> pre.n_steps_, pre.history_["step"]
        (40, [10, 20, 30, 40])
        >>> pre.history_["loss"][-1] < pre.history_["loss"][0]
        True
        """
        corpus = Corpus(corpus, self.doc_sep)
        if corpus.one_shot and self.max_steps is None:
            raise InputError(
                "A one-shot iterator (e.g. a generator) has no length to plan the "
                "learning-rate schedule on. Pass max_steps=N, or a list or file path."
            )
        fingerprint = self._fingerprint(corpus)
        resume = None
        if self.checkpoint_dir is not None:
            folder = os.fspath(self.checkpoint_dir)
            resume = resumable_checkpoint(folder, fingerprint)
        backbones.configure_devices()
        self.seed_ = resume[0]["seed"] if resume is not None else self._fit_seed()
        with seeded(self.seed_):
            return self._fit_corpus(corpus, resume, fingerprint)

    def _fit_corpus(self, corpus, resume, fingerprint):
        backbone, self.tokenizer_ = self._build_backbone(corpus)
        if self.tokenizer_.mask_id is None:
            raise InputError("The vocabulary has no [MASK] piece.")
        examples = self._examples()
        cache = {}
        if corpus.one_shot:
            per_epoch, total = None, self.max_steps
            self._check_first_chunk(corpus)
        else:
            per_epoch = examples.count_steps(corpus, cache)
            total = self.max_steps or self.epochs * per_epoch
        self.backbone_ = backbone
        self.model_ = self._build_model(backbone)
        self._compile(total)
        state = dict(step=0, epoch=0, chunk=0, batch=0, history={}, period={})
        self.resumed_from_ = None
        if resume is not None:
            restore(self.model_, resume[1], resume[2], os.fspath(self.checkpoint_dir))
            state.update({k: resume[0][k] for k in state})
            self.resumed_from_ = state["step"]
        elif self.checkpoint_dir is not None and self.preset is None:
            proto = self.tokenizer_.proto
            write_atomic(self.checkpoint_dir, VOCABULARY_FILE, lambda f: f.write(proto))
        fresh = state["step"] == 0
        first_loss = convergence.FirstLoss()
        self._train(
            examples, corpus, cache, state, total, per_epoch, fingerprint, first_loss
        )
        self._check_convergence(first_loss.value if fresh else None)
        return self

    def _check_convergence(self, first_loss):
        """``ConvergenceWarning`` for a non-finite loss, or a from-scratch run
        whose loss did not fall (continued pretraining of a preset may start
        near its best loss, so only non-finite losses count there)."""
        problem = convergence.diagnose(
            self.history_.get("loss", []),
            first=first_loss if self.preset is None else None,
        )
        convergence.warn(self, problem, from_scratch=False)

    def _check_first_chunk(self, corpus):
        """Refuse an empty stream before building a model for it."""
        first = next(corpus.chunks(self._chunk_chars), None)
        if first is None:
            raise InputError(empty_corpus_message(corpus))
        corpus.replay(first, corpus.iterator)

    def _train(
        self, examples, corpus, cache, state, total, per_epoch, fingerprint, first_loss
    ):
        data = StreamBatches(
            examples.stream(
                corpus,
                self.seed_,
                state["epoch"],
                (state["chunk"], state["batch"]),
                cache,
            ),
            total - state["step"],
            probe_batches(self.mask_rate, self.sop),
        )
        tracker = Tracker(
            self,
            data,
            state,
            total=total,
            log_period=self.log_every or per_epoch or total,
            fingerprint=fingerprint,
        )
        if state["step"] < total:
            self.model_.fit(
                fit_input(data),
                epochs=1,
                shuffle=False,  # the stream is served in order
                verbose=0,
                callbacks=[
                    tracker,
                    keras.callbacks.LambdaCallback(
                        on_train_batch_end=first_loss.on_train_batch_end
                    ),
                    *(self.callbacks or []),
                ],
            )
        self.history_ = tracker.history
        self.n_steps_ = tracker.step

    # === Score and export ===

    def score(self, corpus, y=None):
        """Masked-token accuracy of the MLM on ``corpus`` (fixed, seeded masking).

        Examples
        --------
        With ``pre`` fitted on ``docs`` as in the class example:

        >>> accuracy = pre.score(docs[:50])
        >>> 0.0 <= accuracy <= 1.0
        True
        >>> accuracy == pre.score(docs[:50])  # the masking is seeded
        True
        """
        self._check_is_fitted()
        corpus = Corpus(corpus, self.doc_sep)
        seed = self.random_state if self.random_state is not None else 0
        correct = total = 0
        batches = self._examples().epoch_batches(corpus, seed, epoch=2**31 - 1)
        for _, _, x, y_true, w in batches:
            logits = np.asarray(self.model_.predict_on_batch(x)["mlm"])
            hits = (logits.argmax(-1) == y_true["mlm"]) * w["mlm"]
            correct += float(hits.sum())
            total += float(w["mlm"].sum())
        if total == 0:
            raise InputError(empty_corpus_message(corpus))
        return correct / total

    def save_preset(self, path):
        """Write a keras-hub preset directory of the pretrained backbone and vocabulary.

        ``keras_hub.models.AlbertBackbone.from_preset(path)`` and
        ``AlbertTokenizer.from_preset(path)`` load it, and every albert_sk
        estimator accepts ``preset=path``. ``albert_sk.json`` beside records
        the normalisation (lower-casing, accents) the vocabulary expects.
        Returns ``path``.

        Examples
        --------
        With ``pre`` fitted on ``docs`` as in the class example:

        >>> import os, tempfile
        >>> import keras_hub
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pre.save_preset(os.path.join(folder, "my_albert"))
        ...     backbone = keras_hub.models.AlbertBackbone.from_preset(path)
        >>> backbone.hidden_dim, backbone.vocabulary_size == pre.tokenizer_.vocab_size
        (64, True)
        """
        self._check_is_fitted()
        return backbones.save_preset(self.backbone_, self.tokenizer_, path)

    def to_estimator(self, estimator, path):
        """Save the preset at ``path``; return ``estimator`` set to fine-tune from it.

        The one call between pretraining and fine-tuning: ``save_preset(path)``,
        then an unfitted clone of ``estimator`` (any albert_sk estimator) with
        ``preset=path`` and its other parameters kept. The clone keeps
        ``max_length`` if the preset holds that many positions, else the
        preset's maximum. ``path`` must stay: the estimator reads it at ``fit``
        (its saved model file then no longer needs it).

        Examples
        --------
        With ``pre`` fitted on ``docs`` as in the class example (pass an
        estimator's own ``X`` to :meth:`fit` to pretrain on its texts), and
        ``train`` the short reviews of :class:`~albert_sk.AlbertClassifier`'s:

        >>> import os, tempfile
        >>> from albert_sk import AlbertClassifier
        >>> short = train[train.text.str.len() < 40]  # pre has 32 positions
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     clf = pre.to_estimator(
        ...         AlbertClassifier(epochs=6, learning_rate=3e-3, random_state=0),
        ...         os.path.join(folder, "reviews_albert"),
        ...     )
        ...     print(os.path.basename(clf.preset), clf.max_length)
        ...     _ = clf.fit(short.text, short.label)
        reviews_albert 32
        >>> clf.predict(["A great phone.", "Awful, it broke."]).shape
        (2,)
        """
        from sklearn.base import clone

        if not isinstance(estimator, AlbertEstimator) or isinstance(
            estimator, AlbertPretrainer
        ):
            raise InputError(
                "to_estimator needs an albert_sk estimator to fine-tune (e.g. "
                f"AlbertClassifier()), but got {type(estimator).__name__}."
            )
        path = self.save_preset(path)
        positions = self.backbone_.max_sequence_length
        max_length = min(estimator.get_params()["max_length"], positions)
        return clone(estimator).set_params(preset=path, max_length=max_length)

    # === Persistence ===
    # keras-hub's MaskedLMHead serialises the token embedding it is tied to
    # as a layer of its own, so a model.keras of the whole model cannot be
    # reloaded. The file holds the backbone as model.keras and the head
    # weights in heads.npz; loading rebuilds the heads on the backbone, tied.

    _extra_members = ("heads.npz",)

    def _model_to_save(self):
        return self.backbone_

    def _extra_member_data(self):
        return {"heads.npz": heads_archive(self.model_, self.backbone_)}

    def _restore_model(self, model, extras):
        import keras_hub

        if not isinstance(model, keras_hub.models.AlbertBackbone):
            raise TypeError(
                f"model.keras holds a {type(model).__name__}, not a backbone"
            )
        self.backbone_ = model
        self.model_ = self._build_model(model)
        restore_heads(self.model_, model, extras["heads.npz"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:  # the backbone pickles; the heads as in save
            del state["model_"]
            state["_pickled_heads"] = self._extra_member_data()
        return state

    def __setstate__(self, state):
        heads = state.pop("_pickled_heads", None)
        self.__dict__.update(state)
        if heads is not None:
            self._restore_model(self.backbone_, heads)
