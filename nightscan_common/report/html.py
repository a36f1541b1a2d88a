"""``report.html``: the record rendered as one self-contained page (no script, no network).

Figures are embedded PNG data URIs, spectrograms JPEG and excerpts WAV data URIs. Long
tables fold (``<details>``) and list at most ``MAX_ROWS`` rows; ``report.json`` has all.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from ..reports.outcomes import grouped
from .listen import Media
from .record import Annotations, Listen, Report, Sample, Span, Timeline

#: rows a table shows before it folds, and at most
FOLD_ROWS = 30
MAX_ROWS = 2000
#: short classes the summary line names
SUMMARY_NAMES = 10
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.8em;border-bottom:1px solid #ccc}
#summary{font-size:1.15em;background:#f3f3f3;padding:.7em 1em;border-left:6px solid #0072B2}
.bad{color:#D55E00;font-weight:bold}.good{color:#009E73;font-weight:bold}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:2px 7px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.short td{background:#fbe3d6}img.fig{max-width:100%}
.sets{display:flex;gap:18px;flex-wrap:wrap}.set{display:flex;gap:6px;margin:.2em 0 .6em;flex-wrap:wrap}
.card{border:1px solid #ccc;padding:4px;width:180px;font-size:11px;overflow-wrap:anywhere;
box-sizing:border-box}
.card.orig{border:2px solid #0072B2}.card b,.card code{display:block;min-height:2.8em}
.tile{display:grid;grid-template-columns:30px 1fr;grid-template-rows:80px auto auto;font-size:9px}
.yaxis{display:flex;flex-direction:column;justify-content:space-between;text-align:right;padding-right:2px}
.plot{position:relative;height:80px}.plot img{width:100%;height:80px;display:block}
.xaxis{grid-column:2;display:flex;justify-content:space-between}
.xtitle{grid-column:2;text-align:center}.ytitle{grid-row:2;text-align:right;padding-right:2px}
.pad,.nyq,.sw{position:absolute;
background:repeating-linear-gradient(45deg,rgba(255,255,255,.55) 0 3px,transparent 3px 6px)}
.pad{top:0;bottom:0;right:0;outline:1px dashed #fff}.nyq{left:0;right:0;top:0;outline:1px dashed #56B4E9;
background:repeating-linear-gradient(-45deg,rgba(86,180,233,.6) 0 3px,transparent 3px 6px)}
.sw{position:relative;display:inline-block;width:22px;height:12px;background-color:#000;vertical-align:middle}
.sw.nyq{position:relative;display:inline-block;width:22px;height:12px;outline:none}
.card audio{width:100%;height:32px}code{font-size:12px}
.scroll{max-width:100%;overflow-x:auto}img{max-width:100%}
svg.timeline{width:100%;max-width:1000px;height:auto;display:block}svg.timeline text{font-size:11px}
@media (max-width:600px){body{margin:.5em auto;padding:0 .4em}.card{width:100%}.sets,.set{display:block}}
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, name: str,
           classes: Sequence[str] = ()) -> str:
    rows = list(rows)
    body = []
    for i, row in enumerate(rows[:MAX_ROWS]):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    table = ('<div class="scroll"><table><tr>' + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>"
             + "".join(body) + "</table></div>")
    if len(rows) > MAX_ROWS:
        table += f"<p>{MAX_ROWS} of {len(rows)} rows shown; report.json lists all.</p>"
    if len(rows) <= FOLD_ROWS:
        return table
    return f"<details><summary>{escape(name)}: {len(rows)} rows (click to unfold)</summary>{table}</details>"


def _figure(png: bytes, alt: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img class="fig" src="{uri}" alt="{escape(alt)}">'


def _summary(report: Report) -> str:
    s = report.summary

    def item(key: str, value: object, text: str, *, bad: bool | None = None) -> str:
        css = "" if bad is None else ' class="bad"' if bad else ' class="good"'
        return f'<span data-key="{key}"{css}>{escape(str(value))}</span> {escape(text)}'

    short = ", ".join(s.short_classes[:SUMMARY_NAMES]) or "none"
    if len(s.short_classes) > SUMMARY_NAMES:
        short += f" and {len(s.short_classes) - SUMMARY_NAMES} more"
    steps = "; ".join(f"{st.step} exit {'-' if st.status is None else st.status}"
                      + (f" ({st.why})" if st.status and st.why else "") for st in s.steps)
    leaks = s.leaking_groups + s.cross_class_leaking
    parts = [item("classes", s.classes, "classes"), item("samples", s.samples, "samples"),
             item("target", s.target, "target per class"),
             item("short", len(s.short_classes), "short of it:", bad=bool(s.short_classes))
             + f' <b class="{"bad" if s.short_classes else "good"}" id="short-classes">{escape(short)}</b>',
             item("skipped", s.skipped, "skipped files", bad=bool(s.skipped)),
             item("leaking", leaks, "leaking groups or recordings", bad=bool(leaks)),
             item("cross_class", s.cross_class, "recording(s) in two classes", bad=bool(s.cross_class)),
             item("duplicates", s.duplicates, "duplicates", bad=bool(s.duplicates)),
             f'<span data-key="steps" class="{"bad" if any(st.status for st in s.steps) else "good"}">'
             f"{escape(steps)}</span>"]
    return '<p id="summary">' + " · ".join(parts) + "</p>"


def _cross_class(report: Report) -> str:
    """The leakage section's recordings filed under two classes or more, with each copy's split."""
    sets = report.splits.cross_class
    if not sets:
        return ""
    items = "".join(
        f'<li class="{"bad" if c.leaks else ""}">'
        + escape(" = ".join(f"{n} ({s or 'not in the index'})"
                            for n, s in zip(c.files, c.splits, strict=True)))
        + (": in two splits, so the model is tested on what it trained on" if c.leaks else "") + "</li>"
        for c in sets)
    return (f'<div id="cross-class"><p class="bad">{len(sets)} recording(s) filed under two classes or more '
            "(one recording with two labels is usually a mistake):</p><ul>" + items + "</ul></div>")


def _steps(report: Report) -> str:
    """Each step's exit status, why, and its warnings (grouped), as the step recorded them."""
    rows = [[st.step, "-" if st.status is None else st.status, st.why or "",
             "the step's record" if st.recorded else "its outputs (no record of the step)"]
            for st in report.summary.steps]
    out = [_table(["step", "exit status", "why", "read from"], rows, name="steps")]
    for st in report.summary.steps:
        if st.warnings:
            out.append(f"<h3>{escape(st.step)}: {len(st.warnings)} warning(s)</h3><ul>"
                       + "".join(f"<li>{escape(w)}</li>" for w in grouped(st.warnings)) + "</ul>")
    if report.spectrogram_warnings:
        out.append(f"<h3>step 3: warnings.json ({len(report.spectrogram_warnings)} file(s))</h3>")
        out.append(_table(["file", "kind", "warning"],
                          ([w.get("path", ""), w.get("kind", ""), w.get("warning", "")]
                           for w in report.spectrogram_warnings), name="warnings.json"))
    return '<div id="steps">' + "".join(out) + "</div>"


