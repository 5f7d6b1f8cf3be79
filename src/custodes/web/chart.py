"""A horizontal bar chart as inline SVG, drawn on the server.

No script and no inline style: the Content Security Policy forbids both, and a chart of a dozen
bars needs neither. Colours come from the stylesheet (classes), the text is real text (readable
by screen readers and searchable), and the figure carries a title and a description.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

ROW = 30
LABEL_WIDTH = 270
BAR_WIDTH = 300
COUNT_WIDTH = 60


def bar_chart(rows: list[tuple[str, int]], title: str, empty: str = "Nothing yet.") -> Markup:
    """Bars for ``(label, count)`` rows, longest first as given; ``empty`` when there are none."""
    if not rows:
        return Markup('<p class="empty">{}</p>').format(empty)
    top = max(count for _, count in rows) or 1
    height = ROW * len(rows) + 8
    width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">'
        + escape("; ".join(f"{label}: {count}" for label, count in rows))
        + "</desc>",
    ]
    for index, (label, count) in enumerate(rows):
        y = 4 + index * ROW
        length = max(2, round(BAR_WIDTH * count / top))
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + 20}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" '
            f'height="{ROW - 8}" rx="2"></rect>'
            f'<text class="chart-count" x="{LABEL_WIDTH + length + 6}" y="{y + 20}">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
