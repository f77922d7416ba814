"""The benchmark's corpus: contexts of the shared SQuAD files and real dev-split questions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa.eval.squad import load_squad

SQUAD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "squad"
LABELLED = "squad-v2-dev-16-articles.json"
CONTEXTS = "squad-v2-dev-20-articles-contexts.json"
DEV_ARTICLES = ("Normans", "Packet_switching", "Warsaw")


@dataclass
class BenchCorpus:
    paragraphs: list[tuple[str, str, str]]  # (id, title, context)
    questions: list[str]  # dev-split questions, in file order


def load_corpus(squad_dir: Path = SQUAD_DIR, max_paragraphs: int | None = None) -> BenchCorpus:
    """All contexts of both shared files (or the first `max_paragraphs`, dev articles first)."""
    data = load_squad([squad_dir / LABELLED, squad_dir / CONTEXTS])
    paragraphs = sorted(data.paragraphs, key=lambda p: p.title not in DEV_ARTICLES)  # stable
    if max_paragraphs is not None:
        paragraphs = paragraphs[:max_paragraphs]
    kept = {p.id for p in paragraphs}
    questions = [q.question for q in data.questions if q.title in DEV_ARTICLES and q.paragraph_id in kept]
    return BenchCorpus([(p.id, p.title, p.context) for p in paragraphs], questions)
