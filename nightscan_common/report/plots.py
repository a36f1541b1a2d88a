"""The report's figures, drawn with matplotlib (Agg) from the record alone, as PNG bytes.

Colours are the Okabe-Ito palette, told apart with colour blindness; short classes are
also hatched, so that they stand out in grey too. Bars are horizontal so that 40 class
names stay readable; a figure shows at most ``max_classes`` classes.
"""

from __future__ import annotations

import io
import math
from types import ModuleType
from typing import TYPE_CHECKING

from .record import Augmentations, ClassBalance, Histogram, Inputs, Splits

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
ORIGINAL, AUGMENTED, SHORT = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[5]
SPLIT_COLOURS = OKABE_ITO[:3]
DPI = 100
#: classes per bar chart; more are summarised by the tables
MAX_CLASSES = 40


def label_text(name: str) -> str:
    """``name`` as matplotlib shows it verbatim: every ``$`` escaped, so that a class folder
    named like mathtext (``$\\foo$``, ``a$x^2$b``) is drawn as its name, never parsed as a
    formula. Every text of the figures that comes from the data goes through it."""
    return str(name).replace("$", r"\$")
def _pyplot() -> ModuleType:
    """matplotlib's pyplot on the Agg back end, imported on first use: only a report draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def _png(fig: plt.Figure) -> bytes:
    """The figure as PNG bytes, without the software tag (same inputs, same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def _height(n: int) -> float:
    return 1.4 + 0.26 * max(n, 3)


def balance_classes(classes: list[ClassBalance], limit: int) -> list[ClassBalance]:
    """The classes a balance chart shows: the shortest first, then the fewest originals found."""
    ranked = sorted(classes, key=lambda c: (-c.short_by, c.originals_found, c.name))[:limit]
    return sorted(ranked, key=lambda c: c.name)


def balance(classes: list[ClassBalance], *, target: int, limit: int = MAX_CLASSES) -> bytes:
    """Per class: originals kept and augmentations stacked, the target, and the short ones marked."""
    shown = balance_classes(classes, limit)[::-1]  # matplotlib draws the first bar at the bottom
    fig, ax = _pyplot().subplots(figsize=(9, _height(len(shown))), layout="constrained")
    y = range(len(shown))
    ax.barh(y, [c.originals_kept for c in shown], color=ORIGINAL, label="originals kept")
    ax.barh(y, [c.augmented for c in shown], left=[c.originals_kept for c in shown], color=AUGMENTED,
            label="augmented", hatch=["//" if c.short_by else "" for c in shown],
            edgecolor=[SHORT if c.short_by else AUGMENTED for c in shown])
    ax.axvline(target, color="black", linestyle="--", linewidth=1, label=f"target ({target})")
    for i, c in enumerate(shown):
        note = f"found {c.originals_found}"
        if c.originals_kept < c.originals_found:
            note += f", kept {c.originals_kept}"
        if c.short_by:
            note += f": SHORT by {c.short_by}"
        ax.text(c.total + target * 0.01, i, note, va="center", fontsize=8,
                color=SHORT if c.short_by else "black", fontweight="bold" if c.short_by else "normal")
    ax.set_yticks(list(y), [label_text(c.name) for c in shown], fontsize=8)
    for label, c in zip(ax.get_yticklabels(), shown, strict=True):
        if c.short_by:
            label.set_color(SHORT)
            label.set_fontweight("bold")
    ax.set_xlim(0, max([target, *(c.total for c in shown)]) * 1.35)
    ax.set_xlabel("samples per class (files)")
    title = "Balance: samples per class after step 1"
    if len(classes) > len(shown):
        title += f" ({len(shown)} of {len(classes)} classes: the shortest)"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return _png(fig)


def splits(record: Splits, *, limit: int = MAX_CLASSES) -> bytes:
    """Per class, the share of samples in each split against the ratios (dotted lines)."""
    ranked = sorted(record.classes, key=lambda c: (-max(abs(d) for d in c.deviation), c.name))[:limit]
    shown = sorted(ranked, key=lambda c: c.name)[::-1]
    fig, ax = _pyplot().subplots(figsize=(9, _height(len(shown))), layout="constrained")
    left = [0.0] * len(shown)
    for i, (name, colour) in enumerate(zip(record.splits, SPLIT_COLOURS, strict=True)):
        shares = [c.samples[i] / max(1, sum(c.samples)) for c in shown]
        ax.barh(range(len(shown)), shares, left=left, color=colour, label=label_text(name))
        left = [a + b for a, b in zip(left, shares, strict=True)]
    edge = 0.0
    for r in record.ratios[:-1]:
        edge += r
        if not math.isnan(edge):
            ax.axvline(edge, color="black", linestyle=":", linewidth=1)
    ax.set_yticks(range(len(shown)), [label_text(c.name) for c in shown], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the class's samples (dotted: the ratios asked for)")
    title = "Splits: samples per split"
    if len(record.classes) > len(shown):
        title += f" ({len(shown)} of {len(record.classes)} classes: the largest deviations)"
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return _png(fig)


def inputs(record: Inputs) -> bytes:
    """Durations, sample rates, padding and (when recorded) levels of what went in."""
    panels = 3 + len(record.levels)
    fig, axes = _pyplot().subplots(1, panels, figsize=(3.4 * panels, 3.0), layout="constrained")
    ax = axes[0]
    if record.duration is not None:
        _bars(ax, record.duration, ORIGINAL)
        ax.axvline(record.window_seconds, color="black", linestyle="--", linewidth=1,
                   label=f"window ({record.window_seconds:g} s)")
        ax.legend(fontsize=8)
    ax.set_xlabel("duration of the originals (s)")
    ax.set_ylabel("originals")
    ax = axes[1]
    rates = list(record.sample_rates)
    ax.bar(range(len(rates)), list(record.sample_rates.values()), color=ORIGINAL)
    ax.set_xticks(range(len(rates)), [f"{int(r) / 1000:g}k" for r in rates], fontsize=8, rotation=45)
    ax.set_xlabel("sample rate (Hz)")
    ax.set_ylabel("originals")
    ax = axes[2]
    if record.padding is not None:
        _bars(ax, record.padding, AUGMENTED)
    ax.set_xlabel("share of the window that is padding")
    ax.set_ylabel(f"samples ({record.padded_windows} padded)")
    for ax, h in zip(axes[3:], record.levels, strict=True):
        _bars(ax, h, OKABE_ITO[2])
        ax.set_xlabel(label_text(f"{h.label} ({h.unit})"))
        ax.set_ylabel("originals")
    return _png(fig)


def augmentations(record: Augmentations) -> bytes:
    """Counts per augmentation type, then one histogram per recorded parameter and type."""
    panels = 1 + len(record.params)
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig, axes = _pyplot().subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), layout="constrained",
                             squeeze=False)
    flat = [a for row in axes for a in row]
    ax = flat[0]
    totals = [sum(record.counts[t].values()) for t in record.types]
    ax.bar(range(len(record.types)), totals, color=AUGMENTED)
    ax.set_xticks(range(len(record.types)), [label_text(t) for t in record.types], fontsize=8, rotation=30)
    ax.set_ylabel("augmented files")
    ax.set_title("per type", fontsize=9)
    colour = {t: OKABE_ITO[2 + i % 5] for i, t in enumerate(record.types)}
    for ax, h in zip(flat[1:], record.params, strict=False):
        _bars(ax, h, colour.get(h.label.split(":", 1)[0], OKABE_ITO[4]))
        ax.set_title(label_text(h.label), fontsize=9)
        ax.set_xlabel(label_text(h.unit or "value"))
        ax.set_ylabel("files")
    for ax in flat[panels:]:
        ax.set_visible(False)
    return _png(fig)


def _bars(ax: plt.Axes, h: Histogram, colour: str) -> None:
    widths = [b - a for a, b in zip(h.edges, h.edges[1:], strict=False)]
    ax.bar(h.edges[:-1], h.counts, width=widths, align="edge", color=colour, edgecolor="white",
           linewidth=0.5)
