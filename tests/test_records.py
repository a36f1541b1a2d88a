"""The package's records: a dataclass of more than three fields is built by keyword only.

A record built positionally takes its values in field order, so adding or moving a field
silently shifts every value after it (it happened once, to step 1's run record). The
check reads the source (no import): a class decorated ``@dataclass`` whose body declares
more than three fields the constructor takes must say ``kw_only=True``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "nightscan_common"


def init_fields(cls: ast.ClassDef) -> list[str]:
    """The names the generated ``__init__`` takes: annotated, not ``ClassVar``, not ``init=False``."""
    names = []
    for node in cls.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        if "ClassVar" in ast.unparse(node.annotation):
            continue
        value = node.value
        if isinstance(value, ast.Call) and any(k.arg == "init" and ast.unparse(k.value) == "False"
                                               for k in value.keywords):
            continue
        names.append(node.target.id)
    return names


def positional_records(source: str) -> list[str]:
    """The dataclasses of more than three init fields in ``source`` that are not keyword-only."""
    found = []
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        for deco in cls.decorator_list:
            text = ast.unparse(deco)
            if text.split("(")[0].split(".")[-1] == "dataclass" and "kw_only=True" not in text \
                    and len(init_fields(cls)) > 3:
                found.append(cls.name)
    return found


def test_every_record_of_more_than_three_fields_is_keyword_only():
    offenders = [f"{path.relative_to(ROOT.parent)}: {name}" for path in sorted(ROOT.rglob("*.py"))
                 for name in positional_records(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_check_finds_a_positional_record_and_counts_only_init_fields():
    source = '''
from dataclasses import dataclass, field
from typing import ClassVar

@dataclass(frozen=True)
class Wide:
    a: int
    b: int
    c: int
    d: int

@dataclass(frozen=True, kw_only=True)
class Named:
    a: int
    b: int
    c: int
    d: int

@dataclass
class Narrow:
    a: int
    b: int
    c: int
    d: int = field(init=False)
    E: ClassVar[int] = 0
'''
    assert positional_records(source) == ["Wide"]
