"""Keyword tokens: lower-cased words of two or more characters, English stop words removed, stemmed.

The same tokens go into the keyword index and into queries. The stop words are bm25s's longer
English list ("en_plus": NLTK's, question words too; words it holds with an apostrophe or of one
letter can never be tokens here); with Snowball stemming it beat the short Lucene list and no
stemming on the SQuAD train split (README, "Retrieval").
"""

from __future__ import annotations

import re
import threading

import Stemmer

# Bump when tokenization changes: stored tokens are then rebuilt from the chunks' text.
TOKENIZER_VERSION = "words2-en_plus-snowball-english-v1"

STOPWORDS = frozenset(
    """
about above after again against ain all am an and any are aren as at be because been before being below
between both but by can couldn did didn do does doesn doing don down during each few for from further had hadn
has hasn have haven having he her here hers herself him himself his how if in into is isn it its itself just
ll ma me mightn more most mustn my myself needn no nor not now of off on once only or other our ours ourselves
out over own re same shan she should shouldn so some such than that the their theirs them themselves then
there these they this those through to too under until up ve very was wasn we were weren what when where which
while who whom why will with won wouldn you your yours yourself yourselves
""".split()
)

_WORD = re.compile(r"(?u)\b\w\w+\b")
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One English Snowball stemmer per thread (PyStemmer objects are not thread-safe)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def tokenize(texts: list[str]) -> list[list[str]]:
    """Each text's tokens, in order."""
    stem = _stemmer().stemWords
    return [stem([w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]) for text in texts]
