"""The custom chat survey POST (spec/cisco-ece.md 4): parse leniently, store through the engine.

The survey may arrive after the chat ended and may name no chat at all (the seed's sample uses
``sid="1000"``), so a missing chat is not an error: the record is kept unattached.
"""

from __future__ import annotations

from typing import Any

from frontdesk.faces.ece import xmlsafe

MAX_SURVEYS = 50
MAX_QUESTION = 1000
MAX_ANSWER = 4000


class BadSurvey(ValueError):
    pass


def parse_survey(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    """(sid, [(question, answer)]) or BadSurvey for any case of the 400 row of section 4."""
    try:
        root = xmlsafe.parse(data)
    except xmlsafe.BadXml as exc:
        raise BadSurvey(str(exc)) from None
    if xmlsafe.local(root).lower() != "egainsurvey":
        raise BadSurvey("wrong root")
    sid = (xmlsafe.attr(root, "sid") or "").strip()
    if not 1 <= len(sid) <= 128:
        raise BadSurvey("sid missing")
    items = xmlsafe.children(root, "survey", fold=True)
    if not 1 <= len(items) <= MAX_SURVEYS:
        raise BadSurvey("1 to 50 survey elements")
    pairs: list[tuple[str, str]] = []
    for item in items:
        questions = xmlsafe.children(item, "question", fold=True)
        answers = xmlsafe.children(item, "answer", fold=True)
        if len(questions) != 1 or len(answers) != 1:
            raise BadSurvey("one question and one answer per survey")
        question = xmlsafe.text(questions[0]).strip()
        answer = xmlsafe.text(answers[0]).strip()
        if not question or len(question) > MAX_QUESTION or len(answer) > MAX_ANSWER:
            raise BadSurvey("question or answer length")
        pairs.append((question, answer))
    return sid, pairs


def survey_data(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Question → answer; a repeated question keeps every answer under a numbered key."""
    data: dict[str, Any] = {}
    for question, answer in pairs:
        key = question
        n = 2
        while key in data:
            key = f"{question} ({n})"
            n += 1
        data[key] = answer
    return data
