"""Prediction precision (``inference_dtype``): float32, bfloat16 and int8 compared.

For each shared dataset (the UCI review sentences shipped with albert_sk,
TREC coarse question classes, SST-2), one ``AlbertClassifier``
(``backbone="small"``, from scratch) is fitted once in float32; then, on the
held-out texts, ``set_params(inference_dtype=...)`` switches the precision of
prediction. Per dtype: the first ``predict_proba`` (which builds the
converted copy: Keras' ``quantize("int8")`` for int8, and traces), the median
of ``--repeats`` further calls as texts/s, the held-out accuracy, how often
the predicted class equals float32's, and the largest change of a
probability. The same fitted model serves every dtype, so score changes are
the precision's alone.

Run ``python benchmarks/bench_inference.py`` (about 5 minutes on 2 cores).
"""

import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from albert_sk import AlbertClassifier  # noqa: E402
from albert_sk.io import load_sentiment_sentences, read_sst2, read_trec  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402

DTYPES = ("float32", "bfloat16", "int8")


def datasets(n_train, n_test):
    frames = {
        "UCI reviews": load_sentiment_sentences(),
        "TREC (6 classes)": read_trec(DATA / "trec" / "TREC.train"),
        "SST-2": read_sst2(DATA / "sst2" / "train.tsv"),
    }
    for name, frame in frames.items():
        rows = np.random.default_rng(0).permutation(len(frame))
        yield (
            name,
            frame.iloc[rows[:n_train]],
            frame.iloc[rows[n_train : n_train + n_test]],
        )


def measure(clf, test, repeats):
    rows, reference = [], None
    for dtype in DTYPES:
        clf.set_params(inference_dtype=dtype)
        start = time.perf_counter()
        proba = clf.predict_proba(test.text)
        first = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            clf.predict_proba(test.text)
            times.append(time.perf_counter() - start)
        accuracy = float(np.mean(clf.classes_[proba.argmax(axis=1)] == test.label))
        if reference is None:
            reference = proba
        rows.append(
            {
                "dtype": dtype,
                "first_s": first,
                "per_s": len(test) / float(np.median(times)),
                "accuracy": accuracy,
                "agree": float(np.mean(proba.argmax(1) == reference.argmax(1))),
                "max_change": float(np.abs(proba - reference).max()),
            }
        )
    return rows


def main():
    parser = arguments(__doc__)
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", type=int, default=3, help="how many, in order")
    args = parser.parse_args()
    table = []
    for name, train, test in list(datasets(args.n_train, args.n_test))[: args.datasets]:
        clf = AlbertClassifier(
            backbone="small", max_length=64, epochs=args.epochs, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation of a few long texts
            clf.fit(train.text, train.label)
            results = measure(clf, test, args.repeats)
        base = results[0]
        for r in results:
            table.append(
                [
                    name,
                    r["dtype"],
                    f"{r['first_s']:.1f}",
                    f"{r['per_s']:.0f}",
                    f"{r['per_s'] / base['per_s']:.2f}x",
                    f"{r['accuracy']:.3f}",
                    f"{r['accuracy'] - base['accuracy']:+.3f}",
                    f"{r['agree']:.3f}",
                    f"{r['max_change']:.3f}",
                ]
            )
            print(name, r, flush=True)
    body = (
        "### Prediction precision (`inference_dtype`)\n\n"
        f"`python benchmarks/bench_inference.py`: one `AlbertClassifier("
        f"backbone='small', max_length=64)` per dataset fitted from scratch in "
        f"float32 on {args.n_train:,} texts ({args.epochs} epochs), then "
        f"`predict_proba` on {args.n_test:,} held-out texts with each "
        "`inference_dtype`. First call: builds the converted copy and traces; "
        f"texts/s: median of {args.repeats} further calls. Agreement: share of "
        "texts whose predicted class is float32's; max change: the largest "
        "difference of a class probability from float32's.\n\n"
        + markdown_table(
            [
                "dataset",
                "inference_dtype",
                "first call (s)",
                "texts/s",
                "vs float32",
                "accuracy",
                "change",
                "agreement",
                "max change",
            ],
            table,
        )
    )
    publish("inference-dtype", body, args.no_write)


if __name__ == "__main__":
    main()
