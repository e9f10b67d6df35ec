"""Scaling out: grid search on a Dask cluster, flat memory over refits,
multi-device data parallel training, and the JAX and PyTorch backends.

Multi-device and other-backend tests run in subprocesses: the number of
logical devices (TensorFlow) or host devices (``XLA_FLAGS``) and the Keras
backend are fixed before the backend first starts, which in this process
happened long ago.

Tests marked ``backend_smoke`` are backend-neutral; ``test_backend_smoke_subset``
runs them again under ``KERAS_BACKEND=jax`` and ``KERAS_BACKEND=torch`` so the
default test run covers the three backends DESIGN promises.
"""

import gc
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _marks import API_FITS
from sklearn.base import clone

from albert_sk import AlbertClassifier, AlbertQA, AlbertRegressor, AlbertTagger, load
from albert_sk.exceptions import InputError
from albert_sk.model_file import saved_params

ROOT = Path(__file__).resolve().parents[1]
ON_OTHER_BACKEND = os.environ.get("ALBERT_SK_BACKEND_SMOKE") == "1"

TINY = dict(
    backbone="tiny",
    vocab_size=128,
    max_length=64,
    epochs=2,
    batch_size=16,
    random_state=0,
)

pytestmark = API_FITS


@pytest.fixture(scope="module")
def texts_labels(sentiment_small):
    """80 short real review sentences (40 per label) and their labels."""
    frame = sentiment_small.iloc[:80]
    return frame.text.tolist(), frame.label.to_numpy()


