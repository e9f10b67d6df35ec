"""AlbertQA on SQuAD 1.1: a small model trained from scratch vs the lexical baseline.

Trains on some articles of ``../shared/data/squad/dev-v1.1-part-a.json`` and
evaluates on others (no article is in both), next to the sliding-window
baseline of the SQuAD paper (Rajpurkar et al. 2016, section 5.1, after
Richardson et al. 2013) on the same questions. Then measures predict
throughput (questions/s, context tokens/s) and how predict time grows with
the context length (windows). Rewrites the ``qa`` section of
benchmarks/README.md.

Run: ``python benchmarks/bench_qa.py`` (``--help`` for the sizes).
"""

import math
import os
import re
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA, arguments, markdown_table, publish  # noqa: E402

from albert_sk import AlbertQA  # noqa: E402
from albert_sk.exceptions import TruncationWarning  # noqa: E402
from albert_sk.io import read_squad  # noqa: E402
from albert_sk.metrics import squad_evaluate  # noqa: E402

# === The SQuAD paper's sliding-window baseline ===

_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but is are was were be been "
    "being has have had do does did what which who whom whose when where why how "
    "that this these those it its as than then there their they he she his her "
    "him them we you i not no into about after before during over under s".split()
)


def _tokens(text):
    return [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _content(word):
    return word not in _STOPWORDS and any(ch.isalnum() for ch in word)


def _grams(words):
    unigrams = {w for w in words if _content(w)}
    return unigrams | set(zip(words, words[1:], strict=False))


def sliding_window_answer(question, context, max_answer_tokens=4, tokenize=None):
    """The SQuAD paper's lexical baseline answer to ``question`` in ``context``.

    Candidates are spans of up to ``max_answer_tokens`` words inside one
    sentence that start and end on a content word and share no word with
    the question (the paper uses parse constituents; we have no parser).
    Keep the candidates whose sentence, without the candidate, shares the
    most question unigrams and bigrams; among those pick the best
    sliding-window score (Richardson et al. 2013): the largest sum of word
    weights log(1 + 1/count) over a window of |question words + candidate
    words| passage words that belong to that set.

    ``tokenize`` returns ``(word, start, end)`` triples (default: words and
    punctuation; ``bench_chinese.py`` passes characters).
    """
    tokenize = tokenize or _tokens
    tokens = tokenize(context)
    if not tokens:
        return ""
    words = [w for w, _, _ in tokens]
    q_words = [w for w, _, _ in tokenize(question)]
    q_grams, q_set = _grams(q_words), {w for w in q_words if _content(w)}
    counts = Counter(words)
    weight = np.asarray([math.log(1.0 + 1.0 / counts[w]) for w in words])
    ends = {".", "!", "?", "。", "！", "？"}
    bounds = [0] + [i + 1 for i, w in enumerate(words) if w in ends]
    bounds = sorted(set(bounds + [len(words)]))
    best_overlap, kept = -1, []
    for s0, s1 in zip(bounds, bounds[1:], strict=False):
        for a in range(s0, s1):
            if not _content(words[a]) or words[a] in q_set:
                continue
            for b in range(a, min(a + max_answer_tokens, s1)):
                if words[b] in q_set:
                    break
                if not _content(words[b]):
                    continue
                rest = _grams(words[s0:a]) | _grams(words[b + 1 : s1])
                overlap = len(q_grams & rest)
                if overlap > best_overlap:
                    best_overlap, kept = overlap, []
                if overlap == best_overlap:
                    kept.append((a, b))
    if not kept:
        return ""
    best = None
    for a, b in kept:
        target = q_set | set(words[a : b + 1])
        hits = np.asarray([w in target for w in words], dtype=float) * weight
        size = min(len(target), len(words))
        window = np.convolve(hits, np.ones(size), mode="valid").max()
        key = (window, -(b - a), -a)
        if best is None or key > best[0]:
            best = (key, a, b)
    _, a, b = best
    return context[tokens[a][1] : tokens[b][2]]


# === Benchmark ===


def _articles(frame, titles):
    return frame[frame.title.isin(titles)].reset_index(drop=True)


def main():
    parser = arguments(__doc__)
    parser.add_argument("--train-articles", type=int, default=10)
    parser.add_argument("--test-articles", type=int, default=4)
    parser.add_argument("--backbone", default="tiny")
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--doc-stride", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    args = parser.parse_args()

    squad = read_squad(DATA / "squad" / "dev-v1.1-part-a.json")
    titles = list(squad.title.unique())
    # The first articles hold many questions: train on the later ones.
    train_titles = titles[-args.train_articles :]
    test_titles = titles[1 : 1 + args.test_articles]
    assert not set(train_titles) & set(test_titles)
    train, test = _articles(squad, train_titles), _articles(squad, test_titles)
    print(f"train: {len(train)} questions, {len(train_titles)} articles")
    print(f"test: {len(test)} questions, {len(test_titles)} articles")

    qa = AlbertQA(
        backbone=args.backbone,
        vocab_size=args.vocab_size,
        max_length=args.max_length,
        doc_stride=args.doc_stride,
        max_query_length=48,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        random_state=0,
        verbose=1,
    )
    warnings.simplefilter("ignore", TruncationWarning)
    start = time.perf_counter()
    qa.fit(train, train.answers)
    fit_s = time.perf_counter() - start
    qa.set_params(verbose=0)
    n_windows = len(qa._encode_windows(qa._check_X(train, reset=False))[0])

    qa.predict(test.head(8))  # warm up the compiled predict steps
    start = time.perf_counter()
    predictions = qa.predict(test)
    predict_s = time.perf_counter() - start
    distinct = list(dict.fromkeys(test.context))
    tokens_per_context = dict(
        zip(distinct, map(len, qa.tokenizer_.encode(distinct)), strict=True)
    )
    n_context_tokens = sum(tokens_per_context[c] for c in test.context)

    start = time.perf_counter()
    baseline = [
        sliding_window_answer(q, c)
        for q, c in zip(test.question, test.context, strict=True)
    ]
    baseline_s = time.perf_counter() - start
    model_scores = squad_evaluate(test.answers, predictions)
    base_scores = squad_evaluate(test.answers, baseline)
    first_words = [" ".join(c.split()[:3]) for c in test.context]
    trivial = squad_evaluate(test.answers, first_words)

    rows = [
        [
            f"AlbertQA, {args.backbone} from scratch",
            f"{model_scores['exact']:.1f}",
            f"{model_scores['f1']:.1f}",
            f"{len(test) / predict_s:.1f}",
        ],
        [
            "sliding-window baseline (SQuAD paper)",
            f"{base_scores['exact']:.1f}",
            f"{base_scores['f1']:.1f}",
            f"{len(test) / baseline_s:.1f}",
        ],
        [
            "first three words of the context",
            f"{trivial['exact']:.1f}",
            f"{trivial['f1']:.1f}",
            "",
        ],
    ]
    quality = markdown_table(["method", "EM", "F1", "questions/s"], rows)

    # Predict cost vs context length: the same questions with contexts made of
    # 1, 2, 4 and 8 paragraphs of their article.
    article = squad[squad.title == test_titles[0]]
    paragraphs = list(dict.fromkeys(article.context))
    questions = list(article.drop_duplicates("context").question[:16])
    scaling = []
    for k in (1, 2, 4, 8):
        X = [
            {"question": q, "context": " ".join(paragraphs[j : j + k])}
            for j, q in enumerate(questions)
        ]
        n_tok = sum(len(t) for t in qa.tokenizer_.encode([x["context"] for x in X]))
        n_win = len(qa._encode_windows(qa._check_X(X, reset=False))[0])
        qa.predict(X[:2])
        start = time.perf_counter()
        qa.predict(X)
        seconds = time.perf_counter() - start
        scaling.append(
            [
                k,
                f"{n_tok / len(X):.0f}",
                f"{n_win / len(X):.1f}",
                f"{1000 * seconds / len(X):.1f}",
                f"{1e6 * seconds / n_tok:.0f}",
            ]
        )
    scaling_table = markdown_table(
        [
            "paragraphs per context",
            "context tokens",
            "windows",
            "ms per question",
            "µs per context token",
        ],
        scaling,
    )

    body = f"""## Question answering (`bench_qa.py`)

SQuAD 1.1 dev articles (`dev-v1.1-part-a.json`): an `AlbertQA` with a
`{args.backbone}` backbone trained from scratch (vocabulary of
{args.vocab_size} pieces trained on the same texts, max_length
{args.max_length}, doc_stride {args.doc_stride}, {args.epochs} epochs, no
pretraining) on {len(train)} questions of {len(train_titles)} articles
({n_windows} windows, {fit_s:.0f} s), evaluated on {len(test)} questions of
{len(test_titles)} other articles. The sliding-window baseline is the SQuAD
paper's (Rajpurkar et al. 2016: about 13 EM / 20 F1 on the full dev set), with
word n-grams of up to 4 words as candidates instead of parse constituents.

{quality}

Predict throughput: {len(test) / predict_s:.1f} questions/s,
{n_context_tokens / predict_s:.0f} context tokens/s (batch size
{args.batch_size}, CPU; load average {os.getloadavg()[0]:.1f} at the end of
the run, from other jobs on the machine: absolute times are noisy).

Predict cost against context length (16 questions, contexts of k
consecutive paragraphs): windows, and so time, grow linearly with the
context; the time per context token stays flat.

{scaling_table}

Without pretraining a small model learns little from a few thousand
questions; a pretrained ALBERT-base fine-tuned on the SQuAD 1.1 training set
reaches about 82 EM / 89 F1 (Lan et al. 2020). Run with `--backbone small`,
more articles and epochs, or a preset, on a GPU.
"""
    publish("qa", body, args.no_write)


if __name__ == "__main__":
    main()
