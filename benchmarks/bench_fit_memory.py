"""Peak resident memory of fitting AlbertClassifier ("small") on SST-2, by data size.

Each fit runs in a fresh subprocess, which reports its own peak RSS
(``resource.getrusage(...).ru_maxrss``) after ``fit`` returns: the texts, the
SentencePiece training, the token arrays, the batches, the model, its
optimizer state and the traced steps all count. The row with 0 texts is the
interpreter with albert_sk, Keras and TensorFlow imported and the data file
read: what any fit pays before it starts.

``--quick`` stops each fit after ``--steps`` batches (the data-dependent
memory, tokenising and batching all texts, is already spent by then; what
the remaining steps of the epoch add is what ``--full`` measures); ``--full``
runs one whole epoch on every size (about 2,100 steps for the 67k texts).

Run ``python benchmarks/bench_fit_memory.py --quick`` (or ``--full``).
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SIZES = [0, 8_000, 16_000, 33_000, 67_349]
TARGET_MB = 2048


def child(n, steps):
    """Fit on the first ``n`` SST-2 texts and print peak RSS as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import resource
    import warnings

    import keras

    from albert_sk import AlbertClassifier
    from albert_sk.io import read_sst2
    from benchmarks._common import DATA

    frame = read_sst2(DATA / "sst2" / "train.tsv", n=n or 1)
    seconds, done = 0.0, 0
    if n:

        class StopAfter(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.batches = 0

            def on_train_batch_end(self, batch, logs=None):
                self.batches += 1
                if steps and self.batches >= steps:
                    self.model.stop_training = True

        stop = StopAfter()
        clf = AlbertClassifier(
            backbone="small",
            max_length=64,
            batch_size=32,
            epochs=1,
            random_state=0,
            callbacks=[stop],
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few phrases exceed 64 tokens
            clf.fit(frame.text, frame.label)
        seconds, done = time.perf_counter() - start, stop.batches
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"n": n, "peak_mb": peak_kb / 1024, "s": seconds, "steps": done}))


def measure(n, steps):
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--steps", str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    from benchmarks._common import arguments, markdown_table, publish

    parser = arguments(__doc__, modes=True)
    parser.add_argument("--steps", type=int, default=20, help="batches per quick fit")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child, args.steps)

    full = args.mode == "full"
    steps = 0 if full else args.steps
    rows = []
    for n in SIZES:
        r = measure(n, steps)
        print(r, flush=True)
        rows.append(r)
    base = rows[0]["peak_mb"]
    table = markdown_table(
        ["SST-2 texts", "batches run", "fit time (s)", "peak RSS (MB)", "above 0 (MB)"],
        [
            [
                f"{r['n']:,}",
                r["steps"] if r["n"] else "-",
                f"{r['s']:.0f}" if r["n"] else "-",
                f"{r['peak_mb']:.0f}",
                f"{r['peak_mb'] - base:.0f}" if r["n"] else "-",
            ]
            for r in rows
        ],
    )
    big = rows[-1]
    slope = (big["peak_mb"] - rows[1]["peak_mb"]) / (big["n"] - rows[1]["n"]) * 1000
    verdict = "meets" if big["peak_mb"] <= TARGET_MB else "misses"
    how = (
        "One whole epoch per fit."
        if full
        else f"Each fit stops after {steps} batches: all texts are tokenised "
        "and batched by then; `--full` runs the whole epoch."
    )
    body = (
        f"### Peak memory of a fit ({'full epoch' if full else f'{steps} batches'})"
        "\n\nAlbertClassifier(backbone='small', max_length=64, batch_size=32), "
        "SST-2 train, one subprocess per row (peak RSS by `ru_maxrss`). "
        f"{how}"
        f"\n\n{table}\n\nGrowth: {slope:.1f} MB per 1,000 texts between "
        f"{rows[1]['n']:,} and {big['n']:,}; the 67k fit peaks at "
        f"{big['peak_mb']:.0f} MB, which {verdict} the {TARGET_MB} MB target.\n"
    )
    publish("fit-memory", body, args.no_write)


if __name__ == "__main__":
    main()
