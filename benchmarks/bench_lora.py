"""LoRA (``lora_rank``) against full fine-tuning, from our own pretrained presets.

1. ``AlbertPretrainer`` pretrains the ``small`` config briefly (``--steps``
   of n-gram MLM + SOP on the text of ../shared/data, SST-2 evaluation
   sentences left out) and writes a keras-hub preset (``save_preset``);
   ``export_hf`` writes the same model as a Hugging Face checkpoint.
2. ``AlbertClassifier`` fine-tunes each checkpoint on an SST-2 training split,
   fully (``lora_rank=None``) and with adapters (``--ranks``), for each seed.
   Every fit runs in a fresh subprocess, which reports: trainable parameters,
   the median step time (training batches after the first 5, which trace),
   peak RSS (``ru_maxrss``: imports, data, model, optimizer state, traced
   steps), the size of ``est.save``'s file, and accuracy on held-out SST-2
   sentences the pretraining never saw.

Learning rates: full fine-tuning at ``--lr``, LoRA at ten times it (the
ratio ``learning_rate="auto"`` uses with a preset). ``pooling="mean"``: on
a briefly pretrained model the [CLS] pooler is barely trained, and the
[CLS] fits of a first run (``pooling="cls"``, 2 epochs at 5e-4) all ended
at the majority class, full and LoRA alike. Run
``python benchmarks/bench_lora.py`` (about 10 minutes on 2 cores).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402

MAX_LENGTH = 64
BATCH_SIZE = 32


def split(n_train, n_test):
    from albert_sk.io import read_sst2

    sst2 = read_sst2(DATA / "sst2" / "train.tsv")
    rows = np.random.default_rng(0).permutation(len(sst2))
    return sst2.iloc[rows[:n_train]], sst2.iloc[rows[n_train : n_train + n_test]]


def peak_rss_mb():
    """This process's peak RSS (VmHWM: unlike ``ru_maxrss``, not inherited
    from the parent across fork and exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(spec):
    """One fine-tuning fit (``spec`` as JSON); prints its figures as JSON."""
    import warnings

    import keras

    from albert_sk import AlbertClassifier
    from albert_sk.efficiency import count_trainable

    warnings.simplefilter("ignore")
    train, test = split(spec["n_train"], spec["n_test"])

    class StepTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    steps = StepTimes()
    clf = AlbertClassifier(
        preset=spec["preset"],
        max_length=MAX_LENGTH,
        batch_size=BATCH_SIZE,
        epochs=spec["epochs"],
        learning_rate=spec["lr"],
        lora_rank=spec["rank"],
        pooling=spec["pooling"],
        callbacks=[steps],
        random_state=spec["seed"],
    )
    start = time.perf_counter()
    clf.fit(train.text, train.label)
    fit_s = time.perf_counter() - start
    peak_mb = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        size = os.path.getsize(clf.set_params(callbacks=None).save(f"{tmp}/m.zip"))
    result = {
        "trainable": count_trainable(clf.model_),
        "params": int(clf.model_.count_params()),
        "step_ms": 1000 * float(np.median(steps.times[5:])),
        "fit_s": fit_s,
        "peak_mb": peak_mb,
        "saved_mb": size / 2**20,
        "accuracy": float(clf.score(test.text, test.label)),
    }
    print("RESULT " + json.dumps(result), flush=True)


def run_child(spec):
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"child failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def pretrain(folder, steps):
    """Pretrain ``small`` briefly; the keras-hub preset and HF checkpoint dirs."""
    from albert_sk import AlbertPretrainer, export_hf
    from benchmarks.bench_pretrain import grouped, pretraining_corpus

    _, test = split(ARGS.n_train, ARGS.n_test)
    docs = pretraining_corpus(set(test.text))
    corpus = [
        d
        for name, part in docs.items()
        for d in (part if name == "SQuAD" else grouped(part, 4))
    ]
    start = time.perf_counter()
    pre = AlbertPretrainer(
        backbone="small",
        vocab_size=4000,
        max_length=MAX_LENGTH,
        batch_size=BATCH_SIZE,
        max_steps=steps,
        learning_rate=1e-3,
        random_state=0,
    ).fit(corpus)
    seconds = time.perf_counter() - start
    preset = pre.save_preset(os.path.join(folder, "preset"))
    hf = export_hf(preset, os.path.join(folder, "hf"))
    return {"keras-hub preset": preset, "Hugging Face checkpoint": hf}, seconds


