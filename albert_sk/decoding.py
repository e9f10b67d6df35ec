"""Tag sequences decoded as sequences (numpy only).

A tagger scores every tag of every word; the tags of a sentence must still
form a valid sequence of its scheme (an ``I-X`` continues an ``X`` entity,
an ``E-X`` ends one). This module holds:

* the scheme a tagger learns (:func:`model_scheme`: IOB1 becomes IOB2, the
  other schemes are learned as they are, so BIOES and BMES keep where
  entities end);
* the transitions a scheme allows between tags, and transition scores
  counted on the training tags (:func:`transition_scores`);
* Viterbi decoding of per-word log-probabilities plus transition scores
  (:func:`viterbi`), and each word's marginal tag probabilities under the
  same scores (:func:`marginals`, forward-backward), batched over sentences.

Transition matrices are ``(K + 1, K + 1)`` for ``K`` tags: the last row is
the start of a sentence, the last column its end. Forbidden transitions
score :data:`FORBIDDEN`, a finite number (the matrix is saved as JSON) far
below any sum of log-probabilities of a sentence.
"""

import numpy as np
from scipy.special import logsumexp

from albert_sk.align import split_tag

FORBIDDEN = -1e4
_LOG_FLOOR = 1e-30  # probabilities below this count as this (log -69)
_CHUNK = 256  # sentences decoded together


def model_scheme(scheme):
    """The scheme a tagger learns for tags written in ``scheme``.

    IOB1 is read as IOB2 (the same entities, one tag set); IOB2, BIOES and
    BMES are learned natively; None (plain labels) stays None.

    Examples
    --------
    >>> from albert_sk.decoding import model_scheme
    >>> model_scheme("IOB1"), model_scheme("BMES"), model_scheme(None)
    ('IOB2', 'BMES', None)
    """
    return "IOB2" if scheme == "IOB1" else scheme


def allowed_transitions(labels, scheme):
    """Boolean ``(K + 1, K + 1)``: True where ``scheme`` allows the transition.

    ``labels`` are the tags (in ``scheme``: IOB2, BIOES or BMES); index ``K``
    stands for the sentence boundary (row: start, column: end). With
    ``scheme=None`` every transition is allowed.

    Examples
    --------
    >>> from albert_sk.decoding import allowed_transitions
    >>> ok = allowed_transitions(["B-PER", "I-PER", "O"], "IOB2")
    >>> ok[[2, 0, 3], 1].tolist()  # O -> I-PER, B-PER -> I-PER, start -> I-PER
    [False, True, False]
    """
    k = len(labels)
    allowed = np.ones((k + 1, k + 1), dtype=bool)
    if scheme is None:
        return allowed
    parts = [split_tag(t) for t in labels] + [("O", None)]  # the boundary acts as O
    if scheme == "IOB2":
        for j, (prefix, kind) in enumerate(parts[:k]):
            if prefix == "I":  # continues a B-X or I-X of its own type only
                allowed[:, j] = [p in ("B", "I") and t == kind for p, t in parts]
        return allowed
    # BIOES / BMES: inside an entity (after B or I/M) only I/M or E of its type
    # may follow; outside one (after O, E, S or at the start) only O, B, S or
    # the end.
    inside = "BIM"
    for i, (p_prev, t_prev) in enumerate(parts):
        for j, (p_next, t_next) in enumerate(parts):
            if p_prev in inside:
                allowed[i, j] = p_next in "IME" and t_next == t_prev
            else:
                allowed[i, j] = p_next in "OBS"
    return allowed


