"""A rule that cannot be read, parsed or compiled, reported like a compiler's error.

Kept apart from the parser so that code which only reports rule errors (the
command line, the compiler on a cached rule book) does not import lark.
"""
from __future__ import annotations


class RuleError(Exception):
    """A rule that cannot be parsed or compiled, located in its source."""

    def __init__(self, message: str, source: str, line: int, column: int, text: str = ""):
        self.message, self.source, self.line, self.column = message, source, line, column
        self.text = text
        super().__init__(self.render())

    def render(self) -> str:
        """The compiler-style report: location, message, the line and a caret."""
        where = f"{self.source}:{self.line}:{self.column}" if self.line > 0 else self.source
        head = f"{where}: error: {self.message}"
        # Lines as the parser counts them: only LF ends one (str.splitlines() would also end a line at
        # U+0085, U+2028, a form feed ..., and show the wrong line).
        lines = [line.removesuffix("\r") for line in self.text.split("\n")]
        if 0 < self.line <= len(lines):
            src = lines[self.line - 1]
            return f"{head}\n    {src}\n    {' ' * (self.column - 1)}^"
        return head


def decode_rules(data: bytes, source: str) -> str:
    """The text of a rules file, which must be UTF-8; a RuleError at the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        column = len(data[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        text = data.decode("utf-8", errors="replace")
        raise RuleError(f"byte 0x{data[exc.start]:02X} is not UTF-8: save the rules file as UTF-8",
                        source, line, column, text) from None