def spread(values, digits):
    lo, mean, hi = min(values), float(np.mean(values)), max(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{lo:.{digits}f} / {mean:.{digits}f} / {hi:.{digits}f}"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sources, pretrain_s = pretrain(tmp, ARGS.steps)
        print(f"pretrained in {pretrain_s:.0f} s", flush=True)
        rows = []
        for source, preset in sources.items():
            for rank in [None, *ARGS.ranks]:
                runs = []
                for seed in range(ARGS.seeds):
                    spec = dict(
                        preset=preset,
                        rank=rank,
                        lr=ARGS.lr * (1 if rank is None else 10),
                        seed=seed,
                        epochs=ARGS.epochs,
                        pooling=ARGS.pooling,
                        n_train=ARGS.n_train,
                        n_test=ARGS.n_test,
                    )
                    runs.append(run_child(spec))
                    print(source, rank, seed, runs[-1], flush=True)
                rows.append((source, rank, spec["lr"], runs))
    full = {source: runs for source, rank, _, runs in rows if rank is None}
    table = []
    for source, rank, lr, runs in rows:
        first = runs[0]
        base = full[source][0]
        step = np.median([r["step_ms"] for r in runs])
        step_full = np.median([r["step_ms"] for r in full[source]])
        saved = first["saved_mb"]
        table.append(
            [
                source,
                "full" if rank is None else f"LoRA r={rank}",
                f"{lr:g}",
                f"{first['trainable']:,} ({first['trainable'] / first['params']:.1%})",
                spread([r["step_ms"] for r in runs], 0),
                "-" if rank is None else f"{step / step_full:.2f}x",
                spread([r["peak_mb"] for r in runs], 0),
                f"{saved:.1f} ({saved / base['saved_mb']:.2f}x)",
                spread([r["accuracy"] for r in runs], 3),
            ]
        )
    body = (
        "### LoRA (`lora_rank`) against full fine-tuning\n\n"
        f"`python benchmarks/bench_lora.py --steps {ARGS.steps} --seeds {ARGS.seeds}`: "
        f"backbone `small` pretrained by `AlbertPretrainer` for {ARGS.steps} steps "
        f"({pretrain_s:.0f} s; vocabulary 4,000, max_length {MAX_LENGTH}, batch "
        f"{BATCH_SIZE}), written with `save_preset` and, through `export_hf`, as a "
        f"Hugging Face checkpoint. `AlbertClassifier` fine-tuned on {ARGS.n_train:,} "
        f"SST-2 sentences for {ARGS.epochs} epochs (batch {BATCH_SIZE}, pooling "
        f"'{ARGS.pooling}'), accuracy on "
        f"{ARGS.n_test:,} held-out sentences; one subprocess per fit. Min / mean / max "
        f"over seeds 0-{ARGS.seeds - 1} where three numbers are given. Step time: "
        "median training step after the first 5; peak RSS (VmHWM) includes the ~800 "
        "MB of imports; saved size: the `est.save` file.\n\n"
        + markdown_table(
            [
                "checkpoint",
                "fine-tuning",
                "learning rate",
                "trainable parameters",
                "step (ms)",
                "step vs full",
                "peak RSS (MB)",
                "saved MB (vs full)",
                "accuracy",
            ],
            table,
        )
    )
    publish("lora", body, ARGS.no_write)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
        sys.exit(0)
    parser = arguments(__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ranks", type=int, nargs="+", default=[8])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pooling", default="mean")
    parser.add_argument("--n-train", type=int, default=1500)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=1e-3)
    ARGS = parser.parse_args()
    main()