def _params(params: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in sorted(params.items())) or "no parameters recorded"


def _hz(value: float) -> str:
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.0f}"


def _tile(sample: Sample, media: Media, listen: Listen, name: str) -> str:
    """The spectrogram with its axes (Hz on a mel scale, s) and what is not sound marked."""
    marks = ""
    if sample.padding_from_s is not None and listen.window_seconds:
        left = 100 * sample.padding_from_s / listen.window_seconds
        marks += (f'<div class="pad" style="left:{left:.1f}%" title="padding: the clip ends at '
                  f'{sample.padding_from_s:.2f} s"></div>')
    if sample.nyquist_at is not None:
        marks += (f'<div class="nyq" style="height:{100 * (1 - sample.nyquist_at):.1f}%" title="above the '
                  f'recording\'s Nyquist frequency ({sample.nyquist_hz:g} Hz): nothing recorded"></div>')
    half = listen.window_seconds / 2
    return ('<div class="tile"><div class="yaxis">'
            + "".join(f"<span>{_hz(f)}</span>" for f in (listen.fmax, listen.fmid, listen.fmin))
            + f'</div><div class="plot"><img src="{media.image}" alt="spectrogram of {escape(name)}">{marks}'
            + '</div><div class="ytitle">Hz</div><div class="xaxis">'
            + "".join(f"<span>{t:g}</span>" for t in (0, half, listen.window_seconds))
            + '</div><div class="xtitle">s</div></div>')


