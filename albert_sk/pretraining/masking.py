"""Pretraining examples: sentence-order pairs and n-gram masking over whole words.

numpy only, no Keras. The recipe follows ALBERT (Lan et al., 2020):

* documents are split into sentences, consecutive sentences are packed into
  chunks of at most ``max_length - 3`` tokens and each chunk is cut into two
  segments A and B at a sentence boundary; for sentence-order prediction (SOP)
  the two segments are swapped with probability 0.5 (label 1 = swapped);
* masked-language-model targets are n-grams of *whole words* (n <= 3, with
  ``p(n)`` proportional to ``1/n``) covering ``mask_rate`` of the tokens; each
  chosen token becomes ``[MASK]`` 80% of the time, a random token 10% and
  stays unchanged 10%.
"""

import re

import numpy as np

from albert_sk.batching import Encoded

WORD_PIECE_PREFIX = "\u2581"  # SentencePiece's word-boundary marker "▁"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text):
    """Non-blank sentences: cut after ``.``/``!``/``?`` + space and at newlines.

    Examples
    --------
    >>> split_sentences("One here. Two there!\\nThree")
    ['One here.', 'Two there!', 'Three']
    """
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def ngram_probabilities(max_ngram):
    """ALBERT's n-gram length distribution: ``p(n)`` proportional to ``1/n``.

    Examples
    --------
    >>> ngram_probabilities(3).round(3).tolist()
    [0.545, 0.273, 0.182]
    """
    p = 1.0 / np.arange(1, max_ngram + 1)
    return p / p.sum()


def word_start_table(pieces):
    """Boolean array over the vocabulary: True where a piece starts a word."""
    return np.fromiter(
        (p.startswith(WORD_PIECE_PREFIX) for p in pieces), bool, len(pieces)
    )


def document_chunks(sentence_ids, target_length):
    """Pack a document's tokenised sentences into chunks of whole sentences.

    ``sentence_ids`` is a list of token-id lists, one per sentence. A sentence
    longer than ``target_length`` is cut into consecutive pieces first, so no
    token is lost. Returns a list of chunks, each a list of sentences whose
    lengths add up to at most ``target_length``.

    Examples
    --------
    >>> document_chunks([[1, 2], [3], [4, 5, 6], [7]], 4)
    [[[1, 2], [3]], [[4, 5, 6], [7]]]
    """
    pieces = []
    for ids in sentence_ids:
        ids = list(ids)
        pieces += [
            ids[s : s + target_length] for s in range(0, len(ids), target_length)
        ]
    chunks, current, size = [], [], 0
    for ids in pieces:
        if current and size + len(ids) > target_length:
            chunks.append(current)
            current, size = [], 0
        current.append(ids)
        size += len(ids)
    if current:
        chunks.append(current)
    return chunks


def sop_pair(chunk, rng, word_starts):
    """Segments ``(a, b, label)`` of one chunk; ``label`` is 1 when swapped, -1 when
    the chunk is a single word (no order to predict).

    A chunk of several sentences is cut at a random sentence boundary; a chunk
    of one sentence at a random word boundary.
    """
    if len(chunk) >= 2:
        cut = int(rng.integers(1, len(chunk)))
        a = [t for s in chunk[:cut] for t in s]
        b = [t for s in chunk[cut:] for t in s]
    else:
        ids = chunk[0]
        starts = [i for i in range(1, len(ids)) if word_starts[ids[i]]]
        if not starts:
            return list(ids), [], -1
        cut = starts[int(rng.integers(len(starts)))]
        a, b = list(ids[:cut]), list(ids[cut:])
    if rng.random() < 0.5:
        return b, a, 1
    return a, b, 0


def pack_pairs(pairs, *, cls_id, sep_id, pad_id):
    """``[CLS] a [SEP] b [SEP]`` rows (``[CLS] a [SEP]`` when b is empty)."""
    rows, segments = [], []
    for a, b, _ in pairs:
        row = [cls_id, *a, sep_id]
        seg = [0] * len(row)
        if b:
            row += [*b, sep_id]
            seg += [1] * (len(b) + 1)
        rows.append(row)
        segments.append(seg)
    return Encoded.from_rows(rows, segments, pad_id=pad_id)


