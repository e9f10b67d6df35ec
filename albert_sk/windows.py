"""Sliding windows over words (tagging) and over tokens (QA contexts).

One meaning of overlap everywhere: ``overlap`` is what consecutive windows
share (pieces of whole words, or tokens), as Hugging Face's ``stride``. The
tagger's ``stride`` parameter is this overlap; QA's ``doc_stride`` is BERT's
step between window starts, so ``AlbertQA`` passes
``overlap = size - doc_stride``. numpy only.
"""

import numpy as np


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
