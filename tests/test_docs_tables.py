"""The documentation's tables of augmentation types and animal types are those the registries make."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightscan_common.dsp.animals import presets_table_markdown, ranges_table_markdown
from nightscan_common.dsp.augmentations import augmentation_table_markdown

#: The one place that names the documentation file holding the generated tables.
DOC = Path(__file__).resolve().parents[1] / "DOCS_h21.md"


@pytest.mark.parametrize("table", [augmentation_table_markdown, ranges_table_markdown,
                                   presets_table_markdown])
def test_the_documented_table_is_the_registrys(table):
    assert table() in DOC.read_text(encoding="utf-8")
