"""Cut the bundled test slices of tests/data/ from the shared datasets.

Run from anywhere: ``python tests/data/make_fixtures.py [SHARED_DATA]`` (default
../shared/data next to the repository). It rewrites tests/data/wnut17/ and
tests/data/squad/ and checks that each slice reads back as exactly the
sentences/questions it selected. Only datasets whose license allows
redistribution with attribution are cut here (see tests/data/SOURCES.md):
WNUT-17 (CC BY 4.0) and SQuAD (CC BY-SA 4.0).
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data"

# WNUT-17 (tests/test_cli_tasks.py, test_convergence.py, test_metrics_entity.py,
# test_tagger.py): the first 120 training sentences, then the next sentences
# holding an entity until 600 entity sentences are in (test_tagger.py fits on
# the first 600); the first 300 dev sentences.
WNUT_HEAD, WNUT_ENTITY, WNUT_DEV = 120, 600, 300

# SQuAD (test_qa.py picks paragraphs under 500 characters for fast fits).
SHORT = 500
# v1.1 (test_qa.py, test_pretrainer.py, test_convergence.py, test_cli_tasks.py):
# the first 11 articles; of each, the first 12 paragraphs under 500 characters
# and the first 4 longer ones, with their first 3 questions, but every paragraph
# of the second article (test_qa.py trains a tokenizer on them); all questions of
# the first 3 paragraphs (the CLI tests' slice); and the first 60 questions of
# the file whose first answer is not ASCII, with their paragraphs (test_qa.py's
# oracle test).
V1 = dict(n_articles=11, n_short=12, n_long=4, n_questions=3, all_q=3, all_p=1)
V1_NON_ASCII = 60
# v2.0 (test_qa.py, test_metrics_squad.py, test_cli_tasks.py): the first 3
# articles; of each, the first 8 paragraphs under 500 characters and the first
# 2 longer ones, with their first 6 questions (answerable or not, as they come).
V2 = dict(n_articles=3, n_short=8, n_long=2, n_questions=6)


def conll_blocks(text):
    """The sentences of a CoNLL file as lists of raw lines, blank lines between."""
    blocks, block = [], []
    for line in text.split("\n"):
        if line.strip():
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)
    return blocks


def has_entity(block):
    return any(line.split("\t")[-1].strip() != "O" for line in block)


def write_conll_blocks(path, blocks):
    path.write_text("".join("\n".join(b) + "\n\n" for b in blocks), encoding="utf-8")


def cut_wnut(shared, out):
    out.mkdir(parents=True, exist_ok=True)
    train = conll_blocks((shared / "wnut17train.conll").read_text(encoding="utf-8"))
    keep, n_entity = [], 0
    for i, block in enumerate(train):
        if i < WNUT_HEAD or (n_entity < WNUT_ENTITY and has_entity(block)):
            keep.append(i)
        n_entity += has_entity(block)
        if i >= WNUT_HEAD and n_entity >= WNUT_ENTITY:
            break
    write_conll_blocks(out / "wnut17train.conll", [train[i] for i in keep])
    dev = conll_blocks((shared / "emerging.dev.conll").read_text(encoding="utf-8"))
    write_conll_blocks(out / "emerging.dev.conll", dev[:WNUT_DEV])
    # The slices read back as the selected sentences of the full files.
    from albert_sk.io import read_conll

    X, y = read_conll(shared / "wnut17train.conll")
    assert read_conll(out / "wnut17train.conll") == (
        [X[i] for i in keep],
        [y[i] for i in keep],
    )
    X, y = read_conll(shared / "emerging.dev.conll")
    assert read_conll(out / "emerging.dev.conll") == (X[:WNUT_DEV], y[:WNUT_DEV])
    return len(keep), WNUT_DEV


def cut_squad(
    data, n_articles, n_short, n_long, n_questions, all_q=0, all_p=None, extra=()
):
    """The first ``n_articles`` of ``data``, each cut to its first ``n_short``
    paragraphs under SHORT characters and first ``n_long`` longer ones (file
    order kept), each with its first ``n_questions`` questions; plus all
    questions of the first ``all_q`` paragraphs of the first article, every
    paragraph of article ``all_p`` (first ``n_questions`` questions), and the
    questions whose ids are in ``extra``, with their paragraphs."""
    extra = set(extra)
    articles = []
    for a, article in enumerate(data[:n_articles]):
        paragraphs, seen = [], {True: 0, False: 0}
        for p, paragraph in enumerate(article["paragraphs"]):
            short = len(paragraph["context"]) < SHORT
            seen[short] += 1
            wanted = a == all_p or seen[short] <= (n_short if short else n_long)
            qas = [
                q
                for k, q in enumerate(paragraph["qas"])
                if (wanted and k < n_questions)
                or (a == 0 and p < all_q)
                or q["id"] in extra
            ]
            if qas:
                paragraphs.append(dict(paragraph, qas=qas))
        articles.append(dict(article, paragraphs=paragraphs))
    return articles


def non_ascii_ids(data, n):
    ids = [
        q["id"]
        for article in data
        for paragraph in article["paragraphs"]
        for q in paragraph["qas"]
        if not q["answers"][0]["text"].isascii()
    ]
    return ids[:n]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write("\n")


def count(articles):
    return sum(len(p["qas"]) for a in articles for p in a["paragraphs"])


def check_squad(full, cut):
    """Each question of the slice reads back as in the full file."""
    from albert_sk.io import read_squad

    full, cut = read_squad(full).set_index("id"), read_squad(cut).set_index("id")
    assert cut.equals(full.loc[cut.index]), "the slice differs from its source"


def main(shared=SHARED):
    shared = Path(shared)
    n_train, n_dev = cut_wnut(shared / "wnut17", HERE / "wnut17")
    print(f"wnut17: {n_train} training sentences, {n_dev} dev sentences")
    (HERE / "squad").mkdir(exist_ok=True)
    with open(shared / "squad" / "dev-v1.1-part-a.json", encoding="utf-8") as fh:
        v1 = json.load(fh)
    extra = non_ascii_ids(v1["data"], V1_NON_ASCII)
    data = cut_squad(v1["data"], **V1, extra=extra)
    write_json(HERE / "squad" / "dev-v1.1-part-a.json", dict(v1, data=data))
    check_squad(
        shared / "squad" / "dev-v1.1-part-a.json",
        HERE / "squad" / "dev-v1.1-part-a.json",
    )
    print(f"squad v1.1: {count(data)} questions")
    with open(shared / "squad" / "dev-v2.0-part-a.json", encoding="utf-8") as fh:
        v2 = json.load(fh)
    data = cut_squad(v2["data"], **V2)
    write_json(HERE / "squad" / "dev-v2.0-part-a.json", dict(v2, data=data))
    check_squad(
        shared / "squad" / "dev-v2.0-part-a.json",
        HERE / "squad" / "dev-v2.0-part-a.json",
    )
    print(f"squad v2.0: {count(data)} questions")


if __name__ == "__main__":
    main(*sys.argv[1:])
