"""Shared fixtures: real-data paths and small slices of them.

Other test modules add fixtures here; keep each one small and independent.

The real datasets are read from ../shared/data (``DATA``; see its
SOURCES.md). Where a file is absent there, ``require`` returns its small slice
bundled in tests/data/ (WNUT-17 and SQuAD: see tests/data/SOURCES.md), and
skips the test only when there is none (SST-2, TREC and the Chinese sets,
whose licenses do not allow bundling). ``ALBERT_SK_TEST_DATA`` names another
folder to read instead of ../shared/data; ``ALBERT_SK_TEST_DATA=/nonexistent``
simulates a machine without the shared data. ``bundled(path)`` tells a test
which one it got, for assertions on the full files' sizes.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from _data import DATA, require  # noqa: E402

from albert_sk.io import load_sentiment_sentences, read_sst2  # noqa: E402


@pytest.fixture(scope="session")
def data_dir():
    """Folder of the real datasets (../shared/data, see SOURCES.md); may be
    absent: pass the paths built on it through ``require``."""
    return DATA


@pytest.fixture(scope="session")
def sst2_path():
    return require(DATA / "sst2" / "train.tsv")


@pytest.fixture(scope="session")
def trec_path():
    return require(DATA / "trec" / "TREC.train")


@pytest.fixture(scope="session")
def sentiment():
    """The 3,000 UCI sentiment sentences shipped in the package (text, label)."""
    return load_sentiment_sentences()


@pytest.fixture(scope="session")
def sentiment_small(sentiment):
    """120 short sentences (60 per label) for fits that take seconds."""
    short = sentiment[sentiment.text.str.split().str.len() <= 12]
    parts = [short[short.label == label].sample(60, random_state=0) for label in (0, 1)]
    frame = pd.concat(parts).sample(frac=1, random_state=0)
    return frame.reset_index(drop=True)


@pytest.fixture(scope="session")
def sst2_small(sst2_path):
    """The first 2,500 SST-2 training sentences (text, label)."""
    return read_sst2(sst2_path, n=2500)


@pytest.fixture(scope="session")
def hf_albert_dir(tmp_path_factory, sentiment):
    """A tiny Hugging Face ALBERT checkpoint; yields (path, config, weights, tok)."""
    from _hf import write_hf_albert

    path = tmp_path_factory.mktemp("hf_albert")
    config, weights, tok = write_hf_albert(path, sentiment.text.tolist()[:1500])
    return path, config, weights, tok


@pytest.fixture(scope="session")
def keras_hub_preset_dir(tmp_path_factory, sentiment):
    """A tiny keras-hub ALBERT preset; yields (path, backbone, tokenizer)."""
    from _hf import write_keras_hub_preset

    path = tmp_path_factory.mktemp("keras_hub_preset")
    backbone, tok = write_keras_hub_preset(path, sentiment.text.tolist()[:1500])
    return path, backbone, tok


def pytest_collection_modifyitems(config, items):
    """``slow`` tests are opt-in: they run only when ``-m`` names them."""
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
