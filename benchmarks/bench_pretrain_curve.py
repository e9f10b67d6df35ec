"""Does self-pretraining pay? Pretraining minutes against SST-2 and WNUT-17 scores.

The curve of issue 12: pretrain a from-scratch ALBERT with ``AlbertPretrainer``
on the tasks' own training texts plus the unlabelled text of ../shared/data
(the corpus of bench_pretrain.py: SST-2 minus the evaluation sentences, TREC,
WNUT-17 train, SQuAD contexts), one run per budget of ``--budgets`` steps
(seed 0). With no pretraining (from scratch, a vocabulary trained on the
fine-tuning texts) and after each run, fine-tune with the one-call path
(``to_estimator``), for each seed: ``AlbertClassifier`` on an SST-2 split
(accuracy on held-out sentences) and/or ``AlbertTagger`` on WNUT-17 train
(entity F1 on dev). No evaluation text is in the pretraining corpus. Total
CPU time of a point = its pretraining + the fine-tuning fit.

Writes its table to benchmarks/README.md (section ``pretrain-curve-<tasks>``),
every fit to benchmarks/results/pretrain_curve_<tasks>.jsonl and the plot to
benchmarks/results/pretrain_curve_<tasks>.png. It takes about 35 minutes on 2
cores (``--tasks sst2``: 9).
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from albert_sk import AlbertClassifier, AlbertPretrainer, AlbertTagger  # noqa: E402
from albert_sk.io import read_conll, read_sst2  # noqa: E402
from albert_sk.metrics import entity_f1_score  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, write_section  # noqa: E402
from benchmarks.bench_pretrain import grouped, pretraining_corpus  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
MAX_LENGTH = 64
BATCH_SIZE = 32


def sst2_task(args):
    """SST-2: a training split, held-out sentences, accuracy."""
    sst2 = read_sst2(DATA / "sst2" / "train.tsv")
    rows = np.random.default_rng(0).permutation(len(sst2))
    train = sst2.iloc[rows[: args.n_train]]
    test = sst2.iloc[rows[args.n_train : args.n_train + args.n_test]]

    def estimator(seed):
        return AlbertClassifier(
            backbone=args.backbone, vocab_size=args.vocab_size,
            max_length=MAX_LENGTH, batch_size=BATCH_SIZE, epochs=args.epochs,
            learning_rate=args.fine_tune_lr, random_state=seed,
        )  # fmt: skip

    return dict(
        name="SST-2 accuracy",
        exclude=set(test.text),
        estimator=estimator,
        fit=(train.text, train.label),
        score=lambda est: est.score(test.text, test.label),
        described=f"`AlbertClassifier` on {len(train):,} SST-2 sentences, "
        f"{args.epochs} epochs, learning rate {args.fine_tune_lr:g}, accuracy on "
        f"{len(test):,} held-out sentences",
    )


def wnut17_task(args):
    """WNUT-17: the training sentences that hold an entity, dev entity F1."""
    folder = DATA / "wnut17"
    X, y = read_conll(folder / "wnut17train.conll")
    X_dev, y_dev = read_conll(folder / "emerging.dev.conll")
    keep = [i for i, tags in enumerate(y) if set(tags) != {"O"}]
    X, y = [X[i] for i in keep], [y[i] for i in keep]

    def estimator(seed):
        # docs/tagger.md's best measured recipe from scratch.
        return AlbertTagger(
            backbone=args.backbone, vocab_size=args.vocab_size,
            max_length=MAX_LENGTH, epochs=30, dropout=0.3,
            learning_rate=args.fine_tune_lr, random_state=seed,
        )  # fmt: skip

    return dict(
        name="WNUT-17 dev entity F1",
        exclude=set(),  # the dev sentences are not in the corpus
        estimator=estimator,
        fit=(X, y),
        score=lambda est: entity_f1_score(y_dev, est.predict(X_dev)),
        described=f"`AlbertTagger` on the {len(X):,} WNUT-17 training sentences "
        "that hold an entity, 30 epochs, dropout 0.3, learning rate "
        f"{args.fine_tune_lr:g}, entity F1 on the {len(X_dev):,} dev sentences",
    )


TASKS = {"sst2": sst2_task, "wnut17": wnut17_task}


def fine_tune(start, task, seed):
    """Fit ``task``'s estimator from ``start`` (a pretrainer or None)."""
    est = task["estimator"](seed)
    with tempfile.TemporaryDirectory() as tmp:
        if start is not None:
            est = start.to_estimator(est, os.path.join(tmp, "preset"))
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(*task["fit"])
        fit_s = time.perf_counter() - t
    collapsed = any(w.category is ConvergenceWarning for w in caught)
    return task["score"](est), fit_s, collapsed


