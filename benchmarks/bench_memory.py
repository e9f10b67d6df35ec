"""Resident memory over consecutive fits in one process, as in a grid search.

``N_FITS`` fits of a tiny ``AlbertClassifier`` on real review sentences,
either refitting one estimator (what ``GridSearchCV`` does with ``n_jobs=1``
and ``clone``) or building a new estimator per fit and dropping the old one.
RSS is read after each fit (after ``gc.collect()``); the table gives the
growth from fit 5 (after start-up costs: imports, first traces, allocator
pools) to the last fit, and the per-fit slope of a least-squares line over
those fits. Flat memory means a slope near 0 MB per fit.

Run ``python benchmarks/bench_memory.py`` (``--fits 20``, ``--modes refit,new``,
``--no-write``).
Set ``KERAS_BACKEND=jax`` to measure the JAX backend.
"""

import gc
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from albert_sk import AlbertClassifier  # noqa: E402
from albert_sk.io import load_sentiment_sentences  # noqa: E402
from benchmarks._common import arguments, markdown_table, write_section  # noqa: E402

PARAMS = dict(
    backbone="tiny",
    vocab_size=300,
    max_length=48,
    epochs=1,
    batch_size=16,
)


def sentences(n=160, seed=0):
    frame = load_sentiment_sentences()
    frame = frame[frame.text.str.split().str.len() <= 12]
    frame = frame.sample(n, random_state=seed)
    return frame.text.tolist(), frame.label.to_numpy()


def run(mode, n_fits, X, y):
    process = psutil.Process()
    rss, seconds = [], []
    clf = AlbertClassifier(**PARAMS)
    for seed in range(n_fits):
        start = time.perf_counter()
        if mode == "refit":
            clf.set_params(random_state=seed).fit(X, y)
        else:
            clf = AlbertClassifier(**PARAMS, random_state=seed).fit(X, y)
        clf.predict(X[:8])
        gc.collect()
        seconds.append(time.perf_counter() - start)
        rss.append(process.memory_info().rss / 2**20)
        print(f"{mode} fit {seed + 1:2d}: RSS {rss[-1]:7.1f} MB, {seconds[-1]:.1f} s")
    return np.asarray(rss), np.asarray(seconds)


def main():
    parser = arguments(__doc__)
    parser.add_argument("--fits", type=int, default=20)
    parser.add_argument(
        "--modes",
        default="refit,new",
        help="comma-separated: refit (one estimator) and/or new (one per fit)",
    )
    args = parser.parse_args()
    X, y = sentences()
    rows, series = [], []
    names = {"refit": "refit", "new": "new estimator"}
    for mode in [names[m] for m in args.modes.split(",")]:
        rss, seconds = run(mode, args.fits, X, y)
        tail = rss[4:]
        slope = np.polyfit(np.arange(len(tail)), tail, 1)[0] if len(tail) > 1 else 0
        rows.append(
            [
                mode,
                args.fits,
                f"{rss[0]:.0f}",
                f"{rss[4]:.0f}",
                f"{rss[-1]:.0f}",
                f"{rss[-1] - rss[4]:+.0f}",
                f"{slope:+.1f}",
                f"{np.median(seconds):.1f}",
            ]
        )
        series.append(f"{mode}: " + ", ".join(f"{v:.0f}" for v in rss))
    headers = [
        "fits",
        "n",
        "RSS fit 1 (MB)",
        "RSS fit 5 (MB)",
        "RSS last (MB)",
        "growth 5→last (MB)",
        "slope (MB/fit)",
        "median s/fit",
    ]
    body = (
        "## Memory over repeated fits (`bench_memory.py`)\n\n"
        f"{args.fits} consecutive fits of a tiny AlbertClassifier (2 layers, "
        f"hidden 64) on {len(X)} UCI review sentences, one process, backend "
        f"{keras.backend.backend()}. RSS after each fit and `gc.collect()`.\n\n"
        + markdown_table(headers, rows)
        + "\n\nRSS per fit (MB):\n\n"
        + "\n".join(f"- {line}" for line in series)
    )
    if args.no_write:
        print(body)
    else:
        name = "memory" if keras.backend.backend() == "tensorflow" else "memory-jax"
        write_section(name, body)


if __name__ == "__main__":
    main()
