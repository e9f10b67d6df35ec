"""Does training hold on any data? Learning rates x datasets x seeds x data orders.

Every run fits a from-scratch estimator with its defaults except the
backbone size, the learning rate and any ``--set NAME=VALUE`` parameters
(kept in the record as ``extra`` and shown in the table's settings column),
on a split of a real dataset, and
scores it on texts it never saw, next to baselines fitted on the same split:

* classification (accuracy): SST-2 (3,000 train / 1,000 test sampled from the
  67k sentences), TREC coarse question types (4,000 / 1,452), the UCI review
  sentences (2,250 / 750); baselines: the majority class and TF-IDF (word
  1-2 grams) + LogisticRegression;
* tagging (strict IOB2 entity F1): WNUT-17 (the 3,394 training sentences in
  the order's shuffle / the 1,009 dev sentences); baselines: the most
  frequent tag and each word's memorised training tag.

A *data order* is a different split and row order of the same data (TREC,
SST-2, UCI) or a different row order (WNUT-17); a *seed* is the estimator's
``random_state`` (initial weights, dropout, batch order). A run *collapsed*
when it scores no better than the majority class (+0.02) or, for tagging, an
entity F1 under 0.01. Whether the run emitted ``ConvergenceWarning`` is kept
beside it, so the table also shows that the warning fires on collapsed runs
and not on healthy ones.

Each run is appended to ``benchmarks/results/learning.jsonl`` as it ends and
skipped when it is there already, so a sweep can be stopped and resumed;
``--table`` rewrites the table in benchmarks/README.md from that file.

Examples::

    python benchmarks/bench_learning.py --sizes small --lrs 1e-3 5e-4 3e-4
    python benchmarks/bench_learning.py --datasets wnut --sizes tiny --epochs 10
    python benchmarks/bench_learning.py --datasets wnut --sizes tiny --epochs 30 \
        --seeds 0 --orders 0 --set dropout=0.3 --set vocab_size=1000
    python benchmarks/bench_learning.py --table
"""

import ast
import itertools
import json
import os
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from albert_sk import AlbertClassifier, AlbertTagger  # noqa: E402
from albert_sk.align import memorised_tags, most_frequent_tag  # noqa: E402
from albert_sk.io import (  # noqa: E402
    load_sentiment_sentences,
    read_conll,
    read_sst2,
    read_trec,
)
from albert_sk.metrics import entity_f1_score  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, write_section  # noqa: E402

RESULTS = Path(__file__).with_name("results") / "learning.jsonl"
SHOWN = ("dataset", "size", "lr", "extra", "seed", "order", "score", "baselines")
SHOWN += ("warned",)


# === Datasets: (X_train, y_train, X_test, y_test) for one data order ===


def _split(frame, n_train, n_test, order):
    rows = np.random.default_rng(order).permutation(len(frame))
    train = frame.iloc[rows[:n_train]]
    test = frame.iloc[rows[n_train : n_train + n_test]]
    return (
        train.text.tolist(),
        train.label.to_numpy(),
        test.text.tolist(),
        (test.label.to_numpy()),
    )


def sst2(order):
    return _split(read_sst2(DATA / "sst2" / "train.tsv"), 3000, 1000, order)


def trec(order):
    return _split(read_trec(DATA / "trec" / "TREC.train"), 4000, 1452, order)


def uci(order):
    return _split(load_sentiment_sentences(), 2250, 750, order)


def wnut(order):
    words, tags = read_conll(DATA / "wnut17" / "wnut17train.conll")
    rows = np.random.default_rng(order).permutation(len(words))
    dev_words, dev_tags = read_conll(DATA / "wnut17" / "emerging.dev.conll")
    return [words[i] for i in rows], [tags[i] for i in rows], dev_words, dev_tags


DATASETS = {
    "sst2": ("classification", sst2),
    "trec": ("classification", trec),
    "uci": ("classification", uci),
    "wnut": ("tagging", wnut),
}


# === Baselines ===


def classification_baselines(X_train, y_train, X_test, y_test):
    values, counts = np.unique(y_train, return_counts=True)
    majority = float(np.mean(y_test == values[counts.argmax()]))
    tfidf = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(max_iter=1000),
    )
    tfidf.fit(X_train, y_train)
    return {"majority": majority, "tfidf": float(tfidf.score(X_test, y_test))}


