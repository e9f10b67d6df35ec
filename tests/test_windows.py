"""Sliding windows over words and tokens: one meaning of ``overlap``."""

import numpy as np
import pytest

from albert_sk.windows import token_windows, word_windows


def test_word_windows_cover_every_word_with_bounded_overlap():
    rng = np.random.default_rng(2)
    for _ in range(100):
        size = int(rng.integers(4, 20))
        overlap = int(rng.integers(0, size // 2 + 1))
        counts = rng.integers(1, size + 1, size=rng.integers(1, 60))
        windows = word_windows(counts, size, overlap)
        assert windows[0, 0] == 0 and windows[-1, 1] == len(counts)
        for a, b in windows:
            assert b > a
            assert counts[a:b].sum() <= size or b == a + 1
        for (a0, b0), (a1, _) in zip(windows, windows[1:], strict=False):
            assert a0 < a1 <= b0  # no gap, always progress
            shared = counts[a1:b0].sum()
            assert shared <= overlap or a1 == a0 + 1


def test_word_windows_short_and_empty():
    assert word_windows([2, 3], size=10, overlap=2).tolist() == [[0, 2]]
    assert word_windows([], size=10, overlap=2).shape == (0, 2)
    # Windows grow linearly with the sentence, not quadratically.
    n = [len(word_windows(np.ones(k, int), 30, 8)) for k in (300, 600, 1200)]
    assert n[1] <= 2 * n[0] + 1 and n[2] <= 2 * n[1] + 1


@pytest.mark.parametrize(
    "n, size, overlap", [(1, 5, 3), (10, 4, 1), (37, 8, 0), (9, 4, 9)]
)
def test_token_windows_cover_every_token(n, size, overlap):
    starts, lengths = token_windows(n, size, overlap)
    assert starts[0] == 0 and starts[-1] + lengths[-1] == n
    assert (lengths <= size).all() and (np.diff(starts) <= size).all()
    assert (np.diff(starts) == max(1, size - overlap)).all()
    seen = np.zeros(n, dtype=int)
    for s, m in zip(starts, lengths, strict=True):
        seen[s : s + m] += 1
    assert (seen >= 1).all()


def test_qa_doc_stride_is_the_step_between_window_starts():
    """AlbertQA's doc_stride keeps BERT's meaning: windows start doc_stride apart."""
    room, doc_stride = 8, 3
    starts, _ = token_windows(30, room, overlap=room - doc_stride)
    assert np.diff(starts).tolist() == [3] * (len(starts) - 1)
