"""Pretraining examples: a corpus as a stream of masked MLM + SOP batches.

Each chunk of documents is split into sentences, tokenised, cut into chunks
of about ``max_length`` tokens, packed into sentence-order pairs and masked
(:mod:`albert_sk.pretraining.masking`). Every batch is a pure function of ``(seed,
epoch, chunk, batch)``: a killed run resumes on exactly the batches it would
have seen.
"""

import math

import numpy as np

from albert_sk.batching import make_batches
from albert_sk.exceptions import InputError
from albert_sk.pretraining.masking import (
    document_chunks,
    ngram_mask,
    pack_pairs,
    sop_pair,
    split_sentences,
)


def empty_corpus_message(corpus):
    return (
        f"The corpus ({corpus.describe()}) holds no text: every document is "
        "empty or blank. Pass documents with some text (a list of str, or a "
        "text file with one document per line or per blank-line separated "
        "block)."
    )


class Examples:
    """The pretraining batches of a corpus, for one tokenizer and settings.

    ``buckets`` are the padded batch lengths; ``chunk_chars`` the characters
    of documents encoded at a time.
    """

    def __init__(
        self,
        tokenizer,
        *,
        max_length,
        batch_size,
        mask_rate,
        max_ngram,
        sop,
        buckets,
        chunk_chars,
    ):
        self.tokenizer, self.max_length, self.batch_size = (
            tokenizer,
            max_length,
            batch_size,
        )
        self.mask_rate, self.max_ngram, self.sop = mask_rate, max_ngram, sop
        self.buckets, self.chunk_chars = buckets, chunk_chars
        tok = tokenizer
        self.word_starts = tok.word_starts()
        special = np.zeros(tok.vocab_size, bool)
        special[[tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id]] = True
        self.special = special
        self.replace_ids = np.flatnonzero(~special).astype(np.int32)

    def encode_chunk(self, docs):
        """Sentence chunks (lists of token-id lists) of a list of documents."""
        sentences, owner = [], []
        for d, doc in enumerate(docs):
            parts = split_sentences(doc)
            sentences += parts
            owner += [d] * len(parts)
        ids = self.tokenizer.encode(sentences)
        per_doc = [[] for _ in docs]
        for d, s in zip(owner, ids, strict=True):
            if s:
                per_doc[d].append(s)
        target = self.max_length - 3
        return [c for doc in per_doc if doc for c in document_chunks(doc, target)]

    def chunk_rows(self, chunks, rng):
        """Packed rows and SOP labels (-1: no pair) of one chunk."""
        if self.sop:
            pairs = [sop_pair(c, rng, self.word_starts) for c in chunks]
        else:
            pairs = [([t for s in c for t in s], [], -1) for c in chunks]
        tok = self.tokenizer
        encoded = pack_pairs(
            pairs, cls_id=tok.cls_id, sep_id=tok.sep_id, pad_id=tok.pad_id
        )
        labels = np.fromiter((p[2] for p in pairs), np.int32, len(pairs))
        return encoded, labels

    def batch(self, encoded, sop_labels, rows, length, rng):
        """``(x, y, sample_weight)`` of ``rows``, masked with ``rng``."""
        x = encoded.batch(rows, length)
        slots = max(1, math.ceil(length * self.mask_rate))
        positions = np.zeros((len(rows), slots), np.int32)
        labels = np.zeros((len(rows), slots), np.int32)
        weights = np.zeros((len(rows), slots), np.float32)
        for j, i in enumerate(rows):
            ids = encoded.row(i)
            corrupted, pos, lab = ngram_mask(
                ids,
                rng,
                word_starts=self.word_starts,
                special=self.special,
                mask_id=self.tokenizer.mask_id,
                replace_ids=self.replace_ids,
                mask_rate=self.mask_rate,
                max_ngram=self.max_ngram,
            )
            x["token_ids"][j, : len(ids)] = corrupted
            k = min(len(pos), slots)
            positions[j, :k], labels[j, :k], weights[j, :k] = pos[:k], lab[:k], 1.0
        x["mask_positions"] = positions
        y, sample_weight = {"mlm": labels}, {"mlm": weights}
        if self.sop:
            sop = sop_labels[rows]
            y["sop"] = np.maximum(sop, 0)
            sample_weight["sop"] = (sop >= 0).astype(np.float32)
        return x, y, sample_weight

    def epoch_batches(self, corpus, seed, epoch, start=(0, 0), cache=None):
        """Yield ``(chunk, batch, x, y, sample_weight)`` of one pass, from ``start``."""
        for c, docs in enumerate(self.chunks(corpus, cache)):
            if c < start[0]:
                continue
            rng = np.random.default_rng([seed, epoch, c])
            encoded, labels = self.chunk_rows(docs, rng)
            index, padded = make_batches(
                encoded.lengths, self.batch_size, self.buckets, rng
            )
            first = start[1] if c == start[0] else 0
            for b in range(first, len(index)):
                batch_rng = np.random.default_rng([seed, epoch, c, b])
                yield (
                    c,
                    b,
                    *self.batch(encoded, labels, index[b], padded[b], batch_rng),
                )

    def stream(self, corpus, seed, epoch, start, cache):
        """Yield ``((epoch, chunk, batch), (x, y, sample_weight))`` from
        position ``(epoch, *start)`` on, pass after pass (one pass of a
        one-shot corpus)."""
        while True:
            seen = False
            for c, b, *batch in self.epoch_batches(corpus, seed, epoch, start, cache):
                seen = True
                yield (epoch, c, b), batch
            if corpus.one_shot or (not seen and start == (0, 0)):
                return
            epoch, start = epoch + 1, (0, 0)

    def chunks(self, corpus, cache):
        """Encoded chunks; a corpus that fits in one chunk is encoded once."""
        if cache is not None and "chunks" in cache:
            yield from cache["chunks"]
            return
        encoded = []
        for docs in corpus.chunks(self.chunk_chars):
            chunk = self.encode_chunk(docs)
            encoded.append(chunk)
            yield chunk
        if cache is not None and len(encoded) == 1 and not corpus.one_shot:
            cache["chunks"] = encoded

    def count_steps(self, corpus, cache):
        """Steps per pass, after checking that the corpus has text (and, for
        SOP, pairs); one read of the corpus."""
        steps = rows = sop_rows = 0
        for chunk in self.chunks(corpus, cache):
            rows += len(chunk)
            steps += math.ceil(len(chunk) / self.batch_size)
            sop_rows += sum(
                len(c) >= 2 or any(self.word_starts[t] for t in c[0][1:]) for c in chunk
            )
        if rows == 0:
            raise InputError(empty_corpus_message(corpus))
        if self.sop and sop_rows < 2:
            raise InputError(
                f"Sentence-order prediction needs documents of two or more "
                f"sentences (or words), but the corpus ({corpus.describe()}) gives "
                f"{sop_rows} such pair(s) in {rows} rows. Pass longer documents "
                "(with doc_sep='blank_line' a file's paragraphs are documents), or "
                "sop=False to train the masked language model only."
            )
        return steps


def probe_batches(mask_rate, sop):
    """Two tiny batches of different shapes: Keras reads the tensor spec off
    them, so the batch and sequence axes stay free and one compiled step
    serves every batch."""
    probes = []
    for n, length in ((1, 16), (2, 32)):
        slots = max(1, math.ceil(length * mask_rate))
        x = {
            k: np.zeros((n, length), np.int32)
            for k in ("token_ids", "segment_ids", "padding_mask")
        }
        x["mask_positions"] = np.zeros((n, slots), np.int32)
        y = {"mlm": np.zeros((n, slots), np.int32)}
        w = {"mlm": np.zeros((n, slots), np.float32)}
        if sop:
            y["sop"], w["sop"] = np.zeros(n, np.int32), np.zeros(n, np.float32)
        probes.append((x, y, w))
    return probes