def tagging_baselines(X_train, y_train, X_test, y_test):
    constant = most_frequent_tag(y_train, X_test)
    memorised = memorised_tags(X_train, y_train, X_test)
    return {
        "majority": entity_f1_score(y_test, constant),
        "memorised": entity_f1_score(y_test, memorised),
    }


# === One run ===


# The Adam update a run used: "dense" since albert_sk's AdamW densifies
# embedding gradients (2026-12-03). Earlier runs have no "adam" and count as
# "slices": Keras' AdamW stepped repeated tokens' embeddings too far.
ADAM = "dense"


def run(dataset, size, lr, seed, order, epochs, pooling, extra):
    task, load = DATASETS[dataset]
    X_train, y_train, X_test, y_test = load(order)
    kind = AlbertClassifier if task == "classification" else AlbertTagger
    params = dict(backbone=size, learning_rate=lr, random_state=seed)
    if task == "classification":
        params["pooling"] = pooling
    if epochs is not None:
        params["epochs"] = epochs
    params.update(extra)
    est = kind(**params)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    convergence = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted truncation of a few long texts
        score = float(est.score(X_test, y_test))
    baselines = (
        classification_baselines if task == "classification" else tagging_baselines
    )(X_train, y_train, X_test, y_test)
    collapsed = (
        score <= baselines["majority"] + 0.02
        if task == "classification"
        else score < 0.01
    )
    return {
        "dataset": dataset,
        "task": task,
        "size": size,
        "lr": lr,
        "resolved_lr": est._learning_rate(),
        "pooling": est.pooling_ if task == "classification" else "-",
        "epochs": est.epochs,
        "warmup_ratio": est.warmup_ratio,
        "extra": extra,
        "seed": seed,
        "order": order,
        "score": score,
        "baselines": baselines,
        "collapsed": bool(collapsed),
        "warned": bool(convergence),
        "warning": convergence[0] if convergence else None,
        "loss": est.history_["loss"],
        "fit_s": round(fit_s, 1),
        "adam": ADAM,
    }


def key(record):
    return (
        record["dataset"],
        record["size"],
        record.get("pooling", "cls"),
        str(record["lr"]),
        record["epochs"],
        json.dumps(record.get("extra") or {}, sort_keys=True),
        record["seed"],
        record["order"],
        record.get("adam", "slices"),
    )


def settings(extra):
    """The ``--set`` parameters of a run as one table cell, ``-`` for none."""
    if not extra:
        return "-"
    return ", ".join(f"`{name}={value!r}`" for name, value in sorted(extra.items()))


