"""The jointly trained CRF (albert_sk.crf) and AlbertTagger(transitions="crf")."""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from _marks import API_FITS
from keras import ops
from sklearn.utils._param_validation import InvalidParameterError
from test_tagger import synthetic, tiny

from albert_sk import AlbertTagger
from albert_sk.align import repair_iob2
from albert_sk.crf import OPEN_END, OPEN_START, crf_log_likelihood
from albert_sk.decoding import FORBIDDEN, allowed_transitions, transition_scores


def brute_force(emissions, tags, transitions):
    """log p(tags) by enumerating every tag path over the tagged positions;
    a row marked OPEN_START / OPEN_END has no start / end transition."""
    k = emissions.shape[1]
    where = np.flatnonzero(tags >= 0)
    if not len(where):
        return 0.0
    start = 0.0 * transitions[k] if OPEN_START in tags else transitions[k]
    end = 0.0 * transitions[:, k] if OPEN_END in tags else transitions[:, k]

    def score(path):
        total, previous = 0.0, None
        for position, tag in zip(where, path, strict=True):
            into = start[tag] if previous is None else transitions[previous, tag]
            total += into + emissions[position, tag]
            previous = tag
        return total + end[previous]

    paths = np.array([score(p) for p in itertools.product(range(k), repeat=len(where))])
    log_z = paths.max() + np.log(np.exp(paths - paths.max()).sum())
    return score(tags[where]) - log_z


