"""``AlbertTagger``: token classification (NER, POS) with words in and words out."""

from itertools import chain
from numbers import Integral

import keras
import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval, StrOptions

from albert_sk import convergence
from albert_sk.align import (
    SCHEMES,
    entity_records,
    from_iob2,
    gold_tags,
    repair_iob2,
    split_words,
    to_iob2,
    warn_stray_inside_tags,
)
from albert_sk.batching import (
    TokenTargets,
)
from albert_sk.checks import check_sentences
from albert_sk.crf import OPEN_START, CRFMixin, chain_targets
from albert_sk.decoding import (
    FORBIDDEN,
    allowed_transitions,
    decode,
    model_scheme,
    transition_scores,
)
from albert_sk.exceptions import (
    InputError,
    ParameterError,
)
from albert_sk.finetuning import FineTunedEstimator
from albert_sk.heads import dense_head
from albert_sk.metrics import entity_f1_score
from albert_sk.windows import encode_word_windows, token_labels, word_probabilities


class AlbertTagger(CRFMixin, FineTunedEstimator):
    """Fine-tune ALBERT to tag every word of a sentence (NER, POS, chunking).

    Input is a list of word lists (CoNLL style, see
    :func:`albert_sk.io.read_conll`) with one tag list per sentence, or raw
    strings with character-span annotations ``[(start, end, label), ...]``
    that the tagger splits into words and converts to tags in ``scheme``. ``predict``
    returns one tag per input word, always: sentences longer than
    ``max_length`` pieces are split into overlapping windows of whole words,
    and each word takes its tag from the window where it has the most context
    on both sides; a single word of more pieces than a window holds is split
    across consecutive windows, so no piece is cut. :meth:`predict_entities`
    returns entities of raw texts with character offsets.

    Like a classifier it has ``classes_``, ``predict_proba`` and ``score``,
    but it is not a sklearn classifier: ``y`` holds sequences, which
    stratified cross-validation cannot split, so ``GridSearchCV(cv=5)`` uses
    plain ``KFold``.

    Parameters
    ----------
    preset, vocab_size, max_length, batch_size, weight_decay, warmup_ratio, \
max_grad_norm, dropout, validation_split, validation_data, early_stopping, \
patience, mixed_precision, jit_compile, random_state, verbose, callbacks, \
warm_start, distribution, lora_rank, inference_dtype
        As in :class:`~albert_sk.AlbertClassifier`. ``max_length`` counts the
        pieces of a window, ``[CLS]`` and ``[SEP]`` included; ``validation_data``
        is ``(X_val, y_val)`` in the form of ``X``/``y``.
    backbone : {"tiny", "small", "base"} or dict, default="tiny"
        Size of a model trained from scratch (ignored with a ``preset``).
        "tiny" tags best from scratch on the datasets measured
        (``docs/tagger.md``, "From scratch").
    epochs : int or "auto", default="auto"
        Passes over the training sentences. "auto" is 5 to fine-tune a
        ``preset`` and 40 from scratch, where a tagger learns slowly.
    learning_rate : float or "auto", default="auto"
        Peak AdamW learning rate. "auto" is 1e-4 with a ``preset`` and, from
        scratch, 3e-3 for "tiny", 1e-3 for "small", 1e-4 for "base".
    stride : int or "auto", default="auto"
        Pieces shared by consecutive windows of a long sentence (whole words
        only; at most ``max_length // 2``); "auto" is ``(max_length - 2) // 4``.
        Each word is predicted in the window where it is farthest from a
        window edge.
    label_all_tokens : bool, default=False
        Train on every piece of a word (True) or only on its first piece
        (False; the other pieces are left out of the loss).
    aggregation : {"first", "average", "max"}, default="first"
        How a word's tag is read from its pieces at predict time: the first
        piece's, the mean of the pieces' probabilities, or the piece with the
        most confident prediction.
    scheme : {"IOB2", "IOB1", "BIOES", "BMES"} or None, default="IOB2"
        Tag scheme of ``y`` and of the predictions. The model learns the tags
        as written: IOB2, BIOES and BMES (B/M/E/S, M inside: Chinese NER data
        such as Resume NER) natively, so it learns where entities end; IOB1
        as IOB2 (the same entities). Predictions are decoded as sequences:
        Viterbi over the words' tag probabilities and transition scores
        (``transitions_``, see ``transitions``), so every predicted sequence
        is valid in the scheme. None: plain labels (POS tags), each word's
        most probable tag; ``score`` is word accuracy.
    transitions : {"crf", "counted"}, default="crf"
        Where the transition scores of decoding come from. ``"crf"``: learned
        with the model, which trains on the likelihood of each whole gold
        tag sequence (a linear-chain CRF on its logits; from scratch, fit
        takes about 1.5 times as long). ``"counted"``: counted on the
        training tags, while the model learns each word's tag alone; its
        per-word probabilities then read right without the transitions, as
        a Hugging Face export reads them. Measured (docs/tagger.md,
        "Decoding"), the CRF's entity F1 is 8.0 points higher fine-tuning a
        pretrained encoder on WNUT-17 and 2.0-7.8 points higher from scratch
        on three Chinese NER sets, 1.4 lower from scratch on WNUT-17.
        Unused with ``scheme=None``.
    lowercase : bool, default=False
        Lower-case and strip accents for the vocabulary trained from scratch
        (``preset=None``). Off by default: capitals are the strongest cue for
        names. A preset keeps the normalisation of its own vocabulary.

    Attributes
    ----------
    classes_ : ndarray of str
        The tags seen in ``fit`` (in ``scheme``).
    labels_ : ndarray of str
        The tags the model outputs (in ``tag_scheme_``), one per logit
        column; the columns of :meth:`predict_proba`.
    tag_scheme_ : str or None
        The scheme the model learned: ``scheme``, except IOB2 for IOB1.
    transitions_ : ndarray of shape (n_labels + 1, n_labels + 1)
        Scores of one tag following another (``n_labels = len(labels_)``),
        added to the words' log-probabilities when decoding:
        learned as a CRF's (``transitions="crf"``), or ``log P(next |
        previous)`` counted on the training tags, less ``log P(next)`` (see
        :func:`albert_sk.decoding.transition_scores`); the last row is a
        sentence's first tag, the last column its end; ``-1e4`` where the
        scheme forbids the transition.
    model_ : keras.Model
        Backbone and a per-token dense head.
    tokenizer_ : albert_sk.text.Tokenizer
    history_ : dict of lists

    Examples
    --------
    Tag the opinion words of the review sentences shipped with albert_sk:

    >>> from albert_sk import AlbertTagger
    >>> from sklearn.model_selection import train_test_split
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()  # shipped with albert_sk
    >>> short = reviews[reviews.text.str.len() < 60]
    >>> train, test = train_test_split(short, train_size=400, test_size=200,
    ...                                random_state=0)
    >>> opinion = {"good", "great", "bad", "awful", "excellent", "terrible",
    ...            "best", "worst", "nice", "poor"}
    >>> def tags(words):
    ...     return ["B-OPINION" if w.lower().strip(".,!?") in opinion else "O"
    ...             for w in words]
    >>> X = [t.split() for t in train.text]
    >>> X_test = [t.split() for t in test.text]
    >>> tagger = AlbertTagger(backbone="tiny", vocab_size=500, max_length=48,
    ...                       epochs=6, learning_rate=3e-3, random_state=0)
    >>> tagger.fit(X, [tags(w) for w in X]).score(
    ...     X_test, [tags(w) for w in X_test]) > 0.5  # entity F1
    True
    >>> text = "A great film with a terrible ending."
    >>> found = tagger.predict_entities([text])[0]
    >>> all(text[e["start"]:e["end"]] == e["text"] for e in found)
    True
    """

    _parameter_constraints = {
        **FineTunedEstimator._parameter_constraints,
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "stride": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "label_all_tokens": ["boolean"],
        "aggregation": [StrOptions({"first", "average", "max"})],
        "scheme": [StrOptions(set(SCHEMES)), None],
        "transitions": [StrOptions({"crf", "counted"})],
        "lowercase": ["boolean"],
    }
    _saved_attributes = FineTunedEstimator._saved_attributes + (
        "classes_",
        "labels_",
        "tag_scheme_",
        "transitions_",
    )
    _hf_head = ("logits", "classifier", "AlbertForTokenClassification")
    # The head's rows are the tags the model learns (not classes_, in scheme).
    _head_labels = "labels_"
    # Files and pickles written before ``transitions`` existed counted them.
    _former_defaults = {"transitions": "counted"}
    _output_feature = "sequence_output"
    _allow_pairs = False
    # Measured from scratch on WNUT-17, Resume, Weibo and CLUENER2020
    # (bench_ner.py; docs/tagger.md), with a preset on all-MiniLM-L6-v2 and
    # WNUT-17 (bench_pretrained.py; docs/pretrained.md: the classifier's
    # 3e-5 for 3 epochs stays near all-"O", F1 0.015; 1e-4 for 5 reaches 0.47).
    _preset_learning_rate = 1e-4
    _auto_epochs = (5, 40)  # epochs="auto": (with a preset, from scratch)
    _scratch_learning_rates = ((64, 3e-3), (256, 1e-3), (768, 1e-4))

    def __init__(
        self,
        *,
        preset=None,
        backbone="tiny",
        vocab_size="auto",
        max_length=128,
        stride="auto",
        label_all_tokens=False,
        aggregation="first",
        scheme="IOB2",
        transitions="crf",
        lowercase=False,
        epochs="auto",
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
        self.stride = stride
        self.label_all_tokens = label_all_tokens
        self.aggregation = aggregation
        self.scheme = scheme
        self.transitions = transitions
        self.lowercase = lowercase

    # === Inputs ===

    def _check_X(self, X, *, reset):
        inputs = check_sentences(X, type(self).__name__)
        if reset:
            for attr in ("feature_names_in_", "n_features_in_"):
                self.__dict__.pop(attr, None)
        for text in inputs.texts or ():
            words, starts, ends = split_words(text)
            inputs.sentences.append(words)
            inputs.offsets.append((starts, ends))
        return inputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # tags (or spans) per sentence
        return tags

    def _check_params(self):
        super()._check_params()
        if self._stride() > self.max_length // 2:
            raise ParameterError(
                f"stride={self.stride} must be at most max_length // 2 = "
                f"{self.max_length // 2} (the pieces two windows share). "
                "Lower stride or raise max_length."
            )

    def _epochs(self):
        """``epochs``, or what "auto" means: few to fine-tune a preset, the
        measured number from scratch."""
        if self.epochs != "auto":
            return self.epochs
        return self._auto_epochs[self.preset is None]

    def _transition_source(self):
        """``transitions``, or "counted" for plain labels (``scheme=None``),
        which decode word by word."""
        return "counted" if self.scheme is None else self.transitions

    def _export_loss(self):
        if self._transition_source() != "crf":
            return None
        return (
            "transitions='crf' (the default) trained this tagger's transitions "
            "with it, and a Hugging Face model has none: transformers reads "
            "each token's argmax, which scored entity F1 0.04-0.09 where "
            "predict scored 0.10-0.89 on four NER sets (benchmarks/bench_ner.py, "
            "from scratch). To export a tagger for transformers, fit it with "
            "transitions='counted' (argmax 0.11-0.62 on the same sets)."
        )

    def _stride(self):
        if self.stride == "auto":
            return (self.max_length - 2) // 4
        return self.stride

    def _fit_targets(self, tags, user, scheme):
        """Set the tags fit learns from ``y`` (``gold_tags`` in ``scheme``)."""
        seen = sorted({t for sentence in tags for t in sentence})
        if not seen:
            raise InputError(
                f"{type(self).__name__}.fit needs at least one word with a "
                "tag, but every sentence is empty."
            )
        index = {t: k for k, t in enumerate(seen)}
        sequences = [np.fromiter(map(index.get, s), np.int64, len(s)) for s in tags]
        self.labels_, self.classes_ = np.asarray(seen), np.asarray(sorted(user))
        self.tag_scheme_ = scheme
        self.transitions_ = transition_scores(sequences, seen, scheme)

    def _check_y(self, y, inputs, *, reset=False):
        scheme = model_scheme(self.scheme) if reset else self.tag_scheme_
        who = type(self).__name__
        tags, user, inputs = gold_tags(y, inputs, self.scheme, scheme, who)
        if reset:
            warn_stray_inside_tags(tags, scheme)
        if scheme is not None and self._transition_source() == "crf":
            # A CRF scores whole sequences, so an invalid one (a stray I-X,
            # warned about) is learned as the valid sequence decoding reads.
            tags = [from_iob2(repair_iob2(to_iob2(t, scheme)), scheme) for t in tags]
        if reset:
            self._fit_targets(tags, user, scheme)
        index = {t: k for k, t in enumerate(self.labels_.tolist())}
        unknown = sorted({t for s in tags for t in s if t not in index})
        if unknown:
            raise InputError(
                f"y holds tags {unknown} that {type(self).__name__} was not "
                f"fitted on (labels_ = {self.labels_.tolist()}). Refit without "
                "warm_start to learn new tags."
            )
        return [np.asarray([index[t] for t in s], dtype=np.int32) for s in tags], inputs

    def _after_load(self):
        super()._after_load()
        if not hasattr(self, "transitions_"):
            # A file saved before structured decoding: its model learned IOB2
            # (or plain labels); decode with the transitions IOB2 allows.
            self.tag_scheme_ = None if self.scheme is None else "IOB2"
            allowed = allowed_transitions(self.labels_.tolist(), self.tag_scheme_)
            self.transitions_ = np.where(allowed, 0.0, FORBIDDEN).astype(np.float32)

    # === Windows ===

    def _encode(self, inputs):
        """Windows of whole words as ``[CLS] pieces [SEP]`` rows
        (:func:`albert_sk.windows.encode_word_windows`)."""
        return encode_word_windows(
            self.tokenizer_, inputs.sentences, self.max_length - 2, self._stride()
        )

    def _encode_fit(self, inputs, targets):
        encoded = self._encode(inputs)
        labels = token_labels(encoded, targets, self.label_all_tokens)
        if self._transition_source() == "crf":
            fields = encoded.token_fields
            first, cut = fields["first"], fields["cut"]
            labels = chain_targets(labels, first, cut, encoded.starts)
        return encoded, TokenTargets(
            labels.astype(np.int32), encoded.starts, encoded.lengths
        )

    def _take_targets(self, targets, rows):
        return targets.subset(rows)

    def _expand_weights(self, weights, encoded):
        # One weight per window, shaped (n, 1) to scale each of its tokens.
        return weights[encoded.source_rows][:, None]

    # === Model ===

    def _build_head(self, features):
        units = len(self.labels_)
        return dense_head(features, units, dropout=self.dropout, name="logits")

    def _get_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=-1
        )

    def _constant_loss(self, targets, weights):
        labels = targets.labels[(targets.labels != -1) & (targets.labels > OPEN_START)]
        labels = np.where(labels <= -2, -2 - labels, labels)  # the CRF's marks
        loss = convergence.constant_classification_loss(labels, None, len(self.labels_))
        return loss, "the tag frequencies"

    # === Prediction ===

    def _word_probabilities(self, inputs):
        """Probabilities over ``labels_`` for every word, all sentences flat."""
        encoded = self._encode(inputs)
        n_total = sum(map(len, inputs.sentences))
        if len(encoded) == 0:
            return np.zeros((n_total, len(self.labels_)), dtype=np.float32)
        logits = np.concatenate(self._run_model(encoded)).astype(np.float32)
        probs = softmax(logits, axis=-1)
        return word_probabilities(encoded, probs, n_total, self.aggregation)

    def _split_sentences(self, flat, inputs):
        bounds = np.cumsum([len(s) for s in inputs.sentences])[:-1]
        return np.split(flat, bounds)

    def _decode(self, inputs, proba=True):
        """Each sentence's tags in ``tag_scheme_``, the probability of each
        chosen tag, and every word's probabilities (``predict_proba``; with
        ``proba=False`` the model's own, which costs no forward-backward).

        Entity tags are decoded as sequences: Viterbi over the words'
        log-probabilities plus ``transitions_``, so every sequence is valid
        in the scheme, and each word's probabilities are its marginals over
        the sentence's sequences scored the same way. Plain labels
        (``scheme=None``) take each word's most probable tag.
        """
        emissions = self._word_probabilities(inputs)
        lengths = [len(words) for words in inputs.sentences]
        transitions = None if self.tag_scheme_ is None else self.transitions_
        best, probs = decode(emissions, lengths, transitions, proba=proba)
        scores = probs[np.arange(len(best)), best]
        out = [self.labels_[b].tolist() for b in self._split_sentences(best, inputs)]
        return out, self._split_sentences(scores, inputs), probs

    def _user_tags(self, tags):
        """One decoded sentence in ``scheme`` (IOB1 is learned as IOB2, and
        a model file saved before structured decoding learned IOB2)."""
        if self.tag_scheme_ == self.scheme:
            return tags
        return from_iob2(to_iob2(tags, self.tag_scheme_), self.scheme)

    def predict(self, X):
        """One tag per word of each sentence, in ``scheme``.

        For raw strings the words are those of
        :func:`albert_sk.align.split_words`.

        Returns
        -------
        list of list of str
            ``len(result[i]) == len(X[i])`` for word lists, always.

        Examples
        --------
        With ``tagger`` fitted as in the class example:

        >>> X = [["A", "great", "film", "."], ["Boring", "."]]
        >>> [len(t) for t in tagger.predict(X)]  # one tag per word
        [4, 2]
        >>> set(sum(tagger.predict(X), [])) <= set(tagger.classes_)
        True
        """
        self._check_is_fitted()
        inputs = self._check_X(X, reset=False)
        tags, _, _ = self._decode(inputs, proba=False)
        return [self._user_tags(t) for t in tags]

    def predict_proba(self, X):
        """Per-word probabilities, one ``(n_words, len(labels_))`` array a sentence.

        With a tag scheme these are each word's marginal probabilities: the
        share of every tag sequence of the sentence, scored as
        :meth:`predict` scores them (the words' tag probabilities and
        ``transitions_``), in which the word has that tag. A tag the scheme
        forbids at that place (an ``I-X`` after ``O``) gets almost none.
        :meth:`predict` takes the single best sequence, so its tag is
        nearly always, not always, a row's most probable one. With
        ``scheme=None`` they are each word's own probabilities.

        Examples
        --------
        With ``tagger`` fitted as in the class example:

        >>> proba = tagger.predict_proba([["A", "great", "film", "."]])
        >>> proba[0].shape, tagger.labels_.tolist()
        ((4, 2), ['B-OPINION', 'O'])
        >>> proba[0].sum(axis=1).round(6).tolist()
        [1.0, 1.0, 1.0, 1.0]
        """
        self._check_is_fitted()
        inputs = self._check_X(X, reset=False)
        _, _, probs = self._decode(inputs)
        return self._split_sentences(probs, inputs)

    def predict_entities(self, texts, as_frame=False):
        """Entities of raw texts with character offsets into each text.

        Parameters
        ----------
        texts : list of str
        as_frame : bool, default=False
            Return one DataFrame with columns ``row`` (the index of the text),
            ``text``, ``label``, ``start``, ``end`` and ``score``.

        Returns
        -------
        list of list of dict, or DataFrame
            Per text, ``{"text", "label", "start", "end", "score"}`` records
            with ``texts[i][start:end] == text``; ``score`` is the mean
            marginal probability (:meth:`predict_proba`) of the entity's
            word tags.

        Examples
        --------
        With ``tagger`` fitted as in the class example:

        >>> texts = ["A great film, a terrible ending.", "Nothing here."]
        >>> found = tagger.predict_entities(texts)
        >>> all(texts[i][e["start"]:e["end"]] == e["text"]
        ...     for i, records in enumerate(found) for e in records)
        True
        >>> tagger.predict_entities(texts, as_frame=True).columns.tolist()
        ['row', 'text', 'label', 'start', 'end', 'score']
        """
        self._check_is_fitted()
        if self.scheme is None:
            raise InputError(
                "predict_entities needs entity tags (scheme='IOB2', 'IOB1', "
                "'BIOES' or 'BMES'), but this tagger was fitted with scheme=None."
            )
        inputs = self._check_X(texts, reset=False)
        if inputs.texts is None:
            raise InputError(
                "predict_entities expects raw strings (character offsets are "
                "offsets into them), but got word lists. Use predict for word "
                "lists, or pass the texts."
            )
        tags, scores, _ = self._decode(inputs)
        result = [
            entity_records(text, to_iob2(sentence, self.tag_scheme_), *offsets, score)
            for text, sentence, score, offsets in zip(
                inputs.texts, tags, scores, inputs.offsets, strict=True
            )
        ]
        if not as_frame:
            return result
        columns = ["row", "text", "label", "start", "end", "score"]
        rows = [{"row": i, **r} for i, records in enumerate(result) for r in records]
        return pd.DataFrame(rows, columns=columns)

    def score(self, X, y, sample_weight=None):
        """Entity-level micro F1 (strict, as ``seqeval``; entities read in
        the fitted scheme); word accuracy when ``scheme=None``.

        ``X``/``y`` take the forms of ``fit``; tags ``y`` never seen in fit
        are allowed.

        Examples
        --------
        With ``tagger``, its tagging function ``tags`` and ``test`` as in the
        class example:

        >>> X_test = [t.split() for t in test.text]
        >>> tagger.score(X_test, [tags(w) for w in X_test]) > 0.5  # entity F1
        True
        """
        self._check_is_fitted()
        if sample_weight is not None:
            raise InputError(
                "AlbertTagger.score does not take sample_weight (entity F1 "
                "pools entities across sentences); pass sample_weight=None."
            )
        inputs = self._check_X(X, reset=False)
        who = type(self).__name__
        gold, _, inputs = gold_tags(y, inputs, self.scheme, self.tag_scheme_, who)
        pred, _, _ = self._decode(inputs, proba=False)
        if self.scheme is None:  # word accuracy
            gold, pred = list(chain(*gold)), list(chain(*pred))
            return float(accuracy_score(gold, pred)) if gold else 0.0
        return entity_f1_score(gold, pred, scheme=self.tag_scheme_)
