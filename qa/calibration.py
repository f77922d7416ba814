"""Calibrated confidence: P(the answer is right) from a candidate's features (qa.selection).

"Right" means token F1 >= 0.5 against a gold answer (any answer to an unanswerable question is
wrong). The calibrator is a logistic regression (scikit-learn) over standardized features,
stored as plain JSON (feature names, means, scales, weights, intercept) and stamped with the
reader and embedder it was fitted for: a calibrator fitted for another model pair is refused.

Where one is found (`find_calibrator`): in the store (`store.values`, key `calibrator`, written by
`spanqa calibrate`: every replica on one database shares it), else `calibration.json` in the data
directory (written by older versions), else the one shipped for the reader in
`qa/calibrators/<reader>.json` (fitted on the SQuAD dev split), else none (the caller falls back to
the score threshold). A calibrator fitted for another reader or embedder is passed over.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from index.store.protocol import StoredValues

log = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = (
    "score",
    "margin_null",
    "margin_min_null",
    "gap_next",
    "share",
    "passages_agreeing",
    "passage_rank",
    "retrieval_ratio",
    "answer_words",
)
RIGHT_F1 = 0.5  # an answer is right when its token F1 against a gold answer reaches this
CALIBRATION_FILE = "calibration.json"  # older versions' place, in the data directory
STORE_KEY = "calibrator"  # in `store.values`
SHIPPED_DIR = Path(__file__).resolve().parent / "calibrators"


def reader_identity(model: str) -> str:
    """A reader's name that survives moving its folder: the folder name, or the hub id."""
    path = Path(model)
    return path.name if path.is_dir() else model


@dataclass(frozen=True)
class Calibrator:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    reader: str  # reader_identity of the reader it was fitted for
    embedder: str  # index.embedder.model_identity of the embedding model
    fitted_on: str = ""  # what data, for people reading the file
    examples: int = 0

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.intercept
        for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights):
            z += w * (float(features.get(name, 0.0)) - m) / s
        return _sigmoid(z)

    def matches(self, reader: str, embedder: str) -> bool:
        return self.reader == reader and self.embedder == embedder


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def fit(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[int],
    *,
    reader: str,
    embedder: str,
    fitted_on: str = "",
    features: Sequence[str] = FEATURES,
    c: float = 1.0,
) -> Calibrator:
    """A logistic regression of `labels` (1 = right) on the `features` of `rows`."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        raise ValueError("calibration needs both right and wrong answers in the data")
    x = np.array([[float(r.get(f, 0.0)) for f in features] for r in rows], dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, np.asarray(labels))
    return Calibrator(
        features=tuple(features),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
        reader=reader,
        embedder=embedder,
        fitted_on=fitted_on,
        examples=len(rows),
    )


def to_json(calibrator: Calibrator) -> str:
    return json.dumps(asdict(calibrator), indent=2) + "\n"


def from_json(text: str) -> Calibrator:
    raw = json.loads(text)
    for key in ("features", "mean", "scale", "weights"):
        raw[key] = tuple(raw[key])
    return Calibrator(**raw)


def save(calibrator: Calibrator, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(to_json(calibrator), encoding="utf-8")
    tmp.replace(path)


def load(path: Path) -> Calibrator:
    return from_json(path.read_text(encoding="utf-8"))


def store_calibrator(calibrator: Calibrator, values: StoredValues) -> None:
    """Keep `calibrator` in the store: the one every process on it uses from its next start."""
    values.put(STORE_KEY, to_json(calibrator))


def find_calibrator(
    data_dir: Path,
    reader_model: str,
    embedder: str,
    values: StoredValues | None = None,
    inherited: Calibrator | None = None,
) -> Calibrator | None:
    """The calibrator for this reader and embedder: in the store's `values`, else `inherited` when given
    (a collection without one of its own uses default's), else in the data directory, else shipped,
    else None."""
    reader = reader_identity(reader_model)
    for where, text in _candidates(data_dir, reader, values, look_further=inherited is None):
        try:
            calibrator = from_json(text)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring calibrator %s: unreadable (%s)", where, exc)
            continue
        if calibrator.matches(reader, embedder):
            return calibrator
        log.warning(
            "ignoring calibrator %s: fitted for reader %r + embedder %r, this index uses %r + %r",
            where,
            calibrator.reader,
            calibrator.embedder,
            reader,
            embedder,
        )
    return inherited


def _candidates(
    data_dir: Path, reader: str, values: StoredValues | None, look_further: bool = True
) -> Iterator[tuple[str, str]]:
    """(where, JSON text) of each place holding a calibrator, in the order they are tried: the store,
    then (`look_further`) the data directory's file and the shipped one."""
    stored = values.get(STORE_KEY) if values is not None else None
    if stored is not None:
        yield "in the store", stored
    if not look_further:
        return
    for path in (data_dir / CALIBRATION_FILE, SHIPPED_DIR / f"{reader}.json"):
        if path.is_file():
            yield str(path), path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def reliability(probabilities: Sequence[float], labels: Sequence[int], bins: int = 10) -> list[ReliabilityBin]:
    """Equal-width confidence bins: how sure the calibrator was and how often it was right."""
    out = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(p, y) for p, y in zip(probabilities, labels) if low <= p < high or (b == bins - 1 and p == 1.0)]
        n = len(inside)
        out.append(
            ReliabilityBin(
                low,
                high,
                n,
                sum(p for p, _ in inside) / n if n else None,
                sum(y for _, y in inside) / n if n else None,
            )
        )
    return out


def expected_calibration_error(probabilities: Sequence[float], labels: Sequence[int], bins: int = 10) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over equal-width bins."""
    total = len(probabilities)
    if not total:
        return 0.0
    return sum(
        b.count / total * abs(b.accuracy - b.mean_confidence)
        for b in reliability(probabilities, labels, bins)
        if b.count and b.accuracy is not None and b.mean_confidence is not None
    )