def main():
    parser = arguments(__doc__)
    parser.add_argument("--tasks", default="sst2,wnut17", help="of: " + ",".join(TASKS))
    parser.add_argument(
        "--budgets", default="300,600,1200", help="pretraining steps, one run each"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--n-train", type=int, default=2000, help="SST-2")
    parser.add_argument("--n-test", type=int, default=1000, help="SST-2")
    parser.add_argument("--epochs", type=int, default=3, help="SST-2")
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=2e-3, help="pretraining")
    parser.add_argument("--fine-tune-lr", type=float, default=1e-3)
    args = parser.parse_args()

    tasks = {name: TASKS[name](args) for name in args.tasks.split(",")}
    exclude = set().union(*(task["exclude"] for task in tasks.values()))
    docs = pretraining_corpus(exclude)
    corpus = [
        d
        for name, part in docs.items()
        for d in (part if name == "SQuAD" else grouped(part, 4))
    ]
    print(f"pretraining corpus: {len(corpus):,} documents", flush=True)

    points = {name: [] for name in tasks}  # (steps, pretrain_s, scores, fit_s)
    records = []
    for budget in [0] + [int(b) for b in args.budgets.split(",")]:
        pre, pretrain_s = None, 0.0
        if budget:
            t = time.perf_counter()
            pre = AlbertPretrainer(
                backbone=args.backbone, vocab_size=args.vocab_size,
                max_length=MAX_LENGTH, batch_size=BATCH_SIZE, max_steps=budget,
                learning_rate=args.lr, random_state=0,
            ).fit(corpus)  # fmt: skip
            pretrain_s = time.perf_counter() - t
        for name, task in tasks.items():
            scores, fits = [], []
            for seed in range(args.seeds):
                score, fit_s, collapsed = fine_tune(pre, task, seed)
                scores.append(score)
                fits.append(fit_s)
                record = dict(
                    task=name, steps=budget, pretrain_s=round(pretrain_s, 1),
                    seed=seed, score=round(score, 4), fit_s=round(fit_s, 1),
                    convergence_warning=collapsed,
                )  # fmt: skip
                records.append(record)
                print(record, flush=True)
            points[name].append((budget, pretrain_s, scores, fits))

    os.makedirs(RESULTS, exist_ok=True)
    stem = os.path.join(RESULTS, f"pretrain_curve_{args.tasks.replace(',', '_')}")
    with open(stem + ".jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    plot(tasks, points, stem + ".png")
    shown = os.path.relpath(stem, os.path.dirname(os.path.dirname(RESULTS)))

    sections = []
    for name, task in tasks.items():
        rows = points[name]
        scratch, scratch_fit = np.mean(rows[0][2]), np.mean(rows[0][3])
        table = markdown_table(
            [
                "pretraining steps",
                "pretraining time",
                f"{task['name']} min / mean / max",
                "mean vs scratch",
                "total time / scratch fit",
            ],
            [
                (
                    f"{s:,}" if s else "0 (from scratch)",
                    f"{p:.0f} s",
                    f"{min(a):.3f} / {np.mean(a):.3f} / {max(a):.3f}",
                    f"{np.mean(a) - scratch:+.3f}",
                    f"{(p + np.mean(f)) / scratch_fit:.1f}x",
                )
                for s, p, a, f in rows
            ],
        )
        sections.append(f"{task['described']}:\n\n{table}")
    body = (
        "### Does self-pretraining pay? (the curve)\n\n"
        f"`python benchmarks/bench_pretrain_curve.py --tasks {args.tasks} --budgets "
        f"{args.budgets}`: backbone `{args.backbone}`, pretrained by "
        "`AlbertPretrainer` (one run per budget, seed 0) on the tasks' training "
        "texts and the other unlabelled text of ../shared/data "
        f"({len(corpus):,} documents, vocabulary {args.vocab_size:,}, max_length "
        f"{MAX_LENGTH}, batch {BATCH_SIZE}, peak learning rate {args.lr:g}); after "
        "each run `to_estimator` hands the preset to the fine-tuning estimator; "
        "0 steps is from scratch, with a vocabulary trained on the fine-tuning "
        f"texts. Seeds 0-{args.seeds - 1} of the fine-tuning; the evaluation texts "
        "are never in the pretraining corpus. Total time = pretraining so far + "
        "the mean fine-tuning fit, over the mean from-scratch fit. Every fit: "
        f"`{shown}.jsonl`; plot: `{shown}.png`.\n\n" + "\n\n".join(sections) + "\n"
    )
    if args.no_write:
        print(body)
    else:
        write_section(f"pretrain-curve-{args.tasks.replace(',', '-')}", body)


def plot(tasks, points, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.4))
    for ax, (name, task) in zip(np.atleast_1d(axes), tasks.items(), strict=True):
        rows = points[name]
        minutes = [p / 60 for _, p, _, _ in rows]
        ax.plot(minutes, [np.mean(a) for _, _, a, _ in rows], "o-", label="mean")
        ax.fill_between(
            minutes, [min(a) for _, _, a, _ in rows], [max(a) for _, _, a, _ in rows],
            alpha=0.25, label="min-max over seeds",
        )  # fmt: skip
        ax.set_xlabel("pretraining (minutes on 2 CPU cores)")
        ax.set_ylabel(task["name"])
        ax.legend()
    fig.suptitle("Self-pretraining, then fine-tuning (0 = from scratch)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