def transition_scores(sequences, labels, scheme, *, smoothing=1.0, prior=True):
    """Transition scores counted on training tag sequences.

    ``log P(next | previous)``, less ``log P(next)`` with ``prior=True``: a
    tagger's probabilities ``p(tag | words)`` already hold how frequent each
    tag is, so Viterbi over ``log p(tag | words) - log P(tag) + log
    P(tag | previous)`` counts that frequency once (the hybrid reading of a
    hidden Markov model). Without it, a weakly trained model's rare entity
    tags lose to "O" everywhere (measured in ``benchmarks/bench_ner.py``).

    Parameters
    ----------
    sequences : list of int arrays
        Tag indices into ``labels``, one array per training sentence.
    labels : sequence of str
    scheme : {"IOB2", "BIOES", "BMES"} or None
    smoothing : float, default=1.0
        Added to every allowed transition's count (and to every tag's
        count), so a transition the training tags never show is unlikely,
        not impossible.
    prior : bool, default=True
        Subtract the log frequency of the next tag (not from the end column).

    Returns
    -------
    ndarray of float32, shape (K + 1, K + 1)
        The scores of the allowed transitions (row ``K``: the first tag of a
        sentence; column ``K``: its end), :data:`FORBIDDEN` where the scheme
        forbids the transition.

    Examples
    --------
    >>> import numpy as np
    >>> from albert_sk.decoding import transition_scores
    >>> labels = ["B-PER", "I-PER", "O"]
    >>> tags = [np.array([0, 1, 2]), np.array([2, 2])]
    >>> scores = transition_scores(tags, labels, "IOB2", prior=False)
    >>> # After O: O once, the end twice, plus 1 for each allowed transition
    >>> np.exp(scores[2, :2]).astype(float).round(3).tolist()  # B-PER, I-PER
    [0.167, 0.0]
    """
    k = len(labels)
    allowed = allowed_transitions(labels, scheme)
    counts = np.zeros((k + 1, k + 1), dtype=np.float64)
    for seq in sequences:
        if len(seq) == 0:
            continue
        path = np.concatenate([[k], np.asarray(seq, dtype=np.int64), [k]])
        np.add.at(counts, (path[:-1], path[1:]), 1.0)
    counts[k, k] = 0.0  # an empty sentence is no transition
    allowed[k, k] = False
    # How often each tag occurs (each occurrence has one predecessor).
    frequency = counts[:, :k].sum(axis=0) + smoothing
    counts = np.where(allowed, counts + smoothing, 0.0)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.log(counts / np.maximum(totals, 1e-300))
    if prior:
        scores[:, :k] -= np.log(frequency / frequency.sum())[None, :]
    return np.where(allowed, scores, FORBIDDEN).astype(np.float32)