def ngram_mask(
    ids,
    rng,
    *,
    word_starts,
    special,
    mask_id,
    replace_ids,
    mask_rate=0.15,
    max_ngram=3,
):
    """Choose and corrupt MLM targets in one token row, ALBERT style.

    Parameters
    ----------
    ids : 1-D int array
        Token ids of the row, special tokens included.
    rng : numpy.random.Generator
    word_starts : bool array over the vocabulary
        Pieces that begin a word (see :func:`word_start_table`).
    special : bool array over the vocabulary
        Pieces never masked (``[CLS]``, ``[SEP]``, padding).
    mask_id : int
        Id of ``[MASK]``.
    replace_ids : 1-D int array
        Ids a token may be replaced with (the 10% random case).
    mask_rate : float
        Fraction of the non-special tokens to predict (at least one).
    max_ngram : int
        Longest n-gram of whole words masked together.

    Returns
    -------
    corrupted : int32 array, same shape as ``ids``
    positions : int32 array, sorted positions to predict
    labels : int32 array, the original ids at ``positions``

    Examples
    --------
    >>> import numpy as np
    >>> starts = np.array([False, False, True, True, True, True])
    >>> special = np.array([True, True, False, False, False, False])
    >>> ids = np.array([0, 2, 3, 4, 5, 1])
    >>> corrupted, positions, labels = ngram_mask(
    ...     ids, np.random.default_rng(0), word_starts=starts, special=special,
    ...     mask_id=1, replace_ids=np.array([2, 3]), mask_rate=0.5)
    >>> positions.tolist() == sorted(positions.tolist()), len(positions)
    (True, 2)
    >>> labels.tolist() == ids[positions].tolist()
    True
    """
    ids = np.asarray(ids, dtype=np.int32)
    candidate = ~special[ids]
    n_candidates = int(candidate.sum())
    if n_candidates == 0:
        empty = np.zeros(0, np.int32)
        return ids.copy(), empty, empty
    # Words: runs of candidate tokens that start at a word-start piece (or
    # after a special token) and stop before the next word or special token.
    begins = candidate & (word_starts[ids] | ~np.r_[False, candidate[:-1]])
    word_begin = np.flatnonzero(begins)
    boundaries = np.r_[np.flatnonzero(begins | ~candidate), len(ids)]
    word_end = boundaries[np.searchsorted(boundaries, word_begin, side="right")]
    sizes = word_end - word_begin
    n_words = len(word_begin)
    to_predict = max(1, int(round(n_candidates * mask_rate)))
    probabilities = ngram_probabilities(max_ngram)
    covered = np.zeros(n_words, bool)
    chosen, n_chosen = [], 0
    for w in rng.permutation(n_words):
        if n_chosen >= to_predict:
            break
        if covered[w]:
            continue
        n = int(rng.choice(max_ngram, p=probabilities)) + 1
        # Shorten the n-gram until it fits the budget and overlaps nothing.
        while n > 0:
            last = min(w + n, n_words)
            size = int(sizes[w:last].sum())
            if not covered[w:last].any() and n_chosen + size <= to_predict:
                break
            n -= 1
        if n == 0:
            continue
        covered[w:last] = True
        chosen += [np.arange(word_begin[k], word_end[k]) for k in range(w, last)]
        n_chosen += size
    if n_chosen == 0:  # every word is longer than the budget: cut one short
        w = int(rng.integers(n_words))
        chosen.append(
            np.arange(word_begin[w], word_begin[w] + min(to_predict, sizes[w]))
        )
    positions = np.sort(np.concatenate(chosen)).astype(np.int32)
    labels = ids[positions]
    corrupted = ids.copy()
    draw = rng.random(len(positions))
    corrupted[positions[draw < 0.8]] = mask_id
    swap = positions[draw >= 0.9]
    corrupted[swap] = rng.choice(replace_ids, size=len(swap))
    return corrupted, positions, labels
