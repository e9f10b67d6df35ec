"""Fitted models for the docstring examples of albert_sk/ (``--doctest-modules``).

Method examples use names they do not define themselves: ``clf``, ``reg``,
``vec``, ``tagger``, ``qa`` and ``pre`` (models fitted as in the examples of
their classes), and the data they were fitted on: ``reviews`` (all shipped
review sentences), ``train``/``test`` (the short-review split of the class
examples), ``tags`` (the tagger's opinion-word tagging function),
``questions``/``answers`` (the QA example's) and ``docs`` (the pretrainer's).

Each is built once per session, the first time a doctest reads it without
assigning it: running one module's doctests fits only the models they use.
The tests under tests/ never touch them.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ast  # noqa: E402
import doctest  # noqa: E402

import pytest  # noqa: E402

OPINION = {
    "good", "great", "bad", "awful", "excellent",
    "terrible", "best", "worst", "nice", "poor",
}  # fmt: skip


def _tags(words):
    return ["B-OPINION" if w.lower().strip(".,!?") in OPINION else "O" for w in words]


def _reviews(ns):
    from albert_sk.io import load_sentiment_sentences

    return load_sentiment_sentences()


def _split(ns, n_train):
    from sklearn.model_selection import train_test_split

    short = ns["reviews"][ns["reviews"].text.str.len() < 60]
    return train_test_split(short, train_size=n_train, test_size=200, random_state=0)


def _train(ns):
    return _split(ns, 400)[0]


def _test(ns):
    return _split(ns, 400)[1]


def _clf(ns):
    from albert_sk import AlbertClassifier

    train = ns["train"]
    model = AlbertClassifier(
        backbone="tiny", vocab_size=500, max_length=48, epochs=5, random_state=0
    )
    return model.fit(train.text, train.label)


def _reg(ns):
    from albert_sk import AlbertRegressor

    train, _ = _split(ns, 600)
    model = AlbertRegressor(
        backbone="tiny", vocab_size=500, max_length=48, epochs=4, random_state=0
    )
    return model.fit(train.text, train.label * 4.0 + 1)


def _vec(ns):
    from albert_sk import AlbertVectorizer

    model = AlbertVectorizer(
        backbone="tiny", vocab_size=500, max_length=48, random_state=0
    )
    return model.fit(ns["train"].text)


def _tagger(ns):
    from albert_sk import AlbertTagger

    X = [t.split() for t in ns["train"].text]
    model = AlbertTagger(
        backbone="tiny",
        vocab_size=500,
        max_length=48,
        epochs=6,
        learning_rate=3e-3,
        random_state=0,
    )
    return model.fit(X, [_tags(w) for w in X])


def _questions(ns):
    people = "Ann Bob Cleo Dmitri Eve Farid Greta Hugo Ines Jon".split()
    cities = "Paris Lima Oslo Kyoto Cairo Quito Perth Bern Dakar Hanoi".split()
    return [
        {
            "question": f"Where was {p} born?",
            "context": f"{p} was born in {c} in {1950 + 7 * k}.",
        }
        for k, (p, c) in enumerate(zip(people, cities, strict=True))
    ]  # fmt: skip


def _answers(ns):
    return "Paris Lima Oslo Kyoto Cairo Quito Perth Bern Dakar Hanoi".split()


def _qa(ns):
    from albert_sk import AlbertQA

    model = AlbertQA(
        backbone="tiny",
        vocab_size=64,
        max_length=48,
        max_query_length=20,
        epochs=2,
        random_state=0,
    )
    return model.fit(ns["questions"], ns["answers"])


def _docs(ns):
    return ns["reviews"].text[:600].tolist()


def _pre(ns):
    from albert_sk import AlbertPretrainer

    model = AlbertPretrainer(
        backbone="tiny",
        vocab_size=300,
        max_length=32,
        max_steps=40,
        batch_size=16,
        learning_rate=2e-3,
        log_every=10,
        random_state=0,
    )
    return model.fit(ns["docs"])


BUILDERS = {
    "reviews": _reviews,
    "train": _train,
    "test": _test,
    "tags": lambda ns: _tags,
    "clf": _clf,
    "reg": _reg,
    "vec": _vec,
    "tagger": _tagger,
    "questions": _questions,
    "answers": _answers,
    "qa": _qa,
    "docs": _docs,
    "pre": _pre,
}


class LazyModels(dict):
    """``BUILDERS`` values, each built on first lookup and then kept."""

    def __missing__(self, name):
        value = self[name] = BUILDERS[name](self)
        return value


def _free_names(test):
    """Names a doctest reads but never assigns."""
    read, written = set(), set()
    for example in test.examples:
        try:
            tree = ast.parse(example.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else written).add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                written.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                written.add(node.name)
    return read - written


@pytest.fixture(scope="session")
def doctest_models():
    """The session's :class:`LazyModels`: nothing is fitted until asked for."""
    return LazyModels()


@pytest.fixture(autouse=True)
def _doctest_models_namespace(request, doctest_namespace, doctest_models):
    """Give a doctest the ``BUILDERS`` names it reads without assigning.

    Runs before pytest copies ``doctest_namespace`` into the doctest's
    globals; the names are removed again afterwards, so no other doctest
    sees them by accident.
    """
    test = getattr(request.node, "dtest", None)
    if not isinstance(test, doctest.DocTest):
        yield
        return
    names = sorted(_free_names(test) & set(BUILDERS))
    for name in names:
        doctest_namespace[name] = doctest_models[name]
    yield
    for name in names:
        doctest_namespace.pop(name, None)


# === Running on several cores (pytest-xdist: -n auto --dist loadgroup) ===

# Modules whose tests share no costly fixture: xdist hands out their tests one
# by one. Every other module, and all the doctests (they share the models
# above), stays whole on one worker, so its fitted fixtures are built once.
SPREAD = {"tests/test_docs.py", "tests/test_scaling.py"}
# Run first: long single tests (subprocesses, docs pages) and the doctests'
# models, so no worker is left with a long tail while the others idle.
FIRST = ("albert_sk/", "tests/test_scaling.py", "tests/test_docs.py")


def _module(item):
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(config, items):
    """Group items for ``--dist loadgroup`` and put the long ones first.

    Items move a whole module at a time, so module-scoped fixtures are still
    built once in a run without xdist too.
    """
    for item in items:
        module = _module(item)
        if module not in SPREAD:
            group = "doctests" if module.startswith("albert_sk/") else module
            item.add_marker(pytest.mark.xdist_group(group))

    def rank(item):
        module = _module(item)
        return next(
            (i for i, prefix in enumerate(FIRST) if module.startswith(prefix)),
            len(FIRST),
        )

    items.sort(key=rank)  # stable: the order within each rank is kept
