"""Encoded rows, length buckets and batch plans (albert_sk.batching)."""

import numpy as np
import pytest

from albert_sk.batching import Encoded, bucket_sizes, make_batches


def test_encoded_subset_keeps_source_rows_and_token_fields():
    enc = Encoded.from_rows([[5, 6], [7], [8, 9, 10]], [[0, 0], [0], [0, 1, 1]])
    enc.source_rows = np.array([0, 0, 1])
    enc.token_fields = {"word": np.array([0, 1, 2, 3, 4, 5])}
    sub = enc.subset([2, 0])
    assert [sub.row(i).tolist() for i in range(2)] == [[8, 9, 10], [5, 6]]
    assert sub.segment_ids.tolist() == [0, 1, 1, 0, 0]
    assert sub.source_rows.tolist() == [1, 0]
    assert sub.token_fields["word"].tolist() == [3, 4, 5, 0, 1]
    assert sub.token_rows().tolist() == [0, 0, 0, 1, 1]


def test_encoded_from_empty_rows():
    enc = Encoded.from_rows([], [])
    assert len(enc) == 0


def test_bucket_sizes():
    assert bucket_sizes(128).tolist() == [16, 32, 64, 128]
    assert bucket_sizes(100).tolist() == [16, 32, 64, 100]
    assert bucket_sizes(16).tolist() == [16]
    assert bucket_sizes(8).tolist() == [8]


def _lengths(n=203, seed=0):
    return np.random.default_rng(seed).integers(3, 120, size=n)


@pytest.mark.parametrize("shuffle", [False, True])
def test_make_batches_covers_every_row_once(shuffle):
    lengths = _lengths()
    buckets = bucket_sizes(128)
    rng = np.random.default_rng(0) if shuffle else None
    batches, padded = make_batches(lengths, 16, buckets, rng, pool=2)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    assert all(len(b) <= 16 for b in batches)
    assert len(batches) == int(np.ceil(len(lengths) / 16))
    for batch, size in zip(batches, padded, strict=True):
        longest = lengths[batch].max()
        assert size in buckets
        assert size >= longest
        # The smallest bucket that fits: no bigger padding than needed.
        smaller = buckets[buckets < size]
        assert not len(smaller) or smaller.max() < longest


def test_make_batches_without_rng_is_sorted_and_stable():
    lengths = _lengths()
    first, _ = make_batches(lengths, 16, bucket_sizes(128))
    again, _ = make_batches(lengths, 16, bucket_sizes(128))
    rows = np.concatenate(first)
    assert np.all(np.diff(lengths[rows]) >= 0)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_make_batches_shuffles_between_epochs_and_follows_seed():
    lengths = _lengths()
    buckets = bucket_sizes(128)
    rng = np.random.default_rng(7)
    epoch1 = np.concatenate(make_batches(lengths, 16, buckets, rng, pool=2)[0])
    epoch2 = np.concatenate(make_batches(lengths, 16, buckets, rng, pool=2)[0])
    assert not np.array_equal(epoch1, epoch2)
    replay = np.random.default_rng(7)
    again = np.concatenate(make_batches(lengths, 16, buckets, replay, pool=2)[0])
    assert np.array_equal(epoch1, again)


def test_make_batches_groups_similar_lengths_within_pools():
    lengths = _lengths(n=640)
    buckets = bucket_sizes(128)
    batches, padded = make_batches(
        lengths, 16, buckets, np.random.default_rng(0), pool=40
    )
    # One pool holds every row: batches are length-sorted runs, so the
    # padding is far below that of random batches.
    waste = sum(
        p * len(b) - lengths[b].sum() for b, p in zip(batches, padded, strict=True)
    )
    random_batches = np.random.default_rng(1).permutation(640).reshape(-1, 16)
    random_waste = sum(
        buckets[np.searchsorted(buckets, lengths[b].max())] * 16 - lengths[b].sum()
        for b in random_batches
    )
    assert waste < 0.5 * random_waste


def test_make_batches_empty():
    batches, padded = make_batches(np.array([], dtype=int), 4, bucket_sizes(16))
    assert batches == [] and padded == []


# === Vocabulary training ===
