"""Chinese tasks from scratch against baselines fitted in the same run.

* Resume NER and Weibo NER (character tags; Resume in BMES), CLUENER2020
  (raw texts with character spans): strict entity micro F1 of an
  ``AlbertTagger`` next to memorised character tags
  (:func:`albert_sk.align.memorised_tags`).
* TNEWS news titles (15 classes): accuracy of an ``AlbertClassifier`` next
  to character 1-3-gram TF-IDF + LogisticRegression.
* CMRC 2018 extractive QA: F1 (characters, :func:`albert_sk.metrics.answer_f1`)
  of an ``AlbertQA`` trained on some articles and scored on others, next to
  the sliding-window lexical baseline of ``bench_qa.py`` at character level.
* The vocabulary: SentencePiece settings for Chinese (character coverage
  0.9995 against 1.0, lower-casing and accent stripping on or off, the
  vocabulary size) measured by TNEWS accuracy.

Every model is trained from scratch (no pretraining) on subsets sized so a
run takes about ten minutes on two cores. ``--seeds 3`` repeats each model
fit with three seeds and reports min / mean / max.

Run ``python benchmarks/bench_chinese.py`` (``--quick`` for a smoke run,
``--no-write`` to leave benchmarks/README.md alone).
"""

import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_qa import sliding_window_answer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from albert_sk import AlbertClassifier, AlbertQA, AlbertTagger, backbones  # noqa: E402
from albert_sk.align import memorised_tags, spans_to_tags, to_iob2  # noqa: E402
from albert_sk.io import read_bmes, read_cluener, read_squad, read_weibo_ner  # noqa: E402
from albert_sk.metrics import entity_f1_score, squad_evaluate  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402

ZH = DATA / "zh"
MODES = {
    "quick": dict(
        resume=600, weibo=300, cluener=600, tnews=1500, vocab=1000, cmrc=300, epochs=2
    ),
    "full": dict(
        resume=3821,
        weibo=1350,
        cluener=3000,
        tnews=8000,
        vocab=3000,
        cmrc=2000,
        epochs=None,
    ),
}
# (label, vocab_size, train_sentencepiece options) compared on TNEWS; the
# first is what albert_sk does (AlbertClassifier lower-cases its vocabulary).
VOCABULARIES = [
    ("0.9995, lower-cased, no accents (default)", 8000, {}),
    ("1.0, lower-cased, no accents", 8000, {"character_coverage": 1.0}),
    ("0.9995, cased, accents kept", 8000, {"lowercase": False, "strip_accents": False}),
    ("0.9995, lower-cased, 3,000 pieces", 3000, {}),
]
TAGGER = dict(backbone="tiny", max_length=128, batch_size=16, learning_rate=3e-3)


def _char_tokens(text):
    """Characters as the lexical baseline's words (no spaces, no punctuation)."""
    return [(c, i, i + 1) for i, c in enumerate(text) if not c.isspace()]


def fit_with_vocabulary(estimator, options, *args):
    """``estimator.fit`` with ``options`` forced on its SentencePiece training
    (a measurement only: the estimators expose none of these)."""
    original = backbones.train_sentencepiece

    def train(*a, **kw):
        return original(*a, **{**kw, **options})

    backbones.train_sentencepiece = train
    try:
        return estimator.fit(*args)
    finally:
        backbones.train_sentencepiece = original


def spread(values, fmt="{:.3f}"):
    if len(values) == 1:
        return fmt.format(values[0])
    return (
        f"{fmt.format(np.mean(values))} ({fmt.format(min(values))}–"
        f"{fmt.format(max(values))})"
    )


class _Rows(list):
    """Table rows, each printed as it comes (a long run shows its progress)."""

    def append(self, row):
        print(" | ".join(map(str, row)), flush=True)
        super().append(row)


def tnews_classifier(vocab_size, epochs, seed):
    return AlbertClassifier(
        backbone="tiny",
        vocab_size=vocab_size,
        max_length=64,
        epochs=epochs,
        batch_size=32,
        learning_rate=2e-3,
        random_state=seed,
    )


def ner_row(task, n_train, n_test, scores, memo, seconds):
    return [
        task,
        "entity F1",
        f"{n_train:,} / {n_test:,}",
        spread(scores),
        f"{memo:.3f}",
        "memorised character tags",
        f"{seconds:.0f} s",
    ]


def _locate(answers, context):
    """The answers with an ``answer_start`` that matches the context: a wrong
    one (CMRC 2018 has some) moves to the nearest occurrence of the text."""
    out, moved = [], 0
    for a in answers:
        start, text = a["answer_start"], a["text"]
        if context[start : start + len(text)] != text:
            found = [i for i in range(len(context)) if context.startswith(text, i)]
            if not found:
                continue
            start = min(found, key=lambda i: abs(i - start))
            moved += 1
        out.append({"text": text, "answer_start": start})
    return out, moved


