"""From-scratch AlbertClassifier against TF-IDF + LogisticRegression on SST-2.

One random split of the SST-2 training phrases (GLUE's test labels are not
public; phrases of one sentence can land on both sides, for both models
alike). Both models see the same training texts; the table gives held-out
accuracy and fit time. The ALBERT model starts from random weights and a
vocabulary trained on the training texts, so this is the floor of what the
estimator does without a pretrained preset.

Run ``python benchmarks/bench_sst2_baseline.py --quick`` (or ``--full``).
"""

import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from albert_sk import AlbertClassifier  # noqa: E402
from albert_sk.io import read_sst2  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402

MODES = {
    "quick": dict(n_train=4000, n_test=2000, epochs=2),
    "full": dict(n_train=60000, n_test=7349, epochs=2),
}


def main(argv=None):
    parser = arguments(__doc__, modes=True)
    args = parser.parse_args(argv)
    name = args.mode or "quick"
    mode = MODES[name]
    frame = read_sst2(DATA / "sst2" / "train.tsv")
    rows = np.random.default_rng(0).permutation(len(frame))
    train = frame.iloc[rows[: mode["n_train"]]]
    test = frame.iloc[rows[-mode["n_test"] :]]
    models = {
        "TF-IDF (1-2 grams) + LogisticRegression": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            LogisticRegression(C=4.0, max_iter=1000),
        ),
        f"AlbertClassifier small, from scratch, {mode['epochs']} epochs": (
            AlbertClassifier(
                backbone="small",
                max_length=64,
                epochs=mode["epochs"],
                batch_size=32,
                random_state=0,
            )
        ),
    }
    table = []
    for label, model in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few phrases exceed 64 tokens
            model.fit(train.text, train.label)
            fit_s = time.perf_counter() - start
            accuracy = model.score(test.text, test.label)
        table.append([label, f"{accuracy:.3f}", f"{fit_s:.1f}"])
        print(table[-1], flush=True)
    majority = max(test.label.mean(), 1 - test.label.mean())
    table.append(["majority class", f"{majority:.3f}", "-"])
    body = (
        f"### SST-2: AlbertClassifier vs TF-IDF + LogisticRegression ({name})\n\n"
        f"{mode['n_train']:,} training phrases, {mode['n_test']:,} held-out "
        "phrases (one random split of SST-2 train).\n\n"
        + markdown_table(["model", "held-out accuracy", "fit time (s)"], table)
        + "\n"
    )
    publish("sst2-baseline", body, args.no_write)


if __name__ == "__main__":
    main()