def _card(sample: Sample, media: Media | None, listen: Listen, *, original: bool) -> str:
    name = sample.path.split("/", 1)[1]
    head = "original" if original else f"{sample.augmentation}: {_params(sample.params)}"
    if media is None:
        body = f"<p>not readable: {escape(sample.error)}</p>"
    else:
        body = (_tile(sample, media, listen, name)
                + f'<audio controls preload="auto" src="{media.audio}"></audio>')
        if sample.time_expansion > 1:
            body += (f'<span class="expanded">played x{sample.time_expansion} slower (time expansion): '
                     "ultrasound made audible</span>")
    where = f"{sample.split or 'not in the index'}; spectrogram {sample.spectrogram or '-'}"
    if sample.excerpt_start_s is not None:
        where += f"; excerpt from {sample.excerpt_start_s:g} s"
    css = "card orig" if original else "card"
    return (f'<div class="{css}"><b>{escape(head)}</b><br><code>{escape(name)}</code>{body}'
            f"<br>{escape(where)}</div>")


def _band_warnings(report: Report) -> str:
    """The classes that lose most of their energy to step 3's band, with the remedy."""
    lost = [b.warning for b in report.bands if b.warning]
    if not lost:
        return ""
    return ('<div id="band-warnings"><p class="bad">Classes that the band of step 3 does not hear '
            "(their spectrograms hold little of the animal):</p><ul>"
            + "".join(f"<li>{escape(w)}</li>" for w in lost) + "</ul></div>")


#: colours of the classes on the timelines (Okabe-Ito, colour-blind safe), in class order
CLASS_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#000000")
#: fill of a clip by its split; a clip not in the index is white
SPLIT_COLOURS = {"train": "#444444", "val": "#999999", "test": "#d9d9d9"}
#: the timeline's drawing: width, left margin for the lane names, lanes' tops and height
WIDTH, LEFT, RIGHT = 1000, 60, 10
EVENTS_Y, CLIPS_Y, LANE = 6, 30, 18


def _ticks(seconds: float) -> list[float]:
    """About six round times (1, 2, 5 x 10^k s) from 0 to ``seconds``."""
    step = 1.0
    for k in range(-3, 7):
        for m in (1, 2, 5):
            step = m * 10.0 ** k
            if seconds / step <= 6:
                return [i * step for i in range(int(seconds / step + 1e-9) + 1)]
    return [0.0, seconds]


def _rect(span: Span, x, y: int, fill: str, data: str, title: str) -> str:
    left, right = x(span.start), x(span.end)
    return (f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1.0):.1f}" height="{LANE}" '
            f'fill="{fill}" stroke="#fff" stroke-width="0.5" {data}><title>{escape(title)}</title></rect>')


