"""Parse rule files into the syntax tree of `ast.py`.

The grammar lives in `rules.lark`. Errors come back as `RuleError`, printed
like a compiler's: `file:line:col`, the line, a caret and what was expected.
No lark exception reaches a caller.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources

import lark
from lark import Token, v_args
from lark.visitors import Transformer_NonRecursive

from . import ast
from .rule_error import RuleError, decode_rules  # noqa: F401  (part of the parser's interface)

# What a user reads instead of lark's terminal names.
_TOKEN_WORDS = {
    "ARROW": "'=>'", "SEVERITY": "a severity (ERR or WRN)", "RULE_NUMBER": "a validation number",
    "RULE_TYPE": "a validation type (M, S, R, V, UK, FK, BR, OH, or one the standard declares)", "TEXT": 'a message in double quotes',
    "DDID": "a field id (DDID)", "NUMBER": "a number", "VALUE": "a value in single quotes",
    "DATE": "a date (YYYY-MM-DD)", "FILENAME": "a file name", "CODELIST": "a codelist (CL_...)",
    "NAME": "a name", "COMPARATOR": "a comparison (<, <=, =, !=, >=, >)", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "DOT": "'.'", "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = resources.files(__package__).joinpath("rules.lark").read_text(encoding="utf-8")
    # cache=True keeps the LALR tables in the temp directory, keyed by the grammar's hash: it saves
    # about 0.15 s at every start of the command line.
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False, cache=True)


# How deeply the parts of one rule may nest (`not`, `and` inside `or`, `+`, a
# count's condition...). The GA's rules need a handful of levels; the limit keeps
# every walk over a rule (compiler, engines, printing) far from Python's
# recursion limit, whatever a file holds. A chain of `and` or `or` is one level.
MAX_NESTING = 64


def parse_rules(text: str, source: str = "<rules>") -> list[ast.Rule]:
    """Parse the text of a rules file; raise RuleError on the first syntax error."""
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(exc, text, source) from None
    try:
        # Non-recursive: a rule of thousands of `not`s is a deep parse tree.
        rules = _ToAst(source).transform(tree).children
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, RuleError):
            err = exc.orig_exc
            raise RuleError(err.message, source, err.line, err.column, text) from None
        raise
    for rule in rules:
        too_deep = _too_deep(rule.violation)
        if too_deep is not None:
            span = too_deep.span or rule.span
            raise RuleError(f"the rule nests more than {MAX_NESTING} levels deep (not, and, or, +, -); "
                            "split it into simpler rules", source, span.line, span.column, text)
    return rules


def _too_deep(node) -> object | None:
    """The first node nested deeper than MAX_NESTING, or None; walks without recursion."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return item
        children = []
        for name in getattr(item, "__dataclass_fields__", {}):
            if name == "span":
                continue
            value = getattr(item, name)
            children.extend(x for x in (value if isinstance(value, tuple) else (value,))
                            if hasattr(x, "__dataclass_fields__"))
        stack.extend((child, depth + 1) for child in reversed(children))
    return None


def _syntax_error(exc, text: str, source: str) -> RuleError:
    line, column = getattr(exc, "line", 0) or 0, getattr(exc, "column", 0) or 0
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        found = "the end of the file" if token.type == "$END" else repr(str(token))
        expected = sorted({_TOKEN_WORDS.get(t, _keyword(t)) for t in exc.expected})
        msg = f"unexpected {found}; expected {_one_of(expected)}"
    elif isinstance(exc, lark.exceptions.UnexpectedCharacters):
        expected = sorted({_TOKEN_WORDS.get(t, _keyword(t)) for t in (exc.allowed or ())})
        msg = f"unexpected character {exc.char!r}" + (f"; expected {_one_of(expected)}" if expected else "")
    else:  # UnexpectedEOF
        msg = "unexpected end of the file"
    return RuleError(msg, source, line, column, text)


def _keyword(terminal: str) -> str:
    pattern = _parser().get_terminal(terminal).pattern if terminal in _terminal_names() else None
    if pattern is not None and pattern.type == "str":
        return f"'{pattern.value}'"
    return terminal.lower()


