"""The SentencePiece vocabulary of a pretraining corpus (no Keras)."""

import warnings

from albert_sk.exceptions import InputError, VocabularyWarning, user_stacklevel
from albert_sk.pretraining.examples import empty_corpus_message
from albert_sk.pretraining.masking import split_sentences
from albert_sk.text import capped_vocabulary_message, train_sentencepiece


def train_vocabulary(corpus, vocab_size, *, sample_size, seed, **options):
    """A SentencePiece tokenizer trained on ``corpus``'s sentences.

    SentencePiece reads at most ``sample_size`` sentences. A one-shot
    stream (:class:`~albert_sk.pretraining.corpus.Corpus`) gives only its
    first ``sample_size`` sentences, and is replayed from its start for
    training. An error reading the corpus is raised as it is, once
    SentencePiece stops; a vocabulary smaller than ``vocab_size`` warns
    (``VocabularyWarning``). ``options`` go to
    :func:`albert_sk.text.train_sentencepiece` (``lowercase``,
    ``model_type``...).
    """
    errors = []
    if corpus.one_shot:
        sentences, read = [], []
        stream = corpus.documents()
        for _, doc in stream:
            read.append(doc)
            sentences += split_sentences(doc)
            if len(sentences) >= sample_size:
                break
        corpus.replay(read, (doc for _, doc in stream))
        empty = not sentences
    else:
        empty = next(corpus.documents(), None) is None
        sentences = _sentences(corpus, errors)
    if empty:
        raise InputError(empty_corpus_message(corpus))
    try:
        tokenizer = train_sentencepiece(
            sentences,
            vocab_size,
            input_sentence_size=sample_size,
            seed=seed,
            warn=False,
            **options,
        )
    except InputError:
        if errors:  # the corpus failed while SentencePiece read it
            raise errors[0] from None
        raise
    if errors:
        raise errors[0]
    # Only once the corpus was read without error:
    message = capped_vocabulary_message(vocab_size, tokenizer)
    if message is not None:
        warnings.warn(message, VocabularyWarning, stacklevel=user_stacklevel())
    return tokenizer


def _sentences(corpus, errors):
    """Sentences of the corpus; an error stops the stream and is kept."""
    try:
        for _, doc in corpus.documents():
            yield from split_sentences(doc)
    except InputError as err:
        errors.append(err)
