"""Inline SVG plots for the evidence dossier: no script, no external file, no font download.

Each function returns one <svg> element as a string; colours come from a fixed palette so the
page is the same from run to run.
"""
from __future__ import annotations

from html import escape

PALETTE = ("#1f6f8b", "#e07a1f", "#3a9d4f", "#b23a48", "#6a4c93", "#8a8a8a")


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** (len(str(int(v))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def _fmt(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k"
    return f"{v:g}" if v != int(v) else f"{int(v)}"


def line_chart(title: str, labels: list[str], series: list[tuple[str, list]], width=720, height=300,
               y_label: str = "", right: tuple[str, list] | None = None) -> str:
    """Lines over a categorical x axis (`labels`); `series` = [(name, values)], None = no point.
    `right`: one more series on its own right-hand axis (e.g. bytes beside lines)."""
    left_pad, right_pad, top, bottom = 64, 64 if right else 20, 34, 70
    pw, ph = width - left_pad - right_pad, height - top - bottom
    n = max(len(labels), 1)
    ymax = _nice_max(max([v for _, vals in series for v in vals if v is not None] or [1]))
    x = lambda i: left_pad + (pw * (i + 0.5) / n)
    y = lambda v, top_v=ymax: top + ph - ph * v / top_v
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>']
    for k in range(5):
        v = ymax * k / 4
        out.append(f'<line x1="{left_pad}" x2="{left_pad + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left_pad - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    if y_label:
        out.append(f'<text x="14" y="{top + ph / 2}" transform="rotate(-90 14 {top + ph / 2})" text-anchor="middle">'
                   f'{escape(y_label)}</text>')
    every = max(1, -(-n // 14))  # at most ~14 labels on the axis
    for i, lab in enumerate(labels):
        if i % every and i != n - 1:
            continue
        out.append(f'<text x="{x(i):.1f}" y="{top + ph + 12}" text-anchor="end" '
                   f'transform="rotate(-40 {x(i):.1f} {top + ph + 12})">{escape(lab)}</text>')
    all_series = list(series) + ([right] if right else [])
    rmax = _nice_max(max([v for v in right[1] if v is not None] or [1])) if right else 1
    for si, (name, vals) in enumerate(all_series):
        colour = PALETTE[si % len(PALETTE)]
        scale = rmax if right and si == len(all_series) - 1 else ymax
        pts = [(x(i), y(v, scale)) for i, v in enumerate(vals) if v is not None]
        dash = ' stroke-dasharray="5 3"' if right and si == len(all_series) - 1 else ""
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="'
                       + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        for (a, b), v in zip(pts, [v for v in vals if v is not None]):
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"><title>{escape(name)}: {_fmt(v)}</title></circle>')
        out.append(f'<rect x="{left_pad + 8 + 150 * si}" y="24" width="10" height="3" fill="{colour}"/>'
                   f'<text x="{left_pad + 22 + 150 * si}" y="29">{escape(name)}</text>')
    if right:
        for k in range(5):
            v = rmax * k / 4
            out.append(f'<text x="{left_pad + pw + 6}" y="{y(v, rmax) + 4:.1f}">{_fmt(v)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(title: str, rows: list[tuple[str, float]], width=720, unit: str = "", marks: dict | None = None,
              bar_height=18) -> str:
    """Horizontal bars, one per (label, value); `marks` = {label: [(name, value)]} draws ticks
    (e.g. a floor or a peer's figure) on that row."""
    marks = marks or {}
    label_w, pad, top = 230, 70, 28
    height = top + len(rows) * (bar_height + 8) + 24
    vmax = _nice_max(max([v for _, v in rows] + [m for ms in marks.values() for _, m in ms] + [1]))
    pw = width - label_w - pad
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, v) in enumerate(rows):
        yy = top + i * (bar_height + 8)
        w = pw * v / vmax
        out.append(f'<text x="{label_w - 6}" y="{yy + bar_height - 5}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" height="{bar_height}" fill="{PALETTE[0]}">'
                   f'<title>{escape(label)}: {_fmt(v)}{escape(unit)}</title></rect>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{yy + bar_height - 5}">{_fmt(v)}{escape(unit)}</text>')
        for k, (name, m) in enumerate(marks.get(label, [])):
            mx = label_w + pw * m / vmax
            colour = PALETTE[(k + 1) % len(PALETTE)]
            out.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{yy - 2}" y2="{yy + bar_height + 2}" stroke="{colour}" '
                       f'stroke-width="3"><title>{escape(name)}: {_fmt(m)}</title></line>')
    out.append("</svg>")
    return "".join(out)


def stacked_bar(title: str, parts: list[tuple[str, float]], width=720, unit: str = "") -> str:
    """One bar split into parts (e.g. lines per component), with a legend."""
    total = sum(v for _, v in parts) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="70" viewBox="0 0 {width} 70" role="img" '
           f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>']
    x0 = 10.0
    legend_w = (width - 20) / max(len(parts), 1)
    for i, (name, v) in enumerate(parts):
        w = (width - 20) * v / total
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x0:.1f}" y="22" width="{w:.1f}" height="20" fill="{colour}">'
                   f'<title>{escape(name)}: {_fmt(v)}{escape(unit)}</title></rect>')
        lx = 10 + i * legend_w
        out.append(f'<rect x="{lx:.1f}" y="50" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{lx + 14:.1f}" y="59">{escape(name)} {_fmt(v)}{escape(unit)} ({100 * v / total:.0f} %)</text>')
        x0 += w
    out.append("</svg>")
    return "".join(out)
