"""Sliding windows over words (tagging) and over tokens (QA contexts).

One meaning of overlap everywhere: ``overlap`` is what consecutive windows
share (pieces of whole words, or tokens), as Hugging Face's ``stride``. The
tagger's ``stride`` parameter is this overlap; QA's ``doc_stride`` is BERT's
step between window starts, so ``AlbertQA`` passes
``overlap = size - doc_stride``. The rows of both are built here too:
the tagger's windows of whole words (:func:`encode_word_windows`, read
back by :func:`token_labels` and :func:`word_probabilities`) and QA's
question and context windows (:func:`encode_question_windows`). numpy only.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from albert_sk.align import CJK_PATTERN
from albert_sk.batching import Encoded, exclusive_cumsum, ragged_positions
from albert_sk.exceptions import (
    DataLossWarning,
    TruncationWarning,
    first_rows,
    user_stacklevel,
)

_NO_EDGE = 1 << 30  # context score of a word next to a sentence edge


def word_windows(counts, size, overlap):
    """Overlapping windows of whole words, each at most ``size`` pieces long.

    Parameters
    ----------
    counts : array of int
        Pieces per word, each in ``[1, size]``.
    size : int
        Pieces per window (``max_length`` minus the special tokens).
    overlap : int
        Pieces shared by consecutive windows, at most (whole words only).

    Returns
    -------
    ndarray of shape (n_windows, 2)
        ``[first_word, end_word)`` of each window; an empty sentence has none.

    Examples
    --------
    >>> from albert_sk.windows import word_windows
    >>> word_windows([1, 1, 1, 1, 1], size=3, overlap=1).tolist()
    [[0, 3], [2, 5]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = len(counts)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(counts)])
    if cum[-1] <= size:
        return np.asarray([[0, n]], dtype=np.int64)
    windows = []
    start = 0
    while True:
        end = int(np.searchsorted(cum, cum[start] + size, side="right")) - 1
        end = max(end, start + 1)
        windows.append((start, end))
        if end >= n:
            break
        # Overlap: the last words of this window, at most ``overlap`` pieces.
        nxt = int(np.searchsorted(cum, cum[end] - overlap, side="left"))
        start = max(nxt, start + 1)
        if cum[end + 1] - cum[start] > size:
            # A window from there could not reach past this one's end (the
            # next word is long): it would repeat words only. No overlap.
            start = end
    return np.asarray(windows, dtype=np.int64)


def token_windows(n_tokens, size, overlap):
    """Start offsets of the windows that cover ``n_tokens`` tokens (BERT's SQuAD).

    Windows hold ``size`` tokens, consecutive ones share ``overlap`` tokens
    (so they start every ``size - overlap`` tokens, at least 1), and the last
    one ends at the last token.

    Returns
    -------
    starts, lengths : ndarray of int64

    Examples
    --------
    >>> from albert_sk.windows import token_windows
    >>> [a.tolist() for a in token_windows(10, size=4, overlap=1)]
    [[0, 3, 6], [4, 4, 4]]
    """
    step = max(1, int(size) - max(0, int(overlap)))
    starts = [0]
    while starts[-1] + size < n_tokens:
        starts.append(starts[-1] + step)
    starts = np.asarray(starts, dtype=np.int64)
    return starts, np.minimum(size, n_tokens - starts)


