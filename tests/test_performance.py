"""The fast path stays fast: few traced graphs, little padding, CPU-safe GPU paths.

No timings here (they live in benchmarks/); these tests pin the mechanisms
the benchmarks rely on.
"""

import collections
import functools

import keras
import numpy as np
import pytest
from _marks import API_FITS
from keras_hub.models import AlbertBackbone

from albert_sk import AlbertClassifier
from albert_sk.batching import (
    Encoded,
    bucket_sizes,
    fit_input,
    make_batches,
    training_batches,
)

TINY = dict(
    backbone="tiny",
    vocab_size=400,
    max_length=64,
    batch_size=16,
    random_state=0,
)

pytestmark = API_FITS


class TraceCountingClassifier(AlbertClassifier):
    """Counts how often Keras traces (compiles) its train/test/predict steps.

    A step method is called in Python only while TensorFlow traces the graph
    that holds it; every later batch runs the traced graph.
    """

    def _compile(self, n_train):
        model = super()._compile(n_train)
        self.traces_ = collections.Counter()
        for name in ("train_step", "test_step", "predict_step"):
            step = getattr(self.model_, name)

            def counted(data, _step=step, _name=name):
                self.traces_[_name] += 1
                return _step(data)

            setattr(self.model_, name, counted)
        return model


@pytest.fixture(scope="module")
def fitted_tiny(sentiment_small):
    X, y = sentiment_small.text.tolist(), sentiment_small.label.to_numpy()
    return AlbertClassifier(epochs=1, **dict(TINY, vocab_size=300)).fit(X, y)


@pytest.fixture(scope="module")
def sst2_mixed(sst2_small):
    """400 SST-2 phrases of very different lengths (1 to 20 words)."""
    words = sst2_small.text.str.split().str.len()
    return sst2_small[words <= 20].iloc[:400]


def test_bucket_sizes_with_step():
    assert bucket_sizes(64, step=8).tolist() == [8, 16, 24, 32, 40, 48, 56, 64]
    assert bucket_sizes(60, step=8).tolist() == [8, 16, 24, 32, 40, 48, 56, 60]
    assert bucket_sizes(8, step=8).tolist() == [8]
    assert bucket_sizes(64).tolist() == [16, 32, 64]


def test_finer_buckets_pad_less():
    lengths = np.random.default_rng(0).integers(3, 40, size=2000)
    padding = {}
    for name, buckets in [("pow2", bucket_sizes(64)), ("x8", bucket_sizes(64, step=8))]:
        _, padded = make_batches(lengths, 32, buckets, np.random.default_rng(0))
        padding[name] = 32 * sum(padded) / lengths.sum()
    assert padding["x8"] < padding["pow2"]
    assert padding["x8"] < 1.3


def test_cpu_graph_uses_multiples_of_eight():
    clf = AlbertClassifier(max_length=64, jit_compile=False)
    assert clf._bucket_sizes().tolist() == [8, 16, 24, 32, 40, 48, 56, 64]
    clf = AlbertClassifier(max_length=64, jit_compile=True)
    assert clf._bucket_sizes().tolist() == [16, 32, 64]