def _sentence_chunks(probabilities, lengths):
    """Sentences of words' log-probabilities, padded into chunks of
    :data:`_CHUNK` sentences of about one length: yields ``(rows, n, emit,
    words)``, the chunk's sentence indexes, their lengths, the ``(sentences,
    positions, K)`` log-probabilities (past a sentence's end, its last word
    again) and the flat indexes of the chunk's real words, in
    ``emit[live]`` order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    emissions = np.log(np.maximum(np.asarray(probabilities, np.float64), _LOG_FLOOR))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    for first in range(0, len(order), _CHUNK):
        rows = order[first : first + _CHUNK]
        n = lengths[rows]
        offsets = np.minimum(np.arange(int(n.max())), n[:, None] - 1)
        index = starts[rows][:, None] + offsets
        live = np.arange(index.shape[1])[None, :] < n[:, None]
        yield rows, n, emissions[index], index[live]


def viterbi(probabilities, lengths, transitions):
    """The best tag sequence of each sentence.

    Parameters
    ----------
    probabilities : ndarray, shape (n_words, K)
        Each word's tag probabilities, the sentences' words one after another.
    lengths : sequence of int
        Words per sentence (summing to ``n_words``).
    transitions : ndarray, shape (K + 1, K + 1)
        Transition scores (see :func:`transition_scores`), added to the
        words' log-probabilities.

    Returns
    -------
    ndarray of int64, shape (n_words,)
        The tag index of every word, maximising the sum of the words'
        log-probabilities and the transition scores of each sentence.

    Examples
    --------
    >>> import numpy as np
    >>> from albert_sk.decoding import allowed_transitions, viterbi, FORBIDDEN
    >>> labels = ["B-PER", "I-PER", "O"]
    >>> scores = np.where(allowed_transitions(labels, "IOB2"), 0.0, FORBIDDEN)
    >>> p = np.array([[0.3, 0.5, 0.2], [0.2, 0.7, 0.1]])  # argmax: I-PER I-PER
    >>> [labels[i] for i in viterbi(p, [2], scores)]
    ['B-PER', 'I-PER']
    """
    k = transitions.shape[0] - 1
    trans = np.asarray(transitions, dtype=np.float64)
    out = np.zeros(int(np.sum(lengths)), dtype=np.int64)
    for rows, n, emit, words in _sentence_chunks(probabilities, lengths):
        width = emit.shape[1]
        live = np.arange(width)[None, :] < n[:, None]
        score = trans[k, :k][None, :] + emit[:, 0]
        back = np.zeros((len(rows), width, k), dtype=np.int32)
        step = trans[:k, :k][None, :, :]
        for t in range(1, width):
            total = score[:, :, None] + step  # (sentences, previous, next)
            best = total.argmax(axis=1)
            new = np.take_along_axis(total, best[:, None, :], axis=1)[:, 0]
            new = new + emit[:, t]
            keep = live[:, t][:, None]
            # past its end a sentence keeps its scores and points to itself
            score = np.where(keep, new, score)
            back[:, t] = np.where(keep, best, np.arange(k)[None, :])
        last = (score + trans[:k, k][None, :]).argmax(axis=1)
        path = np.zeros((len(rows), width), dtype=np.int64)
        path[:, -1] = last
        for t in range(width - 1, 0, -1):
            path[:, t - 1] = np.take_along_axis(back[:, t], path[:, t : t + 1], 1)[:, 0]
        out[words] = path[live]
    return out


def marginals(probabilities, lengths, transitions):
    """Each word's probability of each tag over all the sentence's sequences.

    The sequences are scored as :func:`viterbi` scores them (the words'
    log-probabilities plus the transition scores), so a sequence the scheme
    forbids gets (almost) no mass, and for a jointly trained CRF these are
    its exact marginals. Forward-backward in log space.

    Parameters
    ----------
    probabilities : ndarray, shape (n_words, K)
    lengths : sequence of int
    transitions : ndarray, shape (K + 1, K + 1)

    Returns
    -------
    ndarray of float32, shape (n_words, K)
        Rows sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from albert_sk.decoding import allowed_transitions, marginals, FORBIDDEN
    >>> labels = ["B-PER", "I-PER", "O"]
    >>> scores = np.where(allowed_transitions(labels, "IOB2"), 0.0, FORBIDDEN)
    >>> p = np.array([[0.3, 0.5, 0.2], [0.2, 0.7, 0.1]])
    >>> marginals(p, [2], scores).round(3)  # I-PER cannot start a sentence
    array([[0.833, 0.   , 0.167],
           [0.278, 0.583, 0.139]], dtype=float32)
    """
    k = transitions.shape[0] - 1
    trans = np.asarray(transitions, dtype=np.float64)
    out = np.zeros((int(np.sum(lengths)), k), dtype=np.float32)
    step = trans[:k, :k][None, :, :]  # (1, previous, next)
    end = trans[:k, k][None, :]
    for rows, n, emit, words in _sentence_chunks(probabilities, lengths):
        width = emit.shape[1]
        forward = np.empty_like(emit)
        forward[:, 0] = trans[k, :k][None, :] + emit[:, 0]
        for t in range(1, width):
            forward[:, t] = logsumexp(forward[:, t - 1, :, None] + step, axis=1)
            forward[:, t] += emit[:, t]
        backward = np.empty_like(emit)
        backward[:, -1] = end
        for t in range(width - 2, -1, -1):
            after = logsumexp(
                step + (emit[:, t + 1] + backward[:, t + 1])[:, None], axis=2
            )
            # a sentence's last word goes to the end; past it, nothing is read
            backward[:, t] = np.where((t >= n - 1)[:, None], end, after)
        last = forward[np.arange(len(rows)), n - 1]
        total = logsumexp(last + end, axis=1)
        posterior = np.exp(forward + backward - total[:, None, None])
        live = np.arange(width)[None, :] < n[:, None]
        out[words] = posterior[live]
    return out


def decode(probabilities, lengths, transitions, *, proba=True):
    """Each word's tag and tag probabilities: :func:`viterbi` and
    :func:`marginals` with ``transitions``; without them (plain labels),
    each word's most probable tag and its own probabilities. ``proba=False``
    skips the marginals (returning ``probabilities``).

    Returns
    -------
    best : ndarray of int64, shape (n_words,)
    probs : ndarray, shape (n_words, K)
    """
    if transitions is None or not len(probabilities):
        return probabilities.argmax(axis=1), probabilities
    best = viterbi(probabilities, lengths, transitions)
    if not proba:
        return best, probabilities
    return best, marginals(probabilities, lengths, transitions)