@lru_cache(maxsize=1)
def _terminal_names() -> frozenset[str]:
    return frozenset(t.name for t in _parser().terminals)


def _one_of(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _span(source: str, meta) -> ast.Span | None:
    if getattr(meta, "empty", True):
        return None
    return ast.Span(source, meta.line, meta.column, meta.end_line, meta.end_column)


def _date(token: Token) -> dt.date:
    try:
        return dt.date.fromisoformat(str(token))
    except ValueError:
        raise RuleError(f"{token} is not a calendar date", "", token.line, token.column) from None


def _unquote(token: Token) -> str:
    body = str(token)[1:-1]
    if str(token).startswith('"'):
        out, i = [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                i += 1
            out.append(body[i])
            i += 1
        return "".join(out)
    return body


@v_args(meta=True, inline=True)
class _ToAst(Transformer_NonRecursive):
    """One method per grammar alternative."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def _s(self, meta):
        return _span(self.source, meta)

    def _f(self, token: Token) -> ast.FieldRef:
        return ast.FieldRef(str(token), ast.Span(self.source, token.line, token.column, token.end_line, token.end_column))

    # operands
    def field(self, meta, token):
        return self._f(token)

    def zip_part(self, meta, name):
        return ast.ZipPart(str(name), self._s(meta))

    def number(self, meta, token):
        return ast.Number(int(str(token).replace("_", "")), self._s(meta))

    def text(self, meta, token):
        return ast.Text(_unquote(token), self._s(meta))

    def date(self, meta, token):
        return ast.DateLiteral(_date(token), self._s(meta))

    def count(self, meta, file):
        return ast.Count(str(file), self._s(meta))

    def years(self, meta, since, until):
        return ast.Years(self._f(since), self._f(until), self._s(meta))

    def days(self, meta, since, until):
        return ast.Days(self._f(since), self._f(until), self._s(meta))

    def today(self, meta):
        return ast.Today(self._s(meta))

    def substring(self, meta, ddid, first, last):
        return ast.Substring(self._f(ddid), int(str(first).replace("_", "")), int(str(last).replace("_", "")),
                             self._s(meta))

    def add(self, meta, left, right):
        return ast.Arithmetic(left, "+", right, self._s(meta))

    def subtract(self, meta, left, right):
        return ast.Arithmetic(left, "-", right, self._s(meta))

    def lookup(self, meta, codelist, keys, at, attribute):
        return ast.Lookup(str(codelist), keys, self._f(at), str(attribute), self._s(meta))

    def count_where(self, meta, file, where):
        return ast.CountWhere(str(file), where, None, self._s(meta))

    def count_per(self, meta, file, where, per):
        return ast.CountWhere(str(file), where, self._f(per), self._s(meta))

    # record conditions
    def comparison(self, meta, left, op, right):
        return ast.Comparison(left, str(op), right, self._s(meta))

    def is_empty(self, meta, ddid):
        return ast.IsEmpty(self._f(ddid), self._s(meta))

    def is_filled(self, meta, ddid):
        return ast.IsFilled(self._f(ddid), self._s(meta))

    def not_date(self, meta, ddid):
        return ast.NotDate(self._f(ddid), self._s(meta))

    def not_number(self, meta, ddid):
        return ast.NotNumber(self._f(ddid), self._s(meta))

    def not_pattern(self, meta, ddid, value):
        return ast.NotPattern(self._f(ddid), _unquote(value), self._s(meta))

    def value_list(self, meta, *values):
        return tuple(_unquote(v) for v in values)

    def not_in_values(self, meta, ddid, values):
        return ast.InValues(self._f(ddid), values, True, self._s(meta))

    def in_values(self, meta, ddid, values):
        return ast.InValues(self._f(ddid), values, False, self._s(meta))

    def codelists(self, meta, *names):
        return tuple(str(n) for n in names)

    def not_in_codelist(self, meta, ddid, codelists, at):
        return ast.NotInCodelist(self._f(ddid), codelists, self._f(at), self._s(meta))

    def not_selectable(self, meta, ddid, codelist, at):
        return ast.NotSelectable(self._f(ddid), str(codelist), self._f(at), self._s(meta))

    def like(self, meta, ddid, value):
        return ast.Like(self._f(ddid), _unquote(value), False, self._s(meta))

    def not_like(self, meta, ddid, value):
        return ast.Like(self._f(ddid), _unquote(value), True, self._s(meta))

    def fails_elfproef(self, meta, ddid):
        return ast.FailsElfproef(self._f(ddid), self._s(meta))

    def all_of(self, meta, *operands):
        # `(a and b) and c` is `a and b and c`: one flat node prints back the same.
        items = tuple(x for o in operands for x in (o.items if isinstance(o, ast.AllOf) else (o,)))
        return ast.AllOf(items, self._s(meta))

    def any_of(self, meta, *operands):
        items = tuple(x for o in operands for x in (o.items if isinstance(o, ast.AnyOf) else (o,)))
        return ast.AnyOf(items, self._s(meta))

    def negated(self, meta, item):
        return ast.Negated(item, self._s(meta))

    # whole-delivery violations
    def ddids(self, meta, *tokens):
        return tuple(self._f(t) for t in tokens)

    def not_unique(self, meta, ddid):
        return ast.NotUnique((self._f(ddid),), (), self._s(meta))

    def not_unique_composite(self, meta, fields):
        return ast.NotUnique(fields, (), self._s(meta))

    def not_unique_across(self, meta, ddid, across):
        return ast.NotUnique((self._f(ddid),), across, self._s(meta))

    def missing_reference(self, meta, ddid, file):
        return ast.MissingReference((self._f(ddid),), str(file), self._s(meta))

    def missing_reference_composite(self, meta, fields, file):
        return ast.MissingReference(fields, str(file), self._s(meta))

    def wrong_record_length(self, meta, file):
        return ast.WrongRecordLength(str(file), self._s(meta))

    def member_missing(self, meta):
        return ast.MemberCheck("missing", self._s(meta))

    def member_duplicated(self, meta):
        return ast.MemberCheck("duplicated", self._s(meta))

    def member_unknown(self, meta):
        return ast.MemberCheck("unknown", self._s(meta))

    # history
    def stored_elsewhere(self, meta, ddid, other):
        return ast.StoredElsewhere(self._f(ddid), self._f(other), self._s(meta))

    def changed_since_last(self, meta, ddid):
        return ast.ChangedSinceLast(self._f(ddid), self._s(meta))

    def account_unknown(self, meta, a, b, c):
        return ast.AccountUnknown((self._f(a), self._f(b), self._f(c)), self._s(meta))

    def deleted_not_stored(self, meta, ddid):
        return ast.DeletedNotStored(self._f(ddid), self._s(meta))

    # clauses
    def valid_from(self, meta, token):
        return ("valid_from", _date(token))

    def valid_until(self, meta, token):
        return ("valid_until", _date(token))

    def message_en(self, meta, token):
        return ("message_en", _unquote(token))

    def hint(self, meta, token):
        return ("hint", _unquote(token))

    def hint_en(self, meta, token):
        return ("hint_en", _unquote(token))

    def not_applicable(self, meta, token):
        return ("not_applicable", _unquote(token))

    def not_applicable_en(self, meta, token):
        return ("not_applicable_en", _unquote(token))
    def applies_to_deletions(self, meta):
        return ("deletions", True)

    def rule(self, meta, violation, _arrow, severity, number, rtype, message, *clauses):
        options = {}
        for key, value in clauses:
            if key in options:
                raise RuleError(f"rule {number} has two '{key.replace('_', ' ')}' clauses", "", meta.line, meta.column)
            options[key] = value
        return ast.Rule(
            violation=violation, severity=str(severity), number=str(number), type=str(rtype),
            message=_unquote(message), span=self._s(meta), **options,
        )
