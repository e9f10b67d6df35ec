"""``AlbertQA``: extractive question answering (SQuAD 1.1 and 2.0).

Each question is packed with its context as ``[CLS] question [SEP] window
[SEP]``, one row per window of the context; the model scores every token as
the start and the end of the answer, and decoding maps the best token span
back to exact character offsets in the original context.
"""

import warnings
from numbers import Integral, Real

import keras
import numpy as np
import pandas as pd
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from albert_sk.align import (
    char_span_to_tokens,
    top_spans,
)
from albert_sk.batching import split_rows
from albert_sk.checks import (
    QAInput,
    check_qa_answers,
    check_qa_inputs,
    check_sample_weight,
)
from albert_sk.exceptions import (
    DataLossWarning,
    InputError,
    ParameterError,
    first_rows,
    user_stacklevel,
)
from albert_sk.finetuning import FineTunedEstimator
from albert_sk.heads import dense_head
from albert_sk.metrics import answer_f1, squad_f1
from albert_sk.windows import encode_question_windows


@keras.saving.register_keras_serializable(package="albert_sk")
class SpanLoss(keras.losses.Loss):
    """Mean of the start and end sparse cross-entropies over the token axis.

    ``y_true`` is ``(batch, 2)`` token indices of the answer's first and last
    token (0, the ``[CLS]`` token, for no answer); ``y_pred`` is
    ``(batch, length, 2)`` start and end logits.
    """

    def call(self, y_true, y_pred):
        y_true = keras.ops.cast(y_true, "int32")
        y_pred = keras.ops.cast(y_pred, "float32")
        start = keras.losses.sparse_categorical_crossentropy(
            y_true[:, 0], y_pred[:, :, 0], from_logits=True
        )
        end = keras.losses.sparse_categorical_crossentropy(
            y_true[:, 1], y_pred[:, :, 1], from_logits=True
        )
        return (start + end) / 2.0


