"""The documentation's tables of augmentation types and animal types are those the registries make."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightscan_common.dsp.animals import presets_table_markdown, ranges_table_markdown
from nightscan_common.dsp.augmentations import augmentation_table_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"

#: The one place that says which page of the manual holds each generated table.
PAGE_OF_TABLE = {
    augmentation_table_markdown: DOCS / "step1-pool.md",
    ranges_table_markdown: DOCS / "step1-pool.md",
    presets_table_markdown: DOCS / "step3-spectrograms.md",
}


@pytest.mark.parametrize("table", list(PAGE_OF_TABLE), ids=lambda f: f.__name__)
def test_the_documented_table_is_the_registrys(table):
    assert table() in PAGE_OF_TABLE[table].read_text(encoding="utf-8")