@pytest.mark.parametrize(
    "scheme, cut",
    [
        ("IOB2", False),
        ("IOB2", True),
        ("BIOES", False),
        # rerun on JAX (which never cuts) and PyTorch by tests/test_scaling.py
        pytest.param("BIOES", True, marks=pytest.mark.backend_smoke),
    ],
)
def test_log_likelihood_is_brute_force_enumeration(scheme, cut):
    rng = np.random.default_rng(0)
    labels = {"IOB2": ["B-X", "I-X", "O"], "BIOES": ["B-X", "E-X", "I-X", "O", "S-X"]}
    k = len(labels[scheme])
    allowed = allowed_transitions(labels[scheme], scheme)
    transitions = np.where(allowed, rng.normal(size=allowed.shape), FORBIDDEN)
    emissions = rng.normal(size=(4, 7, k)) * 2
    tags = rng.integers(0, k, size=(4, 7))
    tags[rng.random(tags.shape) < 0.4] = -1  # later pieces, special tokens
    tags[1] = -1  # a row without tags scores 0
    tags[2, :] = [0, -1, 2, -1, 2, 3 % k, -1]  # a forbidden path under IOB2
    # windows cut from longer sentences: one starts inside an entity (I-X,
    # forbidden at a sentence's start), one ends inside one (B-X under BIOES)
    tags[0, :] = [OPEN_START, 1, -1, 1, 0, 0, OPEN_END]
    tags[3, 0] = OPEN_START
    got = crf_log_likelihood(emissions, tags, transitions, cut=cut)
    got = ops.convert_to_numpy(got)
    expected = [brute_force(emissions[b], tags[b], transitions) for b in range(4)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    assert got[1] == 0.0
    assert np.all(got <= 1e-6)
    # A batch whose longest chain is one word (one-word sentences batched
    # together) and one with no tag at all.
    short = np.full((3, 4), -1)
    short[0, 1], short[2, 2], short[2, 0] = 0, k - 1, OPEN_START
    got = ops.convert_to_numpy(
        crf_log_likelihood(emissions[:3, :4], short, transitions, cut=cut)
    )
    expected = [brute_force(emissions[b, :4], short[b], transitions) for b in range(3)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    none = np.full((2, 4), -1)
    got = crf_log_likelihood(emissions[:2, :4], none, transitions, cut=cut)
    assert ops.convert_to_numpy(got).tolist() == [0.0, 0.0]


def test_the_likelihood_and_its_gradients_compile_under_xla():
    """``jit_compile`` (the default on a GPU) differentiates only a loop of
    known size; the shapes are unknown when the step is traced, as in fit."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.function with XLA; JAX always compiles (test_scaling.py)")
    import tensorflow as tf

    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(2, 5, 3)).astype(np.float32)
    tags = np.array([[OPEN_START, 0, 1, -1, 2], [-1, 2, -1, -1, -1]], np.int32)
    transitions = tf.Variable(rng.normal(size=(4, 4)).astype(np.float32))
    shapes = [tf.TensorSpec([None, None, 3]), tf.TensorSpec([None, None], tf.int32)]

    @tf.function(jit_compile=True, input_signature=shapes)
    def loss_and_gradient(emissions, tags):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_sum(crf_log_likelihood(emissions, tags, transitions))
        return loss, tape.gradient(loss, transitions)

    loss, gradient = loss_and_gradient(emissions, tags)
    values = transitions.numpy()
    expected = -sum(brute_force(emissions[b], tags[b], values) for b in range(2))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    assert np.all(np.isfinite(gradient.numpy())) and np.any(gradient.numpy() != 0)


@pytest.mark.backend_smoke  # tests/test_scaling.py reruns it on JAX and PyTorch
def test_gradients_reach_the_transitions():
    """Trained through keras' own fit: on JAX the loss runs in a stateless
    scope, so a variable the model does not track would get no gradient."""
    import keras

    from albert_sk.crf import CRFTrainer

    keras.utils.set_random_seed(0)
    allowed = allowed_transitions(["B-X", "I-X", "O"], "IOB2")
    allowed[-1, -1] = False  # start -> end: no sentence is empty
    ids = keras.Input(shape=(None,), dtype="int32")
    logits = keras.layers.Dense(3)(keras.layers.Embedding(20, 4)(ids))
    trainer = CRFTrainer(keras.Model(ids, logits), allowed)
    trainer.compile(optimizer=keras.optimizers.Adam(0.1))
    x = np.random.default_rng(0).integers(0, 20, size=(8, 6)).astype("int32")
    y = np.tile(np.array([[-1, 0, 1, -3, 2, -1]], "int32"), (8, 1))
    trainer.fit(x, y, epochs=3, batch_size=4, verbose=0)
    learned = ops.convert_to_numpy(trainer.transitions.transitions)
    scores = ops.convert_to_numpy(trainer.transitions.scores())
    assert np.all(learned[~allowed] == 0), learned  # never read, no gradient
    assert np.all(scores[~allowed] == FORBIDDEN)
    assert np.abs(learned[allowed]).min() > 0.05, learned  # every one learned
    assert learned[0, 1] > 0 and learned[2, 0] < 0  # B->I seen, O->B not


@pytest.fixture(scope="module")
def data():
    return synthetic(120)


@pytest.fixture(scope="module")
def crf_tagger(data):
    return tiny(epochs=8, transitions="crf").fit(*data)


@API_FITS
def test_crf_tagger_predicts_valid_sequences_with_learned_transitions(data, crf_tagger):
    X, y = synthetic(40, seed=1)
    pred = crf_tagger.predict(X)
    assert all(p == repair_iob2(p) for p in pred)  # valid IOB2
    assert crf_tagger.score(X, y) > 0.8
    labels = crf_tagger.labels_.tolist()
    index = {t: i for i, t in enumerate(labels)}
    counted = transition_scores(
        [np.array([index[t] for t in s]) for s in data[1]], labels, "IOB2"
    )
    learned = crf_tagger.transitions_
    assert learned.shape == counted.shape and learned.dtype == np.float32
    forbidden = ~allowed_transitions(labels, "IOB2")
    assert np.all(learned[forbidden] == FORBIDDEN)
    assert not np.allclose(learned[~forbidden], counted[~forbidden], atol=0.1)
    # learned from the data: O -> I-LOC is forbidden, B-LOC -> I-LOC is not
    b_loc, i_loc, o = index["B-LOC"], index["I-LOC"], index["O"]
    assert learned[b_loc, i_loc] > learned[o, b_loc] - 10


@API_FITS
def test_transitions_crf_is_the_default_and_counted_counts_them(data):
    assert AlbertTagger().transitions == "crf"
    assert AlbertTagger(scheme=None)._transition_source() == "counted"
    with pytest.raises(InvalidParameterError, match="transitions"):
        tiny(transitions="auto").fit(*data)
    X, y = data
    counted = tiny(epochs=1, transitions="counted").fit(X, y)
    labels = counted.labels_.tolist()
    index = {t: i for i, t in enumerate(labels)}
    sequences = [np.array([index[t] for t in s]) for s in y]
    np.testing.assert_array_equal(
        counted.transitions_, transition_scores(sequences, labels, "IOB2")
    )
    crf = tiny(epochs=1).fit(X, y)
    # Nothing of the fit stays but fitted attributes (and the inference cache).
    assert {k for k in vars(crf) if k.startswith("_")} <= {"_inference_model_cache"}
    assert type(crf.model_).__name__ == "Functional"  # the plain tagger model
    assert not np.allclose(crf.transitions_, counted.transitions_, atol=0.1)
    # A pickle from before the parameter existed was fitted with counts.
    state = counted.__getstate__()
    del state["transitions"]
    again = AlbertTagger.__new__(AlbertTagger)
    again.__setstate__(state)
    assert again.transitions == "counted"
    assert again.predict(X[:5]) == counted.predict(X[:5])


@API_FITS
def test_export_of_a_crf_tagger_warns_what_transformers_loses(crf_tagger, tmp_path):
    from albert_sk import export_hf
    from albert_sk.exceptions import ExportWarning

    # (pytest.warns would re-raise the other libraries' deprecation warnings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export_hf(crf_tagger, tmp_path / "hf")
    ours = [w for w in caught if issubclass(w.category, ExportWarning)]
    assert len(ours) == 1 and "transitions='counted'" in str(ours[0].message)
    assert ours[0].filename == __file__  # it names the user's line
    assert (tmp_path / "hf" / "config.json").exists() and path


@API_FITS
def test_crf_tagger_save_load_and_pickle_keep_predictions(crf_tagger, tmp_path):
    X = [["Grace", "flew", "to", "New", "York"], ["Bob", "loves", "Oslo", "."]]
    expected = crf_tagger.predict(X)
    loaded = AlbertTagger.load(crf_tagger.save(tmp_path / "crf.albert"))
    restored = pickle.loads(pickle.dumps(crf_tagger))
    for other in (loaded, restored):
        np.testing.assert_array_equal(other.transitions_, crf_tagger.transitions_)
        assert other.predict(X) == expected
