"""Does pretraining on our own unlabelled text help? AlbertPretrainer, then SST-2.

1. Pretrain a from-scratch ALBERT (own SentencePiece vocabulary, n-gram MLM +
   SOP) for a fixed number of steps on the text in ../shared/data: SST-2
   sentences (all but the evaluation split), TREC questions (Latin-1), WNUT-17
   tweets and SQuAD contexts. One document per SQuAD paragraph; the short
   texts are grouped ``--group`` to a document so rows fill ``max_length``.
2. Fine-tune ``AlbertClassifier`` on an SST-2 training split twice with the
   same budget (epochs, learning rate, batch size, architecture): from the
   pretrained preset, and from scratch with a vocabulary trained on the
   fine-tuning texts. Report accuracy on held-out SST-2 sentences that the
   pretraining never saw, and the MLM/SOP accuracy curves.

Run ``python benchmarks/bench_pretrain.py`` (about 10 minutes on 2 cores);
``--steps`` and ``--backbone`` change the budget.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from albert_sk import AlbertClassifier, AlbertPretrainer  # noqa: E402
from albert_sk.io import read_sst2  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, write_section  # noqa: E402

MAX_LENGTH = 64
BATCH_SIZE = 32


def pretraining_corpus(exclude):
    """Documents from the four datasets, SST-2 evaluation sentences left out."""
    sst2 = read_sst2(DATA / "sst2" / "train.tsv")
    docs = {"SST-2": [t for t in sst2.text if t not in exclude]}
    with open(DATA / "trec" / "TREC.train", encoding="latin-1") as fh:
        docs["TREC"] = [line.split(" ", 1)[1].strip() for line in fh if " " in line]
    tweets, words = [], []
    with open(DATA / "wnut17" / "wnut17train.conll", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                tweets.append(" ".join(words))
                words = []
    docs["WNUT-17"] = tweets + ([" ".join(words)] if words else [])
    contexts = []
    for name in ("dev-v1.1-part-a.json", "dev-v2.0-part-a.json"):
        data = json.loads((DATA / "squad" / name).read_text(encoding="utf-8"))
        contexts += [p["context"] for a in data["data"] for p in a["paragraphs"]]
    docs["SQuAD"] = list(dict.fromkeys(contexts))
    return docs


def grouped(texts, size):
    """Consecutive short texts joined (one per line) into documents of ``size``.

    Rows are packed from the sentences of one document, so grouping fills the
    ``max_length`` tokens of a row instead of one short sentence per row (more
    masked tokens per step). The order of unrelated sentences carries no
    signal, so SOP learns from the SQuAD paragraphs only.
    """
    return ["\n".join(texts[i : i + size]) for i in range(0, len(texts), size)]


def main():
    parser = arguments(__doc__)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=2e-3, help="pretraining")
    parser.add_argument("--fine-tune-lr", type=float, default=1e-3)
    parser.add_argument(
        "--group", type=int, default=4, help="short texts per document (1: none)"
    )
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    sst2 = read_sst2(DATA / "sst2" / "train.tsv")
    rows = np.random.default_rng(0).permutation(len(sst2))
    train = sst2.iloc[rows[: args.n_train]]
    test = sst2.iloc[rows[args.n_train : args.n_train + args.n_test]]
    docs = pretraining_corpus(set(test.text))
    corpus = [
        d
        for name, part in docs.items()
        for d in (part if name == "SQuAD" else grouped(part, args.group))
    ]
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in docs.items())
    print(f"pretraining corpus: {len(corpus):,} documents ({sizes})", flush=True)

    start = time.perf_counter()
    pre = AlbertPretrainer(
        backbone=args.backbone,
        vocab_size=args.vocab_size,
        max_length=MAX_LENGTH,
        batch_size=BATCH_SIZE,
        max_steps=args.steps,
        learning_rate=args.lr,
        log_every=max(1, args.steps // 10),
        random_state=0,
        verbose=1,
    ).fit(corpus)
    pretrain_s = time.perf_counter() - start
    held_out = [d for d in docs["SQuAD"][-200:]]
    mlm_score = pre.score(held_out)

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        preset = pre.save_preset(os.path.join(tmp, "preset"))
        for name, params in (
            ("from scratch", dict(backbone=args.backbone, vocab_size=args.vocab_size)),
            ("pretrained preset", dict(preset=preset)),
        ):
            clf = AlbertClassifier(
                **params,
                max_length=MAX_LENGTH,
                batch_size=BATCH_SIZE,
                epochs=args.epochs,
                learning_rate=args.fine_tune_lr,
                random_state=0,
            )
            t = time.perf_counter()
            clf.fit(train.text, train.label)
            fit_s = time.perf_counter() - t
            results[name] = (
                clf.score(test.text, test.label),
                fit_s,
                clf.tokenizer_.vocab_size,
            )
            print(name, results[name], flush=True)

    history = pre.history_
    curve = markdown_table(
        ["step", "MLM loss", "MLM accuracy", "SOP loss", "SOP accuracy"],
        [
            (
                s,
                f"{history['mlm_loss'][i]:.3f}",
                f"{history['mlm_accuracy'][i]:.3f}",
                f"{history['sop_loss'][i]:.3f}",
                f"{history['sop_accuracy'][i]:.3f}",
            )
            for i, s in enumerate(history["step"])
        ],
    )
    fine_tune = markdown_table(
        ["AlbertClassifier start", "vocabulary", "SST-2 held-out accuracy", "time"],
        [
            (name, f"{v:,}", f"{acc:.3f}", f"{s:.0f} s")
            for name, (acc, s, v) in results.items()
        ],
    )
    body = (
        "### Pretraining (AlbertPretrainer) then SST-2 fine-tuning\n\n"
        f"`python benchmarks/bench_pretrain.py --steps {args.steps}`: backbone "
        f"`{args.backbone}`, vocabulary {pre.tokenizer_.vocab_size:,} pieces "
        f"trained on {sizes} ({len(corpus):,} documents: SQuAD paragraphs, "
        f"the other texts {args.group} per document), max_length {MAX_LENGTH}, "
        f"batch {BATCH_SIZE}, peak learning rate {args.lr:g}, "
        f"{pre.n_steps_:,} steps of n-gram MLM + SOP in "
        f"{pretrain_s:.0f} s. Masked-token accuracy on 200 SQuAD paragraphs "
        f"after pretraining: {mlm_score:.3f}.\n\n"
        f"{curve}\n\n"
        f"Fine-tuning on {len(train):,} SST-2 sentences, {args.epochs} epochs, "
        f"learning rate {args.fine_tune_lr:g}, same architecture; accuracy on "
        f"{len(test):,} "
        "held-out SST-2 sentences absent from the pretraining corpus:\n\n"
        f"{fine_tune}\n"
    )
    if args.no_readme:
        print(body)
    else:
        write_section("pretrain", body)


if __name__ == "__main__":
    main()
