"""Training and dev questions: SQuAD files -> checked questions (bad answer offsets set apart).

The files are read with `qa.eval.squad` (the evaluation's reader of SQuAD v1.1/v2.0 JSON); every
answer is then checked against its context, since a wrong offset would train the wrong tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.eval.squad import load_squad


@dataclass(frozen=True)
class SquadAnswer:
    text: str
    start: int  # character offset in the context

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    context: str
    answers: tuple[SquadAnswer, ...]  # empty when unanswerable
    title: str
    source: str  # the file it came from

    @property
    def is_answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class BadQuestion:
    """A question whose labels cannot be trusted, with the reason."""

    id: str
    source: str
    title: str
    reason: str


class BadQuestionsError(ValueError):
    """Raised when a training or dev file holds questions whose answers do not match their context."""

    def __init__(self, bad: Sequence[BadQuestion]):
        self.bad = list(bad)
        ids = ", ".join(b.id for b in self.bad)
        details = "\n".join(f"  {b.source}: question {b.id} ({b.title}): {b.reason}" for b in self.bad[:20])
        more = f"\n  ... and {len(self.bad) - 20} more" if len(self.bad) > 20 else ""
        super().__init__(
            f"{len(self.bad)} question(s) have answers that do not match their context "
            f"(question ids: {ids}):\n{details}{more}\n"
            "Fix the answer_start offsets, or pass --skip-bad to leave these questions out."
        )


@dataclass
class SquadFile:
    path: Path
    questions: list[SquadQuestion]
    bad: list[BadQuestion] = field(default_factory=list)


def read_squad(path: str | Path) -> SquadFile:
    """Reads a SQuAD v1.1 or v2.0 JSON file (via `qa.eval.squad`) and checks every answer.

    A question is unanswerable when `is_impossible` is true or it has no answers. Questions
    with an answer where `context[answer_start:answer_start+len(text)] != text` are returned
    in `bad`, not in `questions`.
    """
    path = Path(path)
    data = load_squad([path])
    contexts = {p.id: p.context for p in data.paragraphs}
    questions: list[SquadQuestion] = []
    bad: list[BadQuestion] = []
    for q in data.questions:
        context = contexts[q.paragraph_id]
        answers = tuple(SquadAnswer(t, s) for t, s in zip(q.answers, q.answer_starts)) if q.has_answer else ()
        problems = [
            f"answer {a.text!r} at {a.start}, but the context there reads {context[max(a.start, 0) : max(a.end, 0)]!r}"
            for a in answers
            if a.start < 0 or context[a.start : a.end] != a.text
        ]
        if problems:
            bad.append(BadQuestion(q.id, path.name, q.title, "; ".join(problems)))
        else:
            questions.append(SquadQuestion(q.id, q.question, context, answers, q.title, path.name))
    return SquadFile(path=path, questions=questions, bad=bad)


def select_articles(questions: Iterable[SquadQuestion], titles: Sequence[str]) -> list[SquadQuestion]:
    """The questions of the named articles; an unknown title is an error naming the known ones."""
    questions = list(questions)
    known = {q.title for q in questions}
    unknown = [t for t in titles if t not in known]
    if unknown:
        raise ValueError(f"unknown article(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    wanted = set(titles)
    return [q for q in questions if q.title in wanted]


def exclude_overlap(train: Sequence[SquadQuestion], dev: Sequence[SquadQuestion]) -> tuple[list[SquadQuestion], int]:
    """Drops training questions that share an id or a context with the dev set (keeps dev honest)."""
    dev_ids = {q.id for q in dev}
    dev_contexts = {q.context for q in dev}
    kept = [q for q in train if q.id not in dev_ids and q.context not in dev_contexts]
    return kept, len(train) - len(kept)


def sample_questions(questions: Sequence[SquadQuestion], limit: int, seed: int) -> list[SquadQuestion]:
    """`limit` questions drawn at random (fixed by `seed`), in their original order."""
    if limit <= 0 or limit >= len(questions):
        return list(questions)
    keep = np.sort(np.random.default_rng(seed).choice(len(questions), size=limit, replace=False))
    return [questions[i] for i in keep]