class AlbertQA(FineTunedEstimator):
    """Fine-tune ALBERT to answer questions with a span of a context passage.

    Extractive question answering as in SQuAD 1.1, and SQuAD 2.0 where some
    questions have no answer in their context. Contexts longer than a window
    are read in overlapping windows; answers are returned as exact character
    spans of the original context.

    Parameters
    ----------
    preset, backbone, vocab_size, epochs, batch_size, learning_rate, \
weight_decay, warmup_ratio, max_grad_norm, dropout, validation_split, \
validation_data, early_stopping, patience, mixed_precision, jit_compile, \
random_state, verbose, callbacks, warm_start, \
distribution, lora_rank, inference_dtype
        As in :class:`~albert_sk.AlbertClassifier`, except that
        ``learning_rate="auto"`` with a preset is 1e-4 (measured on SQuAD,
        docs/pretrained.md). ``validation_split`` holds out whole questions
        (all windows of a question stay together).
    max_length : int, default=384
        Tokens per window: ``[CLS] question [SEP] context part [SEP]``.
    doc_stride : int, default=128
        Tokens between the starts of consecutive windows over a long context
        (BERT's SQuAD setting), at most the window's context size.
    max_query_length : int, default=64
        Question tokens kept; longer questions are truncated with one
        :class:`~albert_sk.exceptions.TruncationWarning` that counts them.
        At most ``max_length - 4``.
    n_best_size : int, default=20
        Best start and end tokens tried per window.
    max_answer_length : int, default=30
        Longest answer, in tokens.
    allow_no_answer : bool, default=False
        SQuAD 2.0: predict ``""`` when no span scores above the no-answer
        ("null", ``[CLS]``) score plus ``null_score_threshold``.
    null_score_threshold : float or "auto", default=0.0
        Margin a span must beat the null score by. ``"auto"`` picks the value
        that maximises SQuAD F1 on the validation questions
        (``validation_data`` or ``validation_split``).

    Attributes
    ----------
    model_ : keras.Model
        Backbone and a ``Dense(2)`` head: start and end logits per token.
    tokenizer_ : albert_sk.text.Tokenizer
    history_ : dict of lists
    null_score_threshold_ : float
        The threshold used by ``predict`` (chosen in ``fit`` with "auto").

    Examples
    --------
    >>> from albert_sk import AlbertQA
    >>> people = "Ann Bob Cleo Dmitri Eve Farid Greta Hugo Ines Jon".split()
    >>> cities = "Paris Lima Oslo Kyoto Cairo Quito Perth Bern Dakar Hanoi".split()
    >>> X = [{"question": f"Where was {p} born?",
    ...       "context": f"{p} was born in {c} in {1950 + 7 * k}."}
    ...      for k, (p, c) in enumerate(zip(people, cities))]
    >>> y = cities
    >>> qa = AlbertQA(backbone="tiny", vocab_size=64, max_length=48,
    ...               max_query_length=20, epochs=2, random_state=0)
    >>> qa.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> span = qa.predict_spans(X[:1])[0][0]
    >>> X[0]["context"][span["start"] : span["end"]] == span["answer"]
    True
    """

    _parameter_constraints = {
        **FineTunedEstimator._parameter_constraints,
        "doc_stride": [Interval(Integral, 1, None, closed="left")],
        "max_query_length": [Interval(Integral, 1, None, closed="left")],
        "n_best_size": [Interval(Integral, 1, None, closed="left")],
        "max_answer_length": [Interval(Integral, 1, None, closed="left")],
        "allow_no_answer": ["boolean"],
        "null_score_threshold": [
            Interval(Real, None, None, closed="neither"),
            StrOptions({"auto"}),
        ],
    }
    _saved_attributes = FineTunedEstimator._saved_attributes + (
        "null_score_threshold_",
    )
    _hf_head = ("span_logits", "qa_outputs", "AlbertForQuestionAnswering")
    _json_records = True  # {"question": ..., "context": ...}
    _output_feature = "sequence_output"
    # learning_rate="auto" with a preset, measured on all-MiniLM-L6-v2 on
    # SQuAD by article, 2,500 training questions, 3 seeds
    # (benchmarks/bench_pretrained.py; docs/pretrained.md): 1e-4 for 3
    # epochs reaches F1 0.51-0.55 on unseen articles, 3e-5 stays at 0.17.
    _preset_learning_rate = 1e-4

    def __init__(
        self,
        *,
        preset=None,
        backbone="small",
        vocab_size="auto",
        max_length=384,
        doc_stride=128,
        max_query_length=64,
        n_best_size=20,
        max_answer_length=30,
        allow_no_answer=False,
        null_score_threshold=0.0,
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
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.n_best_size = n_best_size
        self.max_answer_length = max_answer_length
        self.allow_no_answer = allow_no_answer
        self.null_score_threshold = null_score_threshold

    # === Checks ===

    def _check_X(self, X, *, reset):
        if reset:
            for attr in ("feature_names_in_", "n_features_in_"):
                self.__dict__.pop(attr, None)
        return check_qa_inputs(X, type(self).__name__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True  # a question and a context column
        tags.target_tags.required = True  # one answer per question
        return tags

    def _check_params(self):
        super()._check_params()
        who = type(self).__name__
        if self.max_query_length > self.max_length - 4:
            raise ParameterError(
                f"The 'max_query_length' parameter of {who} must be at most "
                f"max_length - 4 = {self.max_length - 4}, to leave room for the "
                f"context. Got {self.max_query_length} with max_length="
                f"{self.max_length}. Lower max_query_length or raise max_length."
            )
        if (
            self._auto_threshold()
            and self.validation_data is None
            and not self.validation_split
        ):
            raise ParameterError(
                f"{who}(null_score_threshold='auto') picks the threshold on "
                "validation questions, but neither validation_data nor "
                "validation_split is set. Pass one of them, or a number."
            )

    def _auto_threshold(self):
        return self.allow_no_answer and isinstance(self.null_score_threshold, str)

    def _check_y(self, y, inputs, *, reset=False):
        return check_qa_answers(y, inputs, type(self).__name__), inputs

    # === Windows ===

    def _encode_windows(self, inputs):
        """One row per window of each question's context, and where rows
        come from (:func:`albert_sk.windows.encode_question_windows`)."""
        return encode_question_windows(
            self.tokenizer_,
            inputs.questions,
            inputs.contexts,
            self.max_length,
            self.max_query_length,
            self.doc_stride,
        )

    def _encode_fit(self, inputs, spans):
        """Windows and their ``(start, end)`` row positions; [CLS] when outside."""
        encoded, windows = self._encode_windows(inputs)
        targets = np.zeros((len(encoded), 2), dtype="int32")
        no_token, too_long = [], set()
        answered = np.zeros(len(inputs), bool)
        for w, i in enumerate(windows.example):
            if not spans[i]:
                continue
            tokens = char_span_to_tokens(
                windows.starts[i], windows.ends[i], *spans[i][0]
            )
            if tokens is None:
                if not no_token or no_token[-1] != i:
                    no_token.append(i)
                continue
            lo, hi = windows.first[w], windows.first[w] + windows.length[w]
            if lo <= tokens[0] and tokens[1] < hi:
                targets[w] = np.asarray(tokens) - lo + windows.offset[w]
                answered[i] = True
            else:
                too_long.add(i)
        too_long = sorted(too_long.difference(np.flatnonzero(answered).tolist()))
        if no_token or too_long:
            self._warn_lost_answers(len(inputs), no_token, too_long)
        return encoded, targets

    def _warn_lost_answers(self, n, no_token, too_long):
        """One warning for the answers trained as "no answer" (none silently)."""
        parts = []
        if no_token:
            parts.append(
                f"{len(no_token)} cover no token of their context (rows "
                f"{first_rows(no_token)}: the answer is whitespace or "
                "characters the tokenizer drops, such as lone accents)"
            )
        if too_long:
            parts.append(
                f"{len(too_long)} fit in no window whole (rows "
                f"{first_rows(too_long)}: the answer is longer than the context "
                "part of a window, or doc_stride leaves no window around it)"
            )
        warnings.warn(
            f"{len(no_token) + len(too_long)} of {n} answers cannot be located in "
            f"the model's windows and were trained as 'no answer': "
            f"{'; '.join(parts)}. Fix those answers, or raise max_length (or "
            "lower doc_stride) so each answer fits in a window.",
            DataLossWarning,
            stacklevel=user_stacklevel(),
        )

    def _split(self, encoded, targets, weights, seed):
        """``validation_split`` holds out whole questions, with all their
        windows, drawn as the base draws rows (``split_rows``, this fit's
        ``seed``)."""
        if self.validation_data is not None or not self.validation_split:
            return super()._split(encoded, targets, weights, seed)
        examples = np.unique(encoded.source_rows)
        if len(examples) < 2:
            raise InputError(
                "validation_split needs at least two questions to hold some out, "
                f"but got {len(examples)}. Pass more questions or "
                "validation_split=None."
            )
        _, held_out = split_rows(len(examples), self.validation_split, seed)
        held_out = examples[held_out]
        is_val = np.isin(encoded.source_rows, held_out)

        def take(rows):
            w = None if weights is None else weights[rows]
            return encoded.subset(rows), targets[rows], w

        return take(np.flatnonzero(~is_val)), take(np.flatnonzero(is_val))

    # === Model ===

    def _build_head(self, features):
        return dense_head(features, 2, dropout=self.dropout, name="span_logits")

    def _get_loss(self):
        return SpanLoss(name="span_loss")

    # === Training ===

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fine-tune on questions ``X`` and answers ``y``; returns ``self``.

        Parameters
        ----------
        X : DataFrame or list of dict
            ``question`` and ``context`` columns (keys); other columns, such
            as those of :func:`albert_sk.io.read_squad`, are ignored.
        y : sequence
            One answer per question: a string (located at its first
            occurrence in the context), a ``{"text", "answer_start"}`` dict,
            or a list of them (the first one is trained on). ``""``, ``None``
            or ``[]``: no answer (SQuAD 2.0).
        sample_weight : array of shape (n_questions,), default=None

        Examples
        --------
        With ``qa`` fitted on ``questions`` (the class example's ``X``) and
        ``answers`` (its ``y``) as in the class example:

        >>> questions[0]
        {'question': 'Where was Ann born?', 'context': 'Ann was born in Paris in 1950.'}
        >>> len(qa.history_["loss"]), qa.null_score_threshold_
        (2, 0.0)
        """
        inputs, spans, val = self._fit(X, y, sample_weight)
        self.null_score_threshold_ = (
            0.0 if self._auto_threshold() else float(self.null_score_threshold)
        )
        if self._auto_threshold():
            if self.validation_data is not None:
                X_val, y_val = self.validation_data
                inputs = self._check_X(X_val, reset=False)
                spans, inputs = self._check_y(y_val, inputs)
            else:  # the questions validation_split held out
                held_out = np.unique(val[0].source_rows)
                inputs = QAInput(
                    [inputs.questions[i] for i in held_out],
                    [inputs.contexts[i] for i in held_out],
                )
                spans = [spans[i] for i in held_out]
            self.null_score_threshold_ = self._best_threshold(inputs, spans)
        return self

    def _best_threshold(self, inputs, spans):
        """The null score margin that maximises F1 on these questions."""
        golds = _gold_texts(inputs, spans)
        candidates, nulls = self._candidates(inputs, self.model_)
        diffs = np.asarray(
            [
                c[0][0] - n if c else -np.inf
                for c, n in zip(candidates, nulls, strict=True)
            ]
        )
        answered = np.asarray(
            [
                max(answer_f1(ctx[c[0][1] : c[0][2]], g) for g in gold) if c else 0.0
                for c, ctx, gold in zip(candidates, inputs.contexts, golds, strict=True)
            ]
        )
        unanswered = np.asarray([float(gold == [""]) for gold in golds])
        # Thresholds halfway between the sorted margins (and beyond both
        # ends), so no question sits on the boundary of the chosen one.
        finite = np.unique(diffs[np.isfinite(diffs)])
        if not len(finite):
            return 0.0
        thresholds = np.concatenate(
            [[finite[0] - 1.0], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 1.0]]
        )
        take = diffs[None, :] > thresholds[:, None]
        f1 = np.where(take, answered[None, :], unanswered[None, :]).mean(axis=1)
        return float(thresholds[int(np.argmax(f1))])

    # === Prediction ===

    def _candidates(self, inputs, model=None):
        """Per question: ``(score, start, end)`` spans, best first; and null
        scores (of ``model``: ``fit`` tunes the threshold on ``model_``)."""
        encoded, windows = self._encode_windows(inputs)
        logits = self._run_model(encoded, model)
        spans = [{} for _ in range(len(inputs))]
        nulls = np.full(len(inputs), np.inf)
        for w, i in enumerate(windows.example):
            row = np.asarray(logits[w], dtype=np.float64)
            nulls[i] = min(nulls[i], row[0, 0] + row[0, 1])
            lo, n, off = windows.first[w], windows.length[w], windows.offset[w]
            char_starts = windows.starts[i][lo : lo + n]
            char_ends = windows.ends[i][lo : lo + n]
            real = char_ends > char_starts  # not a bare word-boundary piece
            s, e, scores = top_spans(
                row[off : off + n, 0],
                row[off : off + n, 1],
                real,
                real,
                n_best_size=self.n_best_size,
                max_length=self.max_answer_length,
            )
            for a, b, score in zip(s, e, scores, strict=True):
                key = (int(char_starts[a]), int(char_ends[b]))
                if score > spans[i].get(key, -np.inf):
                    spans[i][key] = float(score)
        ranked = [
            sorted(((v, a, b) for (a, b), v in found.items()), key=lambda t: -t[0])
            for found in spans
        ]
        return ranked, nulls

    def predict_spans(self, X, n_best=1, as_frame=False):
        """The ``n_best`` best answers of each question, as character spans.

        Parameters
        ----------
        X : DataFrame or list of dict
            ``question`` and ``context`` columns (keys).
        n_best : int, default=1
        as_frame : bool, default=False
            Return one DataFrame (columns ``row``, ``rank``, ``answer``,
            ``start``, ``end``, ``score``) instead of lists.

        Returns
        -------
        list of list of dict
            Per question, up to ``n_best`` records ``{"answer", "start",
            "end", "score"}``, best first, with
            ``context[start:end] == answer``. ``score`` is the sum of the
            start and end logits. With ``allow_no_answer=True`` the no-answer
            record ``{"answer": "", "start": 0, "end": 0}`` competes with
            score null score + ``null_score_threshold_``.

        Examples
        --------
        With ``qa`` fitted on ``questions`` as in the class example (a model
        this small answers little right, but every span is exact):

        >>> spans = qa.predict_spans(questions[:2], n_best=3)
        >>> [len(s) for s in spans]
        [3, 3]
        >>> all(q["context"][r["start"]:r["end"]] == r["answer"]
        ...     for q, s in zip(questions, spans) for r in s)
        True
        >>> qa.predict_spans(questions[:2], as_frame=True).columns.tolist()
        ['row', 'rank', 'answer', 'start', 'end', 'score']
        """
        self._check_is_fitted()
        if isinstance(n_best, bool) or not isinstance(n_best, Integral) or n_best < 1:
            raise InputError(
                f"n_best must be an int >= 1, but got {n_best!r}. Pass n_best=1 "
                "or more."
            )
        inputs = self._check_X(X, reset=False)
        candidates, nulls = self._candidates(inputs)
        out = []
        for found, null, context in zip(
            candidates, nulls, inputs.contexts, strict=True
        ):
            records = [
                {"answer": context[a:b], "start": a, "end": b, "score": score}
                for score, a, b in found[: n_best + 1]
            ]
            if self.allow_no_answer or not records:
                null_score = float(null + self.null_score_threshold_)
                place = sum(r["score"] > null_score for r in records)
                records.insert(
                    place, {"answer": "", "start": 0, "end": 0, "score": null_score}
                )
            out.append(records[:n_best])
        if not as_frame:
            return out
        frame = [
            {"row": i, "rank": r, **record}
            for i, records in enumerate(out)
            for r, record in enumerate(records)
        ]
        columns = ["row", "rank", "answer", "start", "end", "score"]
        return pd.DataFrame(frame, columns=columns)

    def predict(self, X):
        """Answer strings in input order; ``""`` where there is no answer.

        Examples
        --------
        With ``qa`` fitted on ``questions`` as in the class example:

        >>> predicted = qa.predict(questions[:3])
        >>> predicted.shape
        (3,)
        >>> all(a in q["context"] for a, q in zip(predicted, questions))
        True
        """
        best = self.predict_spans(X, n_best=1)
        return np.asarray([records[0]["answer"] for records in best], dtype=object)

    def score(self, X, y, sample_weight=None):
        """SQuAD F1 (0 to 1) of ``predict(X)``, max over each question's answers.

        The official script's percentages: :func:`albert_sk.metrics.squad_evaluate`.

        Examples
        --------
        With ``qa`` fitted on ``questions`` and ``answers`` as in the class
        example:

        >>> 0.0 <= qa.score(questions, answers) <= 1.0
        True
        """
        inputs = self._check_X(X, reset=False)
        golds = _gold_texts(inputs, self._check_y(y, inputs)[0])
        predictions = self.predict(X)
        if sample_weight is None:
            return squad_f1(golds, predictions)
        weights = check_sample_weight(sample_weight, len(inputs))
        per_question = [
            max(answer_f1(p, g) for g in gold)
            for p, gold in zip(predictions, golds, strict=True)
        ]
        return float(np.average(per_question, weights=weights))


def _gold_texts(inputs, spans):
    return [
        [context[a:b] for a, b in found] or [""]
        for context, found in zip(inputs.contexts, spans, strict=True)
    ]
