"""Loading SQuAD v1.1 / v2.0-format JSON files into paragraphs and questions.

Each paragraph becomes one document of the evaluation index, with a stable id
`f"{article title}-{paragraph index}"`; each question remembers its paragraph's id so the
runner can tell whether retrieval found the gold paragraph. Files with contexts only (no
`qas`) load as paragraphs without questions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Paragraph:
    id: str  # f"{title}-{index}", unique across everything loaded together
    title: str  # the article title, as in the file
    index: int  # position of the paragraph in its article
    context: str
    source: str  # the file it came from


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: list[str]  # gold answer texts ([] when unanswerable)
    answer_starts: list[int]
    is_impossible: bool
    paragraph_id: str
    title: str

    @property
    def has_answer(self) -> bool:
        return bool(self.answers) and not self.is_impossible


@dataclass
class SquadData:
    paragraphs: list[Paragraph] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)

    @property
    def titles(self) -> list[str]:
        """Article titles in file order, without repeats."""
        return list(dict.fromkeys(p.title for p in self.paragraphs))

    def paragraph(self, paragraph_id: str) -> Paragraph:
        return self._by_id()[paragraph_id]

    def _by_id(self) -> dict[str, Paragraph]:
        return {p.id: p for p in self.paragraphs}


class SquadFormatError(ValueError):
    """A file that is not SQuAD-format JSON; the message names the file and what is wrong."""


def load_squad(paths: Iterable[str | Path], *, with_questions: bool = True) -> SquadData:
    """Paragraphs (and, unless `with_questions` is False, questions) of SQuAD files, in order.

    Paragraph ids are `f"{title}-{i}"`; when the same title shows up again (in another file,
    or twice in one), its paragraphs continue the numbering, so ids stay unique.
    """
    data = SquadData()
    next_index: dict[str, int] = {}
    for path in paths:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SquadFormatError(f"{path}: cannot read SQuAD JSON ({exc})") from exc
        articles = raw.get("data") if isinstance(raw, dict) else None
        if not isinstance(articles, list):
            raise SquadFormatError(f"{path}: no top-level 'data' list of articles")
        for a, article in enumerate(articles):
            title = str(article.get("title") or f"article-{a}")
            for paragraph in article.get("paragraphs", []):
                context = paragraph.get("context")
                if not isinstance(context, str):
                    raise SquadFormatError(f"{path}: a paragraph of {title!r} has no 'context' string")
                index = next_index.get(title, 0)
                next_index[title] = index + 1
                para = Paragraph(id=f"{title}-{index}", title=title, index=index, context=context, source=str(path))
                data.paragraphs.append(para)
                if with_questions:
                    data.questions.extend(_questions(paragraph.get("qas") or [], para))
    return data


def _questions(qas: list[dict], paragraph: Paragraph) -> list[Question]:
    out = []
    for qa in qas:
        answers = [a for a in qa.get("answers") or [] if a.get("text")]
        impossible = bool(qa.get("is_impossible", False)) or not answers
        out.append(
            Question(
                id=str(qa["id"]),
                question=str(qa["question"]),
                answers=[] if impossible else [a["text"] for a in answers],
                answer_starts=[] if impossible else [int(a.get("answer_start", -1)) for a in answers],
                is_impossible=impossible,
                paragraph_id=paragraph.id,
                title=paragraph.title,
            )
        )
    return out