def _words_and_tags(texts, spans):
    pairs = [spans_to_tags(t, s)[:2] for t, s in zip(texts, spans, strict=True)]
    return [w for w, _ in pairs], [t for _, t in pairs]


def tagging(train, test, scheme, seeds, epochs):
    """F1 of a from-scratch tagger (per seed) and of memorised tags."""
    (X, y), (X_test, y_test) = train, test
    scores, seconds = [], []
    for seed in seeds:
        tagger = AlbertTagger(
            **TAGGER, vocab_size=6000, epochs=epochs, scheme=scheme, random_state=seed
        )
        start = time.perf_counter()
        tagger.fit(X, y)
        seconds.append(time.perf_counter() - start)
        scores.append(tagger.score(X_test, y_test))
    if isinstance(X[0], str):  # raw texts: the tagger's words and IOB2 tags
        X, y = _words_and_tags(X, y)
        X_test, y_test = _words_and_tags(X_test, y_test)
        scheme = "IOB2"
    iob2 = [to_iob2(t, scheme) for t in y]
    memo = memorised_tags(X, iob2, X_test)
    gold = [to_iob2(t, scheme) for t in y_test]
    return scores, entity_f1_score(gold, memo), np.mean(seconds)


def main():
    parser = arguments(__doc__, modes=True)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    mode = MODES[args.mode or "full"]
    seeds = list(range(args.seeds))
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows, vocab_rows = _Rows(), _Rows()
    start_all = time.perf_counter()

    # === Resume NER (BMES) ===
    X, y = read_bmes(ZH / "resume_ner" / "train.char.bmes")
    X_dev, y_dev = read_bmes(ZH / "resume_ner" / "dev.char.bmes")
    n = mode["resume"]
    scores, memo, secs = tagging(
        (X[:n], y[:n]), (X_dev, y_dev), "BMES", seeds, mode["epochs"] or 20
    )
    rows.append(ner_row("Resume NER", n, len(X_dev), scores, memo, secs))

    # === Weibo NER ===
    X, y = read_weibo_ner(ZH / "weibo_ner" / "weiboNER_2nd_conll.train")
    X_dev, y_dev = read_weibo_ner(ZH / "weibo_ner" / "weiboNER_2nd_conll.dev")
    n = mode["weibo"]
    scores, memo, secs = tagging(
        (X[:n], y[:n]), (X_dev, y_dev), "IOB2", seeds, mode["epochs"] or 12
    )
    rows.append(ner_row("Weibo NER", n, len(X_dev), scores, memo, secs))

    # === CLUENER2020 (raw texts, spans) ===
    texts, spans = read_cluener(ZH / "cluener2020" / "train.json")
    # One training line nests entities (a company inside a book title), which
    # IOB2 cannot tag: keep the outer one.
    nested = 0
    for i, row in enumerate(spans):
        kept = []
        for s, e, label in row:
            if kept and s < kept[-1][1]:
                nested += 1
                continue
            kept.append((s, e, label))
        spans[i] = kept
    n, n_test = mode["cluener"], 1000
    train = (texts[:n], spans[:n])
    test = (texts[-n_test:], spans[-n_test:])
    scores, memo, secs = tagging(train, test, "IOB2", seeds, mode["epochs"] or 10)
    rows.append(ner_row("CLUENER2020", n, n_test, scores, memo, secs))

    # === TNEWS ===
    lines = (ZH / "tnews" / "train.tsv").read_text(encoding="utf-8").splitlines()
    pairs = [line.rsplit("\t", 1) for line in lines if "\t" in line]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(pairs))
    n, n_test = mode["tnews"], 2000
    train = [pairs[i] for i in order[:n]]
    test = [pairs[i] for i in order[-n_test:]]
    X, y = [t for t, _ in train], [c for _, c in train]
    X_test, y_test = [t for t, _ in test], [c for _, c in test]
    tfidf = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(C=10, max_iter=2000),
    ).fit(X, y)
    baseline = tfidf.score(X_test, y_test)
    scores, seconds = [], []
    for seed in seeds:
        clf = tnews_classifier(8000, mode["epochs"] or 6, seed)
        start = time.perf_counter()
        clf.fit(X, y)
        seconds.append(time.perf_counter() - start)
        scores.append(clf.score(X_test, y_test))
    rows.append(["TNEWS", "accuracy", f"{n:,} / {n_test:,}", spread(scores),
                 f"{baseline:.3f}", "character 1-3-gram TF-IDF + LR",
                 f"{np.mean(seconds):.0f} s"])  # fmt: skip

    # The vocabulary settings, on fewer titles (one fit each).
    m = mode["vocab"]
    for label, size, options in VOCABULARIES:
        clf = tnews_classifier(size, mode["epochs"] or 6, 0)
        start = time.perf_counter()
        fit_with_vocabulary(clf, options, X[:m], y[:m])
        seconds = time.perf_counter() - start
        tok = clf.tokenizer_
        ids = np.concatenate([np.asarray(r, int) for r in tok.encode(X_test)])
        accuracy = clf.score(X_test, y_test)
        vocab_rows.append(
            [label, f"{tok.vocab_size:,}", f"{np.mean(ids == tok.unk_id):.2%}",
             f"{accuracy:.3f}", f"{seconds:.0f} s"]
        )  # fmt: skip

    # === CMRC 2018 ===
    squad = read_squad(ZH / "cmrc2018" / "cmrc2018_dev-part-a.json")
    trial = read_squad(ZH / "cmrc2018" / "cmrc2018_trial.json")
    titles = list(dict.fromkeys(squad.title))
    test_titles = set(titles[: len(titles) // 4])
    test = squad[squad.title.isin(test_titles)].reset_index(drop=True)[:600]
    pool = squad[~squad.title.isin(test_titles)]
    train = pd.concat([trial, pool], ignore_index=True)
    blank = int((train.question.str.strip() == "").sum())  # a question without text
    train = train[train.question.str.strip() != ""].reset_index(drop=True)
    train = train[: mode["cmrc"]]
    located = [_locate(a, c) for a, c in zip(train.answers, train.context, strict=True)]
    train["answers"] = [a for a, _ in located]
    relocated = sum(m for _, m in located)
    lexical = [
        sliding_window_answer(q, c, max_answer_tokens=8, tokenize=_char_tokens)
        for q, c in zip(test.question, test.context, strict=True)
    ]
    base = squad_evaluate(test.answers, lexical)
    scores, seconds = [], []
    for seed in seeds:
        qa = AlbertQA(
            backbone="tiny",
            vocab_size=8000,
            max_length=256,
            epochs=mode["epochs"] or 4,
            batch_size=16,
            learning_rate=2e-3,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            qa.fit(train[["question", "context"]], train.answers)
            seconds.append(time.perf_counter() - start)
            pred = qa.predict(test[["question", "context"]])
        scores.append(squad_evaluate(test.answers, pred)["f1"] / 100)
    rows.append(["CMRC 2018", "F1 (characters)", f"{len(train):,} / {len(test)}",
                 spread(scores), f"{base['f1'] / 100:.3f}",
                 "sliding-window lexical (characters)",
                 f"{np.mean(seconds):.0f} s"])  # fmt: skip

    table = markdown_table(
        ["task", "metric", "train / test", "albert_sk (tiny, from scratch)",
         "baseline", "baseline method", "fit time"],
        rows,
    )  # fmt: skip
    vocab_table = markdown_table(
        ["character coverage, normalisation, size", "pieces", "<unk> in test",
         "TNEWS accuracy", "fit time"],
        vocab_rows,
    )  # fmt: skip
    seeds_text = (
        f"min–max over {len(seeds)} seeds in brackets" if len(seeds) > 1 else "one seed"
    )
    body = f"""## Chinese (`bench_chinese.py`)

Models trained from scratch (`tiny` backbone, SentencePiece vocabulary
trained on the training texts, no pretraining) on the shared Chinese data
(`../shared/data/zh/`), against baselines fitted on the same training rows
({seeds_text}; {time.perf_counter() - start_all:.0f} s in all, load average
{os.getloadavg()[0]:.1f} at the end from other jobs on the machine: times are
noisy). Resume NER
and Weibo NER are scored on their dev files, CLUENER2020 on the last 1,000
lines of `train.json` (not trained on; {nested} nested entity of the
training rows dropped), TNEWS on 2,000 held-out titles, CMRC 2018 on
{len(test)} questions of {len(test_titles)} articles of
`cmrc2018_dev-part-a.json` that are not trained on (training: the trial set,
then other articles; {relocated} training answers whose `answer_start` does
not match the text were moved to the nearest occurrence of the text, and
{blank} training questions with an empty text were left out). CMRC
F1 counts characters (each ideograph a token, as CMRC's official script does;
`albert_sk.metrics.answer_f1`).

{table}

### Chinese vocabularies

SentencePiece settings for a from-scratch Chinese vocabulary, each an
`AlbertClassifier` fitted on the first {m:,} TNEWS training titles and scored
on the same 2,000 held-out titles (one seed; `<unk>` is the share of test
tokens that are unknown):

{vocab_table}

SentencePiece also applies NFKC (`nmt_nfkc`, as ALBERT's own vocabularies
do), which folds full-width letters and digits to ASCII and leaves the
ideographs alone; offsets still point into the original text.
"""
    publish("chinese", body, args.no_write)


if __name__ == "__main__":
    main()