def parse_set(text):
    """``NAME=VALUE`` -> (name, value): a Python literal, else the string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise SystemExit(
            f"--set expects NAME=VALUE with NAME a parameter name. Got {text!r} "
            "instead; write for example --set dropout=0.3."
        )
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def load_results():
    if not RESULTS.exists():
        return []
    return [json.loads(line) for line in RESULTS.read_text().splitlines() if line]


# === Table ===


def table(records):
    groups = defaultdict(list)
    for r in records:
        group = (r["task"], r["dataset"], r["size"], r.get("pooling", "cls"))
        group += (r["resolved_lr"], r["epochs"], settings(r.get("extra")))
        group += (r.get("adam", "slices"),)
        groups[group].append(r)
    defaults = {}
    for size in ("tiny", "small", "base"):
        for kind in (AlbertClassifier, AlbertTagger):
            defaults[(kind.__name__, size)] = kind(backbone=size)._learning_rate()
    rows = []
    for group, runs in sorted(groups.items()):
        task, dataset, size, pooling, lr, epochs, extra, adam = group
        scores = np.array([r["score"] for r in runs])
        base = "tfidf" if task == "classification" else "memorised"
        baseline = np.mean([r["baselines"][base] for r in runs])
        majority = np.mean([r["baselines"]["majority"] for r in runs])
        kind = "AlbertClassifier" if task == "classification" else "AlbertTagger"
        is_default = (
            np.isclose(lr, defaults[(kind, size)]) and pooling != "cls" and extra == "-"
        )
        collapsed = sum(r["collapsed"] for r in runs)
        warned_ok = sum(r["warned"] for r in runs if r["collapsed"])
        false_alarms = sum(r["warned"] for r in runs if not r["collapsed"])
        rows.append(
            [
                dataset,
                size,
                pooling,
                f"{lr:g}" + (" **(default)**" if is_default else ""),
                epochs,
                extra,
                adam,
                len(runs),
                f"{scores.mean():.3f}",
                f"{scores.min():.3f}",
                f"{scores.max():.3f}",
                f"{baseline:.3f}",
                f"{majority:.3f}",
                collapsed,
                f"{warned_ok}/{collapsed}",
                false_alarms,
                f"{np.median([r['fit_s'] for r in runs]):.0f}",
            ]
        )
    headers = [
        "dataset",
        "backbone",
        "pooling",
        "learning rate",
        "epochs",
        "settings",
        "Adam",
        "runs",
        "mean",
        "min",
        "max",
        "TF-IDF / memorised",
        "majority",
        "collapsed",
        "warned (of collapsed)",
        "warned (healthy)",
        "fit s (median)",
    ]
    body = (
        "## Learning: from-scratch defaults over datasets, seeds and data orders\n\n"
        "`bench_learning.py`: each row is one estimator setting, fitted from "
        "scratch with its defaults except the backbone, the learning rate and "
        "the parameters in the settings column (`--set`, `-` for none) on "
        "every combination of 3 seeds (`random_state`) and 2 data orders "
        "(split and row order), scored on held-out texts: accuracy for SST-2 "
        "(3,000 train / 1,000 test), TREC coarse (4,000 / 1,452) and the UCI "
        "reviews (2,250 / 750); strict entity F1 on the WNUT-17 dev set. "
        "Baselines are fitted on the same split in the same run: TF-IDF + "
        "LogisticRegression (classification) or memorised word tags (tagging), "
        "and the majority class / most frequent tag. *Collapsed*: no better "
        "than the majority class + 0.02 (tagging: F1 < 0.01). The warning "
        "columns count runs that emitted `ConvergenceWarning`. Fit times were "
        "measured while other work shared the 2 cores: compare them within "
        "this table only. *Adam*: `dense` for runs since albert_sk's AdamW "
        "updates an embedding from its summed gradient (Adam's update); "
        "`slices` for the earlier runs, where Keras' AdamW on TensorFlow "
        "moved a token seen k times in a batch up to sqrt(k) times too far "
        "(CHANGELOG).\n\n" + markdown_table(headers, rows)
    )
    write_section("learning", body)


def main():
    parser = arguments(__doc__)
    parser.add_argument("--datasets", nargs="+", default=["sst2", "trec", "uci"])
    parser.add_argument("--sizes", nargs="+", default=["small"])
    parser.add_argument("--lrs", nargs="+", default=["auto"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--orders", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--pooling", default="auto", choices=["auto", "cls", "mean"])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra estimator parameter for every run (repeatable); VALUE "
        "is read as a Python literal, else kept as a string",
    )
    parser.add_argument("--table", action="store_true", help="only rewrite the table")
    args = parser.parse_args()
    extra = dict(parse_set(text) for text in args.set)
    clash = sorted(set(extra) & {"backbone", "learning_rate", "random_state", "epochs"})
    if clash:
        raise SystemExit(
            f"--set cannot set {', '.join(clash)}: use --sizes, --lrs, --seeds "
            "and --epochs, which the table groups by."
        )
    if not args.table:
        RESULTS.parent.mkdir(exist_ok=True)
        done = {key(r) for r in load_results()}
        lrs = [lr if lr == "auto" else float(lr) for lr in args.lrs]
        # Interleaved, so a stopped sweep has every setting on the same runs.
        plan = itertools.product(
            args.orders, args.seeds, args.datasets, args.sizes, lrs
        )
        for order, seed, dataset, size, lr in plan:
            pooling = "-" if DATASETS[dataset][0] == "tagging" else args.pooling
            if pooling == "auto":
                pooling = "mean"  # what "auto" means from scratch
            probe = dict(dataset=dataset, size=size, lr=lr, seed=seed, order=order)
            probe.update(
                epochs=args.epochs or 3, pooling=pooling, extra=extra, adam=ADAM
            )
            if key(probe) in done:
                continue
            record = run(
                dataset, size, lr, seed, order, args.epochs, args.pooling, extra
            )
            print(json.dumps({k: record[k] for k in SHOWN}), flush=True)
            with RESULTS.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
    table(load_results())


if __name__ == "__main__":
    main()