def _timeline_svg(t: Timeline, colour: Mapping[str, str]) -> str:
    """One recording as an inline SVG: its events by class above, its clips by split below, seconds."""
    seconds = t.seconds or 1.0

    def x(at: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * at / seconds

    axis = CLIPS_Y + LANE + 4
    parts = [f'<svg class="timeline" viewBox="0 0 {WIDTH} {axis + 18}" role="img" '
             f'aria-label="timeline of {escape(t.recording)}">',
             f'<text x="0" y="{EVENTS_Y + 13}">events</text><text x="0" y="{CLIPS_Y + 13}">clips</text>',
             f'<line x1="{LEFT}" y1="{axis}" x2="{WIDTH - RIGHT}" y2="{axis}" stroke="#888"/>']
    for e in t.events:
        parts.append(_rect(e, x, EVENTS_Y, colour.get(e.cls, "#000"), f'data-class="{escape(e.cls)}"',
                           f"{e.cls}: {e.start:g}-{e.end:g} s ({e.file})"))
    for c in t.clips:
        parts.append(_rect(c, x, CLIPS_Y, SPLIT_COLOURS.get(c.split or "", "#fff"),
                           f'data-split="{escape(c.split or "")}" data-class="{escape(c.cls)}"',
                           f"{c.file}: {c.start:g}-{c.end:g} s, {c.split or 'not in the index'}"))
    for tick in _ticks(seconds):
        parts.append(f'<text x="{x(tick):.1f}" y="{axis + 14}" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{axis + 14}" text-anchor="end">s</text></svg>')
    return "".join(parts)


def _annotations(a: Annotations) -> str:
    """Per table its rows and their fates, per class its events and clips, a timeline per recording."""
    colour = {c.name: CLASS_COLOURS[i % len(CLASS_COLOURS)] for i, c in enumerate(a.classes)}
    out = ["<p>What step 1 read from the tables (<code>annotations.json</code>): per table, the rows read "
           "and what became of them; per class, the events (rows a clip covers), the clips planned, "
           "those the balancing kept, and the recordings they come from.</p>",
           '<div id="annotation-tables">' + _table(
               ["table", "format", "recording", "rows", *a.fates],
               ([t.table, t.format, t.recording or "-", t.rows, *(t.fates.get(f, 0) for f in a.fates)]
                for t in a.tables), name="tables") + "</div>",
           '<div id="annotation-classes">' + _table(
               ["class", "events", "clips", "kept", "recordings"],
               ([c.name, c.events, c.clips, c.kept, c.recordings] for c in a.classes), name="classes")
           + "</div>",
           "<p>Timelines: each recording in seconds; above, the events its clips hold, coloured by class ("
           + ", ".join(f'<span class="sw" style="background:{colour[c.name]}"></span> {escape(c.name)}'
                       for c in a.classes)
           + "); below, the clips taken, by split ("
           + ", ".join(f'<span class="sw" style="background:{v};outline:1px solid #888"></span> {k}'
                       for k, v in SPLIT_COLOURS.items())
           + '; white: not in the index). All clips of a recording must be in one split.</p>']
    if a.recordings > len(a.timelines):
        out.append(f"<p>{len(a.timelines)} of {a.recordings} recordings drawn (the first by path); "
                   f"{a.recordings - len(a.timelines)} left out.</p>")
    for t in a.timelines:
        splits = t.splits
        where = (f'<span class="bad">in {len(splits)} splits: {escape(", ".join(splits))}</span>'
                 if len(splits) > 1 else escape(f"in {splits[0]}" if splits else "not in the index"))
        out.append(f'<div class="recording" data-recording="{escape(t.recording)}"><h3>'
                   f"{escape(t.recording)}</h3><p>{len(t.clips)} clip(s), {len(t.events)} event(s); "
                   f"{where}</p>{_timeline_svg(t, colour)}</div>")
    return '<div id="annotations">' + "".join(out) + "</div>"


def render(report: Report, figures: Mapping[str, bytes], media: Mapping[str, Media]) -> str:
    """The page, from the record, its figures (PNG bytes by name) and the grid's media by path."""
    s, sp, inp, aug, ls = report.summary, report.splits, report.inputs, report.augmentations, report.listen
    short = {c.name for c in report.balance if c.short_by}
    band = {b.name: b for b in report.bands}
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           "<title>NightScan dataset report</title>", f"<style>{STYLE}</style></head><body>",
           "<h1>NightScan dataset report</h1>", _summary(report),
           "<h2>What the steps said</h2>", _steps(report)]
    number = iter(range(1, 10))
    out += [f"<h2>{next(number)}. Balance</h2>",
            f"<p>Short of the target ({s.target}): <b>{escape(', '.join(s.short_classes) or 'none')}</b>. "
            "Originals found in the audio root against samples after balancing.</p>",
            _figure(figures["balance"], "balance per class"),
            _table(["class", "originals found", "originals kept", "augmented", "total", "short by",
                    "energy in step 3's band"],
                   ([c.name, c.originals_found, c.originals_kept, c.augmented, c.total, c.short_by,
                     f"{band[c.name].share:.0%}" if c.name in band else "-"]
                    for c in report.balance), name="per class",
                   classes=["short" if c.short_by or (c.name in band and band[c.name].warning) else ""
                            for c in report.balance]),
            _band_warnings(report)]
    leak = "bad" if sp.leaking_groups else "good"
    out += [f"<h2>{next(number)}. Splits</h2>",
            f'<p class="{leak}">Leakage check: <b id="leakage">{sp.leaking_groups}</b> group(s) in more '
            "than one split (must be 0)"
            + (f": {escape(', '.join(sp.leaking_examples))}" if sp.leaking_examples
               else ": no recording and none of its augmentations is in two splits") + ".</p>",
            _cross_class(report),
            "<p>Ratios asked for: "
            + ", ".join(f"{n} {r:g}" for n, r in zip(sp.splits, sp.ratios, strict=True))
            + ". Deviation: samples minus ratio x class total.</p>",
            _figure(figures["splits"], "samples per split"),
            _table(["class", *(f"{n} orig+aug" for n in sp.splits), *(f"{n} groups" for n in sp.splits),
                    *(f"{n} deviation" for n in sp.splits)],
                   ([c.name, *(f"{o}+{a}" for o, a in zip(c.originals, c.augmented, strict=True)),
                     *c.groups, *(f"{d:+g}" for d in c.deviation)] for c in sp.classes), name="per class")]
    out += ["<p>Index checks:</p><ul>" + "".join(f"<li>{escape(w)}</li>" for w in sp.warnings) + "</ul>"
            if sp.warnings else "<p>Index checks: nothing to report.</p>"]
    if report.annotations is not None:
        out += [f'<h2 id="from-tables">{next(number)}. From recordings and tables</h2>',
                _annotations(report.annotations)]
    out += [f"<h2>{next(number)}. What went in</h2>",
            f"<p>{inp.originals} originals; channels: "
            f"{escape(', '.join(f'{k}: {v}' for k, v in inp.channels.items()))}; "
            f"{inp.padded_windows} sample(s) shorter than the {inp.window_seconds:g} s window (padded); "
            + ("levels: not recorded by this pool." if not inp.levels else "levels: below.") + "</p>",
            _figure(figures["inputs"], "durations, sample rates, padding"),
            f"<p>Files left out or flagged: {len(inp.problems)}</p>",
            _table(["kind", "file", "reason"], ([p.kind, p.path, p.reason] for p in inp.problems),
                   name="files") if inp.problems else ""]
    out += [f"<h2>{next(number)}. Augmentations</h2>", _figure(figures["augmentations"], "augmentations"),
            _table(["class", *aug.types],
                   ([c, *(aug.counts[t].get(c, 0) for t in aug.types)]
                    for c in sorted({c for t in aug.types for c in aug.counts[t]})), name="per class")]
    out += [f"<h2>{next(number)}. Listen and look</h2>",
            f"<p>{ls.classes_shown} of {ls.classes_total} classes (short ones first), chosen with seed "
            f"{ls.seed}. Each original (blue frame) beside some of its augmentations: the spectrogram "
            f"step 3 sees, and {ls.excerpt_seconds:g} s of its loudest part at {ls.excerpt_rate} Hz.</p>",
            '<p id="tile-legend">Tiles: frequency up (Hz, mel scale), time across (s, the analysed window). '
            '<span class="sw pad"></span> padding: the clip is shorter than the window, nothing was heard '
            'there. <span class="sw nyq"></span> above the recording\'s Nyquist frequency: its rate cannot '
            "hold these frequencies, nothing was recorded there.</p>"]
    for shown in ls.classes:
        name = shown.name
        out.append(f"<h3>{escape(name)}" + (" (short)" if name in short else "") + '</h3><div class="sets">')
        for st in shown.sets:
            cards = [_card(st.original, media.get(st.original.path), ls, original=True)]
            cards += [_card(a, media.get(a.path), ls, original=False) for a in st.augmentations]
            out.append('<div class="set">' + "".join(cards) + "</div>")
        out.append("</div>")
    st = report.settings
    out += [f'<h2 id="settings">{next(number)}. Settings</h2>',
            f"<p>tool version {escape(st.tool_version)}</p>"]
    for title, values in (("step 1 (pool)", st.step1), ("step 2 (index)", st.step2),
                          ("step 3 (spectrograms)", st.step3),
                          ("checksums of the inputs (sha256)", st.checksums)):
        out.append(f"<h3>{escape(title)}</h3>" + _table(
            ["setting", "value"], ([k, v if isinstance(v, str) else json.dumps(v, sort_keys=True)]
                                   for k, v in sorted(values.items())), name=title))
    out.append("</body></html>\n")
    return "\n".join(out)