def _run(code, *, env=None, timeout=1800):
    """Run ``code`` in a fresh interpreter; fail with its output on error."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stdout


# === Backend-neutral smoke tests (also run on JAX and PyTorch) ===


@pytest.fixture(scope="module")
def fitted_classifier(texts_labels):
    X, y = texts_labels
    return AlbertClassifier(**TINY).fit(X, y)


@pytest.mark.backend_smoke
def test_fit_predict_save_load_and_pickle(texts_labels, fitted_classifier, tmp_path):
    X, y = texts_labels
    clf = fitted_classifier
    proba = clf.predict_proba(X[:9])
    assert proba.shape == (9, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X[:9]), proba, atol=1e-6)
    loaded = load(clf.save(tmp_path / "clf.albert"))
    np.testing.assert_allclose(loaded.predict_proba(X[:9]), proba, atol=1e-6)
    # The training texts are not part of the pickled estimator.
    longest = max(X, key=len)
    assert len(longest) > 30
    assert longest.encode() not in pickle.dumps(clf)


def test_other_fits_leave_a_model_intact_and_a_refit_replaces_it(
    texts_labels, fitted_classifier
):
    # Not in the backend smoke subset: two more fits are a minute of XLA
    # compiles in the JAX subprocess, for the estimator's bookkeeping, which
    # is the same on every backend.
    X, y = texts_labels
    clf = fitted_classifier
    proba = clf.predict_proba(X[:9])
    other = clone(clf).set_params(random_state=1).fit(X, y)
    old_model = other.model_
    other.fit(X, y)
    assert other.model_ is not old_model
    del old_model
    gc.collect()
    np.testing.assert_allclose(clf.predict_proba(X[:9]), proba, atol=1e-6)
    assert other.predict(X[:9]).shape == (9,)


@pytest.mark.backend_smoke
def test_regressor_fits_and_predicts(texts_labels):
    X, y = texts_labels
    y = y.astype(float)
    reg = AlbertRegressor(**TINY).fit(X, y)
    pred = reg.predict(X[:5])
    assert pred.shape == (5,)
    # Predictions come back in the units of y (targets are standardised for
    # training), and prediction is repeatable.
    assert abs(pred.mean() - y.mean()) < 2 * y.std()
    np.testing.assert_allclose(reg.predict(X[:5]), pred, atol=1e-6)


@pytest.mark.backend_smoke
def test_tagger_and_qa_fit_save_load_and_give_exact_offsets(texts_labels, tmp_path):
    # Token and span heads, windows and their losses on every backend: the
    # first word of each review is the entity, and the answer.
    texts = texts_labels[0][:24]
    firsts = [text.split()[0] for text in texts]
    spans = [[(0, len(first), "FIRST")] for first in firsts]
    small = dict(backbone="tiny", vocab_size=64, epochs=2, random_state=0)
    tagger = AlbertTagger(**small, max_length=32).fit(texts, spans)
    entities = tagger.predict_entities(texts[:4])
    for text, found in zip(texts[:4], entities, strict=True):
        assert all(text[e["start"] : e["end"]] == e["text"] for e in found)
    loaded = load(tagger.save(tmp_path / "tagger.albert"))
    assert loaded.predict_entities(texts[:4]) == entities

    X = [{"question": "Which word comes first?", "context": t} for t in texts]
    qa = AlbertQA(**small, max_length=48, max_query_length=16, doc_stride=16)
    qa.fit(X, firsts)
    for row, records in zip(X[:4], qa.predict_spans(X[:4], n_best=2), strict=True):
        context = row["context"]
        assert all(context[r["start"] : r["end"]] == r["answer"] for r in records)
    again = pickle.loads(pickle.dumps(qa))
    assert list(again.predict(X[:4])) == list(qa.predict(X[:4]))


@pytest.mark.backend_smoke
def test_distribution_data_parallel_matches_single_device_on_two_devices(
    texts_labels,
):
    """Runs where the backend sees 2 devices (the subprocess tests below)."""
    if os.environ.get("ALBERT_SK_TWO_DEVICES") != "1":
        pytest.skip("needs 2 logical devices: run by test_*_data_parallel_*")
    X, y = texts_labels
    # No dropout (random per replica) and no clipping (TensorFlow clips each
    # replica's gradients before summing them): then the two fits agree.
    params = dict(TINY, dropout=0.0, max_grad_norm=None)
    single = AlbertClassifier(**params).fit(X, y)
    parallel = AlbertClassifier(**params, distribution="data_parallel").fit(X, y)
    p_single = single.predict_proba(X[:13])  # 13: an odd batch on 2 devices
    p_parallel = parallel.predict_proba(X[:13])
    assert p_parallel.shape == (13, 2)
    np.testing.assert_allclose(p_parallel, p_single, atol=1e-3)
    # Epoch losses average over batches; a padded batch weighs a row more.
    np.testing.assert_allclose(
        parallel.history_["loss"], single.history_["loss"], rtol=2e-2
    )
    # The string form pickles; the model comes back on one device.
    again = pickle.loads(pickle.dumps(parallel))
    np.testing.assert_allclose(again.predict_proba(X[:13]), p_parallel, atol=1e-6)


# === Subprocess runs: 2 devices, JAX, PyTorch ===


def test_tensorflow_data_parallel_on_two_logical_cpus():
    out = _run(
        """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        import sys, pytest
        sys.exit(pytest.main([
            "-q", "-p", "no:cacheprovider", "tests/test_scaling.py",
            "-k", "data_parallel_matches or explicit_strategy",
        ]))
        """,
        env={"ALBERT_SK_TWO_DEVICES": "1", "KERAS_BACKEND": "tensorflow"},
    )
    assert "2 passed" in out, out


def test_explicit_strategy_object_is_used_as_given(texts_labels):
    if os.environ.get("ALBERT_SK_TWO_DEVICES") != "1" or ON_OTHER_BACKEND:
        pytest.skip("needs 2 logical TensorFlow devices")
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    X, y = texts_labels
    clf = AlbertClassifier(**TINY, distribution=strategy).fit(X, y)
    assert clf.model_.distribute_strategy is strategy
    assert clf.predict(X[:5]).shape == (5,)
    # Strategy objects are not written to the saved parameters.
    assert saved_params(clf)["distribution"] == "auto"


BACKEND_RUNS = {
    # JAX with 2 host devices runs the data-parallel test too. LLVM's
    # optimisation level 0 for XLA's CPU code: the same jitted steps, compiled
    # in 2.5 s instead of 7 s each (a tiny fit: 18 s instead of 34 s); these
    # tests check albert_sk on JAX, not how fast XLA's CPU code runs.
    "jax": (
        {
            "ALBERT_SK_TWO_DEVICES": "1",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2"
            " --xla_backend_optimization_level=0",
            "JAX_PLATFORMS": "cpu",
        },
        "6 passed",
    ),
    # keras.distribution is JAX-only: on PyTorch the 2-device test skips.
    "torch": ({}, "5 passed, 1 skipped"),
}


@pytest.mark.parametrize("backend", sorted(BACKEND_RUNS))
def test_backend_smoke_subset(backend):
    """The ``backend_smoke`` tests, again, on the JAX or PyTorch backend."""
    pytest.importorskip(backend)
    if ON_OTHER_BACKEND:
        pytest.skip("already on another backend")
    env, summary = BACKEND_RUNS[backend]
    out = _run(
        """
        import sys, pytest
        sys.exit(pytest.main([
            "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=",
            "-m", "backend_smoke", "tests/test_scaling.py", "tests/test_crf.py",
        ]))
        """,
        env={"KERAS_BACKEND": backend, "ALBERT_SK_BACKEND_SMOKE": "1", **env},
    )
    assert summary in out, out


# === Parameter checks ===


def test_keras_distribution_object_needs_the_jax_backend(texts_labels):
    import keras

    if keras.backend.backend() == "jax":
        pytest.skip("checks the message on the other backends")
    X, y = texts_labels
    distribution = keras.distribution.DataParallel(devices=["cpu:0"])
    clf = AlbertClassifier(**TINY, distribution=distribution)
    with pytest.raises(InputError, match="keras.distribution object.*JAX backend"):
        clf.fit(X, y)


def test_distribution_parameter_is_validated(texts_labels):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = texts_labels
    with pytest.raises(InvalidParameterError, match="'distribution' parameter"):
        AlbertClassifier(**TINY, distribution="everywhere").fit(X, y)
    assert clone(AlbertClassifier(distribution="data_parallel")).distribution == (
        "data_parallel"
    )


# === Memory over repeated fits ===


def test_memory_stays_flat_over_repeated_fits(texts_labels):
    # 8 refits, each building and tracing a new model; a model, graph or
    # dataset kept per fit shows as growth from fit 3 to fit 8.
    # benchmarks/bench_memory.py measures 20 fits and more sizes.
    psutil = pytest.importorskip("psutil")
    if ON_OTHER_BACKEND:
        pytest.skip("run on the default backend")
    X, y = texts_labels
    X, y = X[:16], y[:16]
    process = psutil.Process()
    clf = AlbertClassifier(
        backbone="tiny", vocab_size=100, max_length=48, epochs=1, batch_size=16
    )
    rss = []
    for seed in range(8):
        clf.set_params(random_state=seed).fit(X, y)
        gc.collect()
        rss.append(process.memory_info().rss / 2**20)
    growth = rss[-1] - rss[2]
    assert growth < 100, f"RSS grew {growth:.0f} MB from fit 3 to fit 8: {rss}"


# === Dask ===


def test_grid_search_on_a_two_process_dask_cluster(texts_labels):
    pytest.importorskip("dask.distributed")
    if ON_OTHER_BACKEND:
        pytest.skip("run on the default backend")
    import joblib
    from dask.distributed import Client, LocalCluster, get_task_stream
    from sklearn.model_selection import GridSearchCV, cross_validate

    X, y = texts_labels
    search = GridSearchCV(
        AlbertClassifier(**TINY),
        {"learning_rate": [1e-3, 3e-3]},
        cv=2,
        n_jobs=-1,
    )
    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            search.fit(X, y)
            # Fitted estimators come back from the workers and predict here.
            fitted = cross_validate(
                AlbertClassifier(**TINY), X, y, cv=2, return_estimator=True
            )["estimator"]
        workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, workers  # both worker processes fitted models
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["learning_rate"] in (1e-3, 3e-3)
    assert set(search.best_estimator_.predict(X[:10])) <= {0, 1}
    for est in fitted:
        assert est.predict_proba(X[:4]).shape == (4, 2)
    print("dask grid search:", search.cv_results_["mean_test_score"])