def encode_word_windows(tokenizer, sentences, size, overlap):
    """Windows of whole words as ``[CLS] pieces [SEP]`` rows (the tagger's).

    Each word is encoded on its own (SentencePiece adds the ``▁`` a word
    starts with, and never joins pieces across spaces, so this gives the
    pieces of the joined sentence) and each distinct word once. A word
    with no piece (a lone zero-width character) gets ``<unk>``; a word
    of more than ``size`` pieces is split across consecutive windows, so no
    piece is cut.

    Parameters
    ----------
    tokenizer : albert_sk.text.Tokenizer or albert_sk.wordpiece.WordPieceTokenizer
    sentences : list of list of str
    size : int
        Pieces per window (``max_length`` minus ``[CLS]`` and ``[SEP]``).
    overlap : int
        Pieces consecutive windows of a long sentence share (:func:`word_windows`).

    Returns
    -------
    albert_sk.batching.Encoded
        One row per window (``source_rows``: its sentence), with token
        fields ``word`` (the token's word, all sentences' words numbered
        one after another; -1 for ``[CLS]``/``[SEP]``), ``first`` (the
        word's first piece with text), ``bare`` (a bare ``▁`` before it),
        ``context`` (pieces to the nearest window edge that is not a
        sentence edge) and ``cut`` (the ``[CLS]`` of a window that starts
        after its sentence does, the ``[SEP]`` of one that ends before it).
    """
    tok = tokenizer
    n_words = np.fromiter(map(len, sentences), np.int64, len(sentences))
    word_start = exclusive_cumsum(n_words)
    # Chinese and Japanese are written without spaces: in a sentence with
    # a CJK ideograph, every word but the first is "attached" to the one
    # before it, and SentencePiece encodes it without the word-boundary
    # "▁" in front. That gives the pieces a Hugging Face tokenizer reads
    # in the unspaced text (a character is one piece, not "▁" and the
    # character). The rule is the same for word lists and raw texts, so
    # a model fitted on one predicts on the other as it learned.
    flat = [w for s in sentences for w in s]
    attached = np.zeros(len(flat), dtype=bool)
    bare = tok.word_boundary_id
    if bare >= 0 and len(flat):  # WordPiece has no bare "▁" piece
        cjk = np.fromiter((bool(CJK_PATTERN.search(w)) for w in flat), bool)
        sentence = np.repeat(np.arange(len(sentences)), n_words)
        attached = np.bincount(sentence, cjk, len(sentences))[sentence] > 0
        attached[word_start[:-1][n_words > 0]] = False  # a sentence's first
    index = {}
    word_ids = np.fromiter(
        (index.setdefault(key, len(index)) for key in zip(flat, attached, strict=True)),
        np.int64,
        len(flat),
    )
    keys = list(index)
    pieces = [None] * len(keys)
    for joined in (False, True):
        where = [k for k, (_, a) in enumerate(keys) if a == joined]
        if not where:
            continue
        encode = tok.encode_attached if joined else tok.encode
        for k, p in zip(where, encode([keys[k][0] for k in where]), strict=True):
            pieces[k] = p if p else [tok.unk_id]
    # A word's "first piece" is its first piece with text: SentencePiece
    # often splits off the bare word-boundary piece "▁", which says
    # nothing about the word.
    unique_counts = np.fromiter(map(len, pieces), np.int64, len(pieces))
    unique_lead = np.fromiter(
        (len(p) > 1 and p[0] == bare for p in pieces), np.int64, len(pieces)
    )
    unique_flat = np.fromiter(
        (t for p in pieces for t in p), np.int32, int(unique_counts.sum())
    )
    counts = unique_counts[word_ids]
    piece_word, piece_pos = ragged_positions(counts)
    piece_ids = unique_flat[
        exclusive_cumsum(unique_counts)[:-1][word_ids][piece_word] + piece_pos
    ]
    # Windows are built over "units": a word, or a part of at most
    # ``size`` pieces of a word too long for one window, so no piece is
    # dropped. A long word's parts go to consecutive windows; its tag is
    # read from its first piece, as for any word.
    n_parts = -(-counts // size)
    part_word, part_pos = ragged_positions(n_parts)
    unit_counts = np.minimum(counts[part_word] - part_pos * size, size)
    unit_start = exclusive_cumsum(n_parts)[word_start]  # per sentence
    n_units = np.diff(unit_start)
    unit_piece = exclusive_cumsum(unit_counts)  # first piece of each unit

    # Windows: (sentence, first unit, end unit), units local to the sentence.
    totals = unit_piece[unit_start[1:]] - unit_piece[unit_start[:-1]]
    win_sent, win_a, win_b = [], [], []
    for s in np.flatnonzero(totals > size):
        windows = word_windows(
            unit_counts[unit_start[s] : unit_start[s + 1]], size, overlap
        )
        win_sent.append(np.full(len(windows), s))
        win_a.append(windows[:, 0])
        win_b.append(windows[:, 1])
    short = np.flatnonzero((totals <= size) & (n_words > 0))
    win_sent = np.concatenate([short, *win_sent]).astype(np.int64)
    win_a = np.concatenate([np.zeros(len(short), np.int64), *win_a])
    win_b = np.concatenate([n_units[short], *win_b]).astype(np.int64)
    order = np.lexsort((win_a, win_sent))
    win_sent, win_a, win_b = win_sent[order], win_a[order], win_b[order]

    # Rows: [CLS] pieces of units [a, b) [SEP], built with flat gathers.
    p0 = unit_piece[unit_start[win_sent] + win_a]
    p1 = unit_piece[unit_start[win_sent] + win_b]
    lengths = p1 - p0 + 2
    token_window, pos = ragged_positions(lengths)
    special = (pos == 0) | (pos == lengths[token_window] - 1)
    src = np.clip(p0[token_window] + pos - 1, 0, max(len(piece_ids) - 1, 0))
    if len(piece_ids):
        token_ids = np.where(special, tok.sep_id, piece_ids[src])
        token_word = np.where(special, -1, piece_word[src])
        lead = unique_lead[word_ids][piece_word[src]]
        token_first = ~special & (piece_pos[src] == lead)
        token_bare = ~special & (piece_pos[src] < lead)
    else:
        token_ids = np.zeros(0, np.int32)
        token_word = np.zeros(0, np.int64)
        token_first = token_bare = np.zeros(0, bool)
    token_ids[pos == 0] = tok.cls_id
    # Context of a token: pieces to the nearest window edge, unbounded on a
    # side where the window reaches the sentence edge.
    left = np.where(win_a[token_window] == 0, _NO_EDGE, pos - 1)
    right = np.where(
        win_b[token_window] == n_units[win_sent][token_window],
        _NO_EDGE,
        lengths[token_window] - 2 - pos,
    )
    return Encoded(
        token_ids.astype(np.int32),
        np.zeros(len(token_ids), np.int32),
        exclusive_cumsum(lengths)[:-1],
        lengths,
        tok.pad_id,
        source_rows=win_sent,
        token_fields={
            "word": token_word,
            "first": token_first,
            "bare": token_bare,
            "context": np.minimum(left, right),
            # where a window was cut from a longer sentence: at its [CLS]
            # (the sentence began before it), at its [SEP] (it goes on)
            "cut": ((pos == 0) & (left != _NO_EDGE))
            | ((pos == lengths[token_window] - 1) & (right != _NO_EDGE)),
        },
    )


def word_probabilities(encoded, probs, n_words, aggregation):
    """Each word's tag probabilities from its pieces' in the windows of
    :func:`encode_word_windows`: read in the window where the word has the
    most context (the first on ties).

    Parameters
    ----------
    encoded : albert_sk.batching.Encoded
        The windows, as :func:`encode_word_windows` returns them.
    probs : ndarray of shape (n_tokens, n_labels)
        Every token's probabilities, the windows' tokens end to end.
    n_words : int
        The words of all sentences.
    aggregation : {"first", "average", "max"}
        A word's first piece, the mean of its pieces, or its most confident
        piece.

    Returns
    -------
    ndarray of shape (n_words, n_labels)
    """
    word, window = encoded.token_fields["word"], encoded.token_rows()
    context = encoded.token_fields["context"]
    first = np.flatnonzero(encoded.token_fields["first"])
    order = np.lexsort((window[first], -context[first], word[first]))
    best = first[order][np.r_[True, np.diff(word[first][order]) != 0]]
    chosen = np.empty(n_words, dtype=np.int64)
    chosen[word[best]] = window[best]
    if aggregation == "first":
        out = np.empty((n_words, probs.shape[1]), dtype=np.float32)
        out[word[best]] = probs[best]
        return out
    mine = np.flatnonzero((word >= 0) & (chosen[np.maximum(word, 0)] == window))
    if aggregation == "average":
        sums = np.zeros((n_words, probs.shape[1]), dtype=np.float64)
        np.add.at(sums, word[mine], probs[mine])
        counts = np.bincount(word[mine], minlength=n_words)
        return (sums / counts[:, None]).astype(np.float32)
    # "max": the piece whose prediction is most confident
    confidence = probs[mine].max(axis=1)
    order = np.lexsort((-confidence, word[mine]))
    top = mine[order][np.r_[True, np.diff(word[mine][order]) != 0]]
    out = np.empty((n_words, probs.shape[1]), dtype=np.float32)
    out[word[top]] = probs[top]
    return out


def token_labels(encoded, word_labels, all_pieces):
    """Each token's label from its word's, -1 where none is learned.

    ``encoded`` holds the windows of :func:`encode_word_windows`,
    ``word_labels`` one label array per sentence. A word's first piece
    learns its label, and so does a bare ``▁`` before it: prediction reads
    the first piece with text, but a Hugging Face pipeline (aggregation
    "first") reads the ``▁``. ``all_pieces``: every piece of a word learns it.
    """
    labels = np.concatenate(word_labels) if len(word_labels) else np.zeros(0, np.int32)
    word = encoded.token_fields["word"]
    keep = word >= 0
    if not all_pieces:
        keep &= encoded.token_fields["first"] | encoded.token_fields["bare"]
    return np.where(keep, labels[np.maximum(word, 0)], -1)


@dataclass
class QAWindows:
    """Where each row (window) of an Encoded comes from.

    Row ``w`` holds context tokens ``first[w] : first[w] + length[w]`` of
    question ``example[w]``, from row position ``offset[w]`` on.
    ``starts[i]`` / ``ends[i]`` are the character offsets of question
    ``i``'s context tokens.
    """

    example: np.ndarray
    offset: np.ndarray
    first: np.ndarray
    length: np.ndarray
    starts: list
    ends: list


def encode_question_windows(
    tokenizer, questions, contexts, max_length, max_query_length, doc_stride
):
    """``[CLS] question [SEP] window [SEP]`` rows (QA's): one per window of
    each question's context, and where each row comes from.

    A question is cut to ``max_query_length`` tokens (a
    ``TruncationWarning`` says how many were); each window holds what is
    left of ``max_length``, and window starts are ``doc_stride`` tokens
    apart (BERT's step; a ``DataLossWarning`` names the questions whose
    windows it would leave no room to overlap).

    Returns
    -------
    encoded : albert_sk.batching.Encoded
        One row per window, ``source_rows`` its question.
    windows : QAWindows
    """
    tok = tokenizer
    questions = tok.encode(list(questions))
    long = [len(q) for q in questions if len(q) > max_query_length]
    if long:
        warnings.warn(
            f"{len(long)} of {len(questions)} questions were longer than "
            f"max_query_length={max_query_length} tokens (the longest "
            f"had {max(long)}) and were truncated. Raise max_query_length "
            "to keep them whole.",
            TruncationWarning,
            stacklevel=user_stacklevel(),
        )
    distinct = list(dict.fromkeys(contexts))
    pieces = dict(zip(distinct, tok.encode_with_offsets(distinct), strict=True))
    rows, segments = [], []
    example, offset, first, length = [], [], [], []
    starts, ends = [], []
    clamped, smallest = [], max_length
    for i, (question, context) in enumerate(zip(questions, contexts, strict=True)):
        question = question[:max_query_length]
        ids, char_starts, char_ends = pieces[context]
        starts.append(char_starts)
        ends.append(char_ends)
        room = max_length - len(question) - 3
        if doc_stride > room and len(ids) > room:
            clamped.append(i)
            smallest = min(smallest, room)
        # doc_stride is BERT's step between window starts.
        overlap = room - min(doc_stride, room)
        win_starts, win_lengths = token_windows(len(ids), room, overlap)
        head = [tok.cls_id, *question, tok.sep_id]
        for s, n in zip(win_starts, win_lengths, strict=True):
            rows.append(head + [*ids[s : s + n], tok.sep_id])
            segments.append([0] * len(head) + [1] * (n + 1))
            example.append(i)
            offset.append(len(head))
            first.append(s)
            length.append(n)
    if clamped:
        warnings.warn(
            f"doc_stride={doc_stride} is more than the context tokens a "
            f"window holds (as few as {smallest}) for {len(clamped)} of "
            f"{len(questions)} questions whose context needs several windows "
            f"(rows {first_rows(clamped)}): their windows start one window "
            "apart instead and do not overlap, so an answer across a window "
            f"edge is in no window. Lower doc_stride below {smallest} (half "
            "a window is usual) or raise max_length.",
            DataLossWarning,
            stacklevel=user_stacklevel(),
        )
    encoded = Encoded.from_rows(rows, segments, pad_id=tok.pad_id)
    windows = QAWindows(
        np.asarray(example, np.int64),
        np.asarray(offset, np.int64),
        np.asarray(first, np.int64),
        np.asarray(length, np.int64),
        starts,
        ends,
    )
    encoded.source_rows = windows.example
    return encoded, windows
