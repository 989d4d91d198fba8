"""How a report describes each rule of a rule book, made once per book.

A validation's result lists every rule (`ValidationResult.rules`) with what it
checks, how to fix it and its status. Most of that is the rule book's own and
the same for every run with it; a run only replaces the status of the rules
it did not evaluate (`ValidationRun.rule_infos`).
"""
from __future__ import annotations

import weakref

from .findings import RuleInfo
from .language import compiler as c
from .notes import Note

# id(book) -> its rules' RuleInfo as the book alone says them; an entry leaves with its book
_BOOK_INFOS: dict[int, list[RuleInfo]] = {}


def book_infos(book: c.RuleBook) -> list[RuleInfo]:
    """Each rule of `book` as a report describes it before any run: its status and reason in the book.

    Made once per rule book and shared by every run with it (a RuleInfo is immutable): writing a
    rule out as text (`source`) for hundreds of rules is most of what describing them costs, and a
    process validating many small deliveries would otherwise do it for each. A run replaces the
    status of the rules it did not evaluate (`ValidationRun.rule_infos`).
    """
    infos = _BOOK_INFOS.get(id(book))
    if infos is not None:
        return infos
    infos = []
    for rule in book.rules:
        r = rule.rule
        infos.append(RuleInfo(
            rule=r.number, type=r.type, severity=r.severity, file=rule.file,
            ddid=rule.subject.ddid if rule.subject else None, status=rule.status,
            message=r.message, message_en=r.message_en, hint=r.hint, hint_en=r.hint_en,
            reason=Note("needs_store") if rule.status == c.NEEDS_STORE else rule.reason,
            reason_en=r.not_applicable_en, source=str(r),
        ))
    try:
        weakref.finalize(book, _BOOK_INFOS.pop, id(book), None)
    except TypeError:  # a book that cannot be weakly referenced is described afresh each time
        return infos
    _BOOK_INFOS[id(book)] = infos
    return infos
