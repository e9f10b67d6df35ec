"""What the CRF costs in fit time: ``AlbertTagger`` fits with each ``transitions``.

The same tagger, data and seed, fitted with ``transitions="counted"`` (the
model learns each word's tag alone) and ``transitions="crf"`` (the default:
the likelihood of whole tag sequences, :mod:`albert_sk.crf`), in turns,
``--repeats`` times each; the table gives min / median / max seconds per
fit and the ratio of the medians. Two settings:

* WNUT-17: 600 training sentences that hold an entity, ``max_length=48``,
  8 epochs (the setting of ``tests/test_tagger.py::test_wnut17_beats_baselines``);
* Resume NER: 600 training sentences (one character a word, BMES),
  ``max_length=128``, 3 epochs: long chains.

Run ``python benchmarks/bench_crf_speed.py`` (``--no-write`` to leave
benchmarks/README.md alone). About 5 minutes on 2 CPU cores.
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from albert_sk import AlbertTagger  # noqa: E402
from albert_sk.io import read_bmes, read_conll  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402


def wnut17():
    X, y = read_conll(DATA / "wnut17" / "wnut17train.conll")
    keep = [i for i, tags in enumerate(y) if set(tags) != {"O"}][:600]
    params = dict(vocab_size=600, max_length=48, epochs=8, learning_rate=2e-3)
    return [X[i] for i in keep], [y[i] for i in keep], params


def resume():
    X, y = read_bmes(DATA / "zh" / "resume_ner" / "train.char.bmes")
    params = dict(vocab_size="auto", max_length=128, epochs=3, scheme="BMES")
    return X[:600], y[:600], params


SETTINGS = {"WNUT-17": wnut17, "Resume NER": resume}


def fit_seconds(X, y, params, transitions):
    tagger = AlbertTagger(
        backbone="tiny", batch_size=8, random_state=0, transitions=transitions, **params
    )
    start = time.perf_counter()
    tagger.fit(X, y)
    return time.perf_counter() - start


def main():
    parser = arguments(__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for name, load in SETTINGS.items():
        X, y, params = load()
        fit_seconds(X[:50], y[:50], dict(params, epochs=1), "crf")  # warm-up
        times = {"counted": [], "crf": []}
        for _ in range(args.repeats):
            for transitions in times:
                times[transitions].append(fit_seconds(X, y, params, transitions))
        words = sum(map(len, X))
        medians = {t: statistics.median(s) for t, s in times.items()}
        for transitions, seconds in times.items():
            rows.append(
                [
                    name,
                    f"{len(X)} sentences, {words:,} words, max_length "
                    f"{params['max_length']}, {params['epochs']} epochs",
                    f'`"{transitions}"`',
                    " / ".join(f"{s:.1f}" for s in sorted(seconds)),
                    f"{medians[transitions] / medians['counted']:.2f}x",
                ]
            )
    body = (
        "## The CRF's fit time (`bench_crf_speed.py`)\n\n"
        "`AlbertTagger(backbone='tiny', batch_size=8, random_state=0)` fitted "
        f"{args.repeats} times with each `transitions`, in turns; seconds per "
        "fit (min / median / max) and the median against counted transitions.\n\n"
        + markdown_table(
            ["data", "setting", "transitions", "fit seconds", "vs counted"], rows
        )
    )
    publish("crf_speed", body, args.no_write)


if __name__ == "__main__":
    main()