def test_prediction_batches_fill_a_token_budget():
    lengths = np.random.default_rng(1).integers(3, 64, size=1000)
    buckets = bucket_sizes(64, step=8)
    batches, padded = make_batches(lengths, 32, buckets, max_tokens=32 * 64)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    assert np.all(np.diff(lengths[rows]) >= 0)  # still sorted by length
    for index, length in zip(batches, padded, strict=True):
        assert lengths[index].max() <= length
        assert len(index) <= max(32, 32 * 64 // length)
    # Short rows share big batches: fewer model calls than batches of 32.
    plain, _ = make_batches(lengths, 32, buckets)
    assert [len(b) for b in plain[:-1]] == [32] * (len(plain) - 1)
    assert len(batches) < 0.8 * len(plain)


def test_fit_input_serves_every_row_once_per_epoch_in_a_new_order():
    lengths = np.random.default_rng(0).integers(3, 60, size=100)
    # Each row's first token is its row number, to follow rows into batches.
    rows = [[i] + [1] * (n - 1) for i, n in enumerate(lengths)]
    encoded = Encoded.from_rows(rows, [[0] * n for n in lengths])
    batches = training_batches(
        encoded,
        np.arange(100),
        None,
        batch_size=16,
        buckets=bucket_sizes(64, step=8),
        rng=np.random.default_rng(1),
    )
    data = fit_input(batches)
    epochs = []
    for _ in range(2):
        seen = []
        for x, y in data:
            x, y = keras.tree.map_structure(np.asarray, (x, y))
            np.testing.assert_array_equal(x["token_ids"][:, 0], y)
            assert x["token_ids"].shape[1] >= lengths[y].max()
            seen.append(y)
        epochs.append(np.concatenate(seen))
    for order in epochs:
        assert sorted(order.tolist()) == list(range(100))
    assert epochs[0].tolist() != epochs[1].tolist()


def test_predictions_do_not_depend_on_batching(fitted_tiny, sentiment_small):
    clf = fitted_tiny
    X = sentiment_small.text.tolist()
    logits = clf.decision_function(X)
    encoded = clf._encode(clf._check_X(X, reset=False))
    one_batch = encoded.batch(np.arange(len(encoded)), clf.max_length)
    reference = np.asarray(clf.model_.predict_on_batch(one_batch))
    np.testing.assert_allclose(
        logits, reference[:, 1] - reference[:, 0], rtol=1e-4, atol=1e-4
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="counts TensorFlow traces"
)
def test_fit_and_predict_over_many_lengths_trace_a_few_times(sst2_mixed):
    X, y = sst2_mixed.text.tolist(), sst2_mixed.label.to_numpy()
    clf = TraceCountingClassifier(epochs=2, validation_split=0.25, **TINY)
    clf.fit(X, y)
    train = clf._batches(clf._encode(clf._check_X(X, reset=False)), y)
    shapes = {(len(i), p) for i, p in zip(train.index, train.padded, strict=True)}
    # Many padded shapes (bucket lengths x a short last batch) ...
    assert len({p for _, p in shapes}) >= 4
    n_batches = 2 * len(train)
    # ... but the train step is traced once: batches have a free sequence
    # axis, and the optimizer and metric variables exist before fit (a step
    # that creates variables is traced twice); never once per shape or batch.
    assert clf.traces_["train_step"] == 1 < n_batches
    assert 1 <= clf.traces_["test_step"] <= 2
    before = clf.traces_["predict_step"]
    clf.predict(X)
    clf.predict(X[:37])
    if keras.backend.backend() == "tensorflow":
        # Prediction runs one function with a free batch and sequence axis:
        # traced once for all its shapes (Keras's predict_on_batch retraces
        # for each new one, 0.3 s apiece).
        predict = clf.model_.__dict__["_albert_sk_predict"]
        assert predict.experimental_get_tracing_count() == 1
    else:
        assert clf.traces_["predict_step"] - before <= 3
    assert clf.score(X, y) > 0.5


def test_mixed_precision_on_cpu_keeps_float32_logits(sentiment_small):
    X, y = sentiment_small.text.tolist(), sentiment_small.label.to_numpy()
    clf = AlbertClassifier(mixed_precision=True, epochs=1, **TINY)
    clf.fit(X, y)
    backbone = next(
        layer for layer in clf.model_.layers if isinstance(layer, AlbertBackbone)
    )
    assert backbone.dtype_policy.name == "mixed_bfloat16"
    assert clf.model_.output.dtype == "float32"
    logits = clf.decision_function(X)
    assert logits.dtype == np.float32 and np.isfinite(logits).all()
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(clf.history_["loss"]).all()


@pytest.mark.slow  # XLA compiles each padded shape on CPU: minutes under load
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="XLA through tf.function"
)
def test_jit_compile_on_cpu_fits_and_predicts(sentiment_small):
    X, y = sentiment_small.text.tolist(), sentiment_small.label.to_numpy()
    params = dict(TINY, vocab_size=150)
    clf = AlbertClassifier(jit_compile=True, epochs=1, **params)
    clf.fit(X[:64], y[:64])
    assert clf.model_.jit_compile
    proba = clf.predict_proba(X[:40])
    assert proba.shape == (40, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def apply(optimizer, variables, grads):
    optimizer.apply(grads, variables)


def test_fused_adamw_updates_as_keras_adamw_does():
    # albert_sk's AdamW runs TensorFlow's fused Adam kernel (a third of the
    # train step's graph): the same clipped, decayed updates as Keras' AdamW.
    import tensorflow as tf

    from albert_sk.training import NORM_LAYER_NAMES, AdamW, LinearWarmupDecay

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the fused kernel is TensorFlow's")
    rng = np.random.default_rng(0)
    shapes = {"embeddings": (50, 8), "bias": (8,), "kernel": (8, 4)}
    start = {n: rng.normal(size=s).astype("float32") for n, s in shapes.items()}
    steps = [
        [rng.normal(scale=scale, size=shape) for shape in shapes.values()]
        for scale in (0.1, 3.0, 0.5, 2.0, 0.01)  # some clipped, some not
    ]
    results, graphs = {}, {}
    for kind in (AdamW, keras.optimizers.AdamW):
        variables = [keras.Variable(start[n], name=n) for n in shapes]
        optimizer = kind(
            learning_rate=LinearWarmupDecay(1e-2, 2, 5),
            weight_decay=0.1,
            clipnorm=1.0,
        )
        optimizer.exclude_from_weight_decay(var_names=NORM_LAYER_NAMES)
        optimizer.build(variables)

        step = tf.function(functools.partial(apply, optimizer, variables))
        for grads in steps:
            step([tf.constant(g, "float32") for g in grads])
        results[kind] = [v.numpy() for v in variables]
        graph = step.get_concrete_function(
            [tf.TensorSpec(s, "float32") for s in shapes.values()]
        ).graph
        graphs[kind] = {op.type for op in graph.get_operations()}
    pairs = zip(results[AdamW], results[keras.optimizers.AdamW], strict=True)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not np.allclose(results[AdamW][0], start["embeddings"])  # it trained
    assert "ResourceApplyAdam" in graphs[AdamW]
    assert "ResourceApplyAdam" not in graphs[keras.optimizers.AdamW]


def test_a_tokens_repeated_gradient_slices_get_adams_update():
    # An embedding's gradient holds one slice per token occurrence. Adam's
    # update is that of their sum (as on JAX and PyTorch); Keras' AdamW on
    # TensorFlow squares the slices one by one and moves a token seen twice
    # sqrt(2) times too far on its first step.
    import tensorflow as tf

    from albert_sk.training import AdamW

    if keras.backend.backend() != "tensorflow":
        pytest.skip("IndexedSlices gradients are TensorFlow's")
    values = tf.ones((3, 2))
    slices = tf.IndexedSlices(values, tf.constant([0, 0, 1]), tf.constant([3, 2]))
    moved = {}
    for name, kind, grad in [
        ("ours", AdamW, slices),
        ("keras, dense", keras.optimizers.AdamW, tf.convert_to_tensor(slices)),
        ("keras, slices", keras.optimizers.AdamW, slices),
    ]:
        variable = keras.Variable(np.zeros((3, 2), "float32"))
        optimizer = kind(learning_rate=0.1, weight_decay=0.0)
        optimizer.build([variable])
        tf.function(functools.partial(apply, optimizer, [variable]))([grad])
        moved[name] = -variable.numpy()
    np.testing.assert_allclose(moved["ours"], moved["keras, dense"], rtol=1e-5)
    np.testing.assert_allclose(moved["ours"][:2], 0.1, rtol=1e-4)  # Adam: lr
    assert (moved["ours"][2] == 0).all()  # no gradient, no step
    # What the densifying fixes (if Keras fixes it, this line can go):
    assert moved["keras, slices"][0, 0] == pytest.approx(0.1 * np.sqrt(2), rel=1e-3)
