"""``albert-sk pretrain``: its options and what it runs
(:class:`~albert_sk.AlbertPretrainer` on a text corpus, a keras-hub preset
out)."""

import argparse
import os

from albert_sk.cli.data import CommandError
from albert_sk.cli.options import (
    add_progress_arguments,
    parse_settings,
    progress_to_stderr,
    show_progress,
)


def add_arguments(parser):
    """The options of ``albert-sk pretrain``."""
    parser.add_argument(
        "--corpus", required=True, help="UTF-8 text file of unlabelled documents"
    )
    parser.add_argument(
        "--out", required=True, help="folder to write the keras-hub preset to"
    )
    parser.add_argument(
        "--doc-sep",
        choices=["blank_line", "line"],
        default="blank_line",
        help="documents are blank-line separated blocks (default) or lines",
    )
    parser.add_argument("--preset", help="continue pretraining this preset")
    parser.add_argument("--backbone", default="small", help="tiny, small or base")
    parser.add_argument(
        "--vocab-size",
        type=_vocab_size,
        default="auto",
        help="SentencePiece pieces, or auto: as many as the corpus supports, up "
        "to 8000 (default: %(default)s)",
    )
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, help="train exactly this many steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--checkpoint-dir", help="resume a killed run from here")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--hf", metavar="DIR", help="also export a Hugging Face copy")
    parser.add_argument("--seed", type=int, help="random_state")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="any other AlbertPretrainer parameter, e.g. --set optimizer=lamb",
    )
    add_progress_arguments(parser)


def _vocab_size(text):
    """``--vocab-size``: ``auto`` or a number of pieces."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected auto or a number of pieces, got {text!r}"
        ) from None


def run(args):
    """``albert-sk pretrain``: pretrain on a corpus, write a keras-hub preset."""
    import time

    from albert_sk.pretraining import AlbertPretrainer

    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)):
        raise CommandError(
            f"cannot write the preset to {out!r}: folder "
            f"{os.path.dirname(out)!r} does not exist. Create it first."
        )
    params = dict(
        preset=args.preset,
        backbone=args.backbone,
        vocab_size=args.vocab_size,
        max_length=args.max_length,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        doc_sep=args.doc_sep,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every,
        random_state=args.seed,
    )
    params.update(parse_settings(args.set))
    start = time.perf_counter()
    pre = AlbertPretrainer(**params)
    with progress_to_stderr(pre, show_progress(args)):
        pre.fit(args.corpus)
    path = pre.save_preset(out)
    history = pre.history_
    lines = [
        f"Pretrained ALBERT for {pre.n_steps_:,} steps in "
        f"{time.perf_counter() - start:,.0f} s"
        + (f" (resumed at step {pre.resumed_from_})" if pre.resumed_from_ else ""),
        f"  vocabulary      {pre.tokenizer_.vocab_size:,} pieces",
        f"  MLM accuracy    {history['mlm_accuracy'][0]:.3f} -> "
        f"{history['mlm_accuracy'][-1]:.3f}",
    ]
    if "sop_accuracy" in history:
        lines.append(
            f"  SOP accuracy    {history['sop_accuracy'][0]:.3f} -> "
            f"{history['sop_accuracy'][-1]:.3f}"
        )
    lines.append(f"  keras-hub preset {path}")
    if args.hf:
        from albert_sk.export.hf import export_hf

        lines.append(f"  Hugging Face    {export_hf(pre, args.hf)}")
    lines.append(f"Fine-tune it with: AlbertClassifier(preset={path!r})")
    print("\n".join(lines))
