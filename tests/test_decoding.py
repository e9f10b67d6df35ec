"""Structured decoding of tag sequences (albert_sk.decoding): numpy only."""

import itertools

import numpy as np
import pytest

from albert_sk.align import from_iob2, get_entities, repair_iob2, to_iob2
from albert_sk.decoding import (
    FORBIDDEN,
    allowed_transitions,
    marginals,
    model_scheme,
    transition_scores,
    viterbi,
)

LABELS = {
    "IOB2": ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"],
    "BIOES": ["B-LOC", "E-LOC", "I-LOC", "O", "S-LOC", "S-PER"],
    "BMES": ["B-ORG", "E-ORG", "M-ORG", "O", "S-LOC"],
}


def is_valid(tags, scheme):
    """A sequence is valid when reading its entities and writing them back
    gives the same tags (no stray I-, M- or E-, no unclosed B-)."""
    if scheme == "IOB2":
        return repair_iob2(tags) == tags
    return from_iob2(to_iob2(tags, scheme), scheme) == tags


def random_sentences(rng, scheme, n=30):
    lengths = rng.integers(0, 7, size=n)
    probs = rng.dirichlet(np.full(len(LABELS[scheme]), 0.3), size=lengths.sum())
    return probs, lengths


def scored_paths(probs, transitions):
    """Every tag path of one sentence with its score, as decoding scores it."""
    k = probs.shape[1]
    for path in itertools.product(range(k), repeat=len(probs)):
        score = transitions[k, path[0]] + transitions[path[-1], k]
        score += sum(np.log(probs[j, t]) for j, t in enumerate(path))
        score += sum(transitions[a, b] for a, b in itertools.pairwise(path))
        yield path, score


def brute_force(probs, transitions):
    return list(max(scored_paths(probs, transitions), key=lambda p: p[1])[0])


def brute_force_problem(seed, scheme):
    """Transitions counted on random tags, and sentences of at most 4 words
    (K**4 paths) with random probabilities."""
    rng = np.random.default_rng(seed)
    labels = LABELS[scheme]
    train = [rng.integers(0, len(labels), size=rng.integers(1, 8)) for _ in range(50)]
    transitions = transition_scores(train, labels, scheme)
    probs, lengths = random_sentences(rng, scheme, n=12)
    lengths = np.minimum(lengths, 4)
    return probs[: lengths.sum()], lengths, transitions


@pytest.mark.parametrize("scheme", list(LABELS))
def test_viterbi_finds_the_best_sequence(scheme):
    probs, lengths, transitions = brute_force_problem(0, scheme)
    out = viterbi(probs, lengths, transitions)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for i, n in enumerate(lengths):
        if n:
            got = out[starts[i] : starts[i + 1]].tolist()
            assert got == brute_force(probs[starts[i] : starts[i + 1]], transitions)


def brute_force_marginals(probs, transitions):
    """Each position's tag probability, summed over every path's weight."""
    mass = np.zeros(probs.shape)
    for path, score in scored_paths(probs, transitions):
        mass[np.arange(len(path)), path] += np.exp(score)
    return mass / mass.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("scheme", list(LABELS))
def test_marginals_sum_every_paths_probability(scheme):
    labels = LABELS[scheme]
    probs, lengths, transitions = brute_force_problem(2, scheme)
    out = marginals(probs, lengths, transitions)
    assert out.shape == probs.shape
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    for a, b in itertools.pairwise(starts):
        if b > a:
            expected = brute_force_marginals(probs[a:b], transitions)
            np.testing.assert_allclose(out[a:b], expected, atol=1e-5)
    # what the scheme forbids gets no mass: no sentence starts inside an entity
    inside = [i for i, t in enumerate(labels) if t[0] in "IME"]
    first = starts[:-1][lengths > 0]
    assert out[first][:, inside].max() < 1e-4


@pytest.mark.parametrize("scheme", list(LABELS))
def test_decoded_sequences_are_always_valid(scheme):
    # Peaked random probabilities whose argmax is often invalid.
    rng = np.random.default_rng(1)
    labels = np.asarray(LABELS[scheme])
    probs, lengths = random_sentences(rng, scheme, n=300)
    allowed = np.where(allowed_transitions(labels.tolist(), scheme), 0.0, FORBIDDEN)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    argmax = labels[probs.argmax(1)].tolist()
    assert not all(is_valid(argmax[a:b], scheme) for a, b in itertools.pairwise(starts))
    decoded = labels[viterbi(probs, lengths, allowed)].tolist()
    for a, b in itertools.pairwise(starts):
        assert is_valid(decoded[a:b], scheme), decoded[a:b]


def test_allowed_transitions_follow_each_scheme():
    ok = allowed_transitions(LABELS["BMES"], "BMES")
    index = {t: i for i, t in enumerate(LABELS["BMES"])}
    end = start = len(index)
    assert ok[index["B-ORG"], index["M-ORG"]] and ok[index["M-ORG"], index["E-ORG"]]
    assert not ok[index["B-ORG"], index["O"]]  # an entity must end with E
    assert not ok[index["O"], index["E-ORG"]]
    assert not ok[start, index["M-ORG"]]
    assert not ok[index["M-ORG"], end] and ok[index["E-ORG"], end]
    assert ok[index["S-LOC"], index["B-ORG"]]
    assert allowed_transitions(["NOUN", "VERB"], None).all()


def test_transition_scores_count_the_training_tags():
    labels = LABELS["IOB2"]
    o, b_per, i_per = labels.index("O"), labels.index("B-PER"), labels.index("I-PER")
    train = [np.array([b_per, i_per, o])] * 20 + [np.array([o, o])] * 5
    scores = transition_scores(train, labels, "IOB2", prior=False)
    # After B-PER: I-PER 20 times (+1); B-LOC, B-PER, O and the end +1 each.
    assert np.exp(scores[b_per, i_per]) == pytest.approx(21 / 25)
    assert scores[o, i_per] == FORBIDDEN
    # With the prior, a rare tag after O gains what its rarity costs it.
    with_prior = transition_scores(train, labels, "IOB2")
    assert with_prior[o, b_per] - scores[o, b_per] > 0


@pytest.mark.parametrize(
    "tags, scheme",
    [
        (["B-ORG", "M-ORG", "E-ORG", "O", "S-LOC", "B-PER", "E-PER"], "BMES"),
        (["B-LOC", "I-LOC", "E-LOC", "S-PER", "O"], "BIOES"),
        (["I-PER", "I-PER", "B-PER", "O", "I-LOC"], "IOB1"),
    ],
)
def test_the_learned_scheme_keeps_every_entity(tags, scheme):
    learned = model_scheme(scheme)
    as_learned = list(tags) if learned == scheme else to_iob2(tags, scheme)
    back = as_learned if learned == scheme else from_iob2(as_learned, scheme)
    assert back == list(tags)
    assert get_entities(to_iob2(as_learned, learned)) == get_entities(
        to_iob2(tags, scheme)
    )
