"""A table's bytes as text rows: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows cp1252.

Line ends may be LF, CRLF or CR. CSV fields may be quoted (commas and quotes inside).
Each row comes with its 1-based line number, so messages can name ``table:line``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from .records import TableError

#: Bytes a table may start with, and the text encoding they announce.
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
#: Larger than any annotation table of a season: a bigger file is not a table.
MAX_TABLE_BYTES = 256 << 20


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): BOM first, then UTF-8, then cp1252 (Excel and Raven on Windows)."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise TableError(f"starts with a {encoding} byte-order mark but is not {encoding} text "
                                 f"({exc.reason} at byte {exc.start})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise TableError(f"is neither UTF-8 nor Windows cp1252 text (byte {exc.start}); "
                         "save it as UTF-8") from None


def read_text(path: Path) -> tuple[str, str]:
    """The table's text and encoding; ``TableError`` for a file that cannot be one."""
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise TableError(f"is {size} bytes, larger than any table ({MAX_TABLE_BYTES} at most)")
        data = path.read_bytes()
    except OSError as exc:
        raise TableError(f"cannot be read ({exc.strerror or exc})") from None
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TableError("holds NUL bytes: not a text table")
    return decode(data)


def rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line, fields) of every non-blank row; quoted fields may hold the delimiter."""
    out = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for fields in reader:
            line = reader.line_num
            if any(f.strip() for f in fields):
                out.append((line, [f.strip() for f in fields]))
    except csv.Error as exc:
        raise TableError(f"line {reader.line_num}: {exc}") from None
    return out


def delimiter_of(header_line: str) -> str:
    """Tab when the header holds one, else comma."""
    return "\t" if "\t" in header_line else ","


def first_line(text: str) -> str:
    """The first non-blank line, BOM left out."""
    for line in text.lstrip("\ufeff").splitlines():
        if line.strip():
            return line
    return ""


def number(text: str | None, *, what: str) -> float:
    """A finite float (``ValueError`` naming ``what`` otherwise); a decimal comma is accepted."""
    if text is None or text == "":
        raise ValueError(f"{what} is missing")
    try:
        value = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} is {text!r}, not a finite number")
    return value


def optional_number(text: str | None, *, what: str) -> float | None:
    """None for a missing or empty cell, else ``number``."""
    return None if text is None or text == "" else number(text, what=what)


class Header:
    """Column lookup by name, case and spacing ignored: ``header.get(row, "Begin Time (s)")``."""

    def __init__(self, names: list[str]):
        self.names = names
        self._index = {}
        for i, name in enumerate(names):
            self._index.setdefault(_norm(name), i)

    def has(self, *names: str) -> bool:
        return all(_norm(n) in self._index for n in names)

    def first(self, *names: str) -> str | None:
        """The first of ``names`` that the header has, as the header spells it."""
        for n in names:
            if _norm(n) in self._index:
                return self.names[self._index[_norm(n)]]
        return None

    def get(self, fields: list[str], name: str | None) -> str | None:
        """The cell of column ``name`` ('' when the row is short); None when there is no such column."""
        if name is None or _norm(name) not in self._index:
            return None
        i = self._index[_norm(name)]
        return fields[i] if i < len(fields) else ""


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().split())
