"""Small charts drawn by the server as SVG: no script, nothing loaded from elsewhere."""

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import mark_safe

from servicing.words import amount as amount_text

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
COLOURS = ("#0d6efd", "#20c997", "#fd7e14", "#6f42c1")


def _money(v: Decimal) -> str:
    return f"{v:,.0f}"


def _frame(labels: list[str], top: Decimal) -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ec"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="#5c6b7a">'
            f"{_money(value)}</text>"
        )
    step = max(1, len(labels) // 8)
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    for i, label in enumerate(labels):
        if i % step == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="10" fill="#5c6b7a">'
                f"{escape(label)}</text>"
            )
    return parts


def _legend(names: list[str]) -> str:
    items = "".join(
        f'<span class="me-3"><span class="swatch swatch-{i}"></span> {escape(name)}</span>'
        for i, name in enumerate(names)
    )
    return f'<div class="small text-muted mt-1">{items}</div>'


def _svg(parts: list[str], title: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def bars(labels: list[str], series: dict[str, list[Decimal]], title: str) -> str:
    """Grouped bars, one group per label."""
    top = max([v for values in series.values() for v in values] + [Decimal(1)])
    parts = _frame(labels, top)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    width = slot * 0.8 / max(1, len(series))
    for s, (name, values) in enumerate(series.items()):
        for i, value in enumerate(values):
            h = float(plot_h * value / top)
            x = LEFT + slot * i + slot * 0.1 + width * s
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[s]}"><title>{escape(name)} {escape(labels[i])}: {amount_text(value)}</title></rect>'
            )
    return mark_safe(f"<div>{_svg(parts, title)}{_legend(list(series))}</div>")  # noqa: S308 (escaped parts)


def lines(labels: list[str], series: dict[str, list[Decimal]], title: str) -> str:
    """One line per series over the labels."""
    top = max([v for values in series.values() for v in values] + [Decimal(1)])
    parts = _frame(labels, top)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    for s, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{LEFT + slot * (i + 0.5):.1f},{TOP + plot_h - float(plot_h * v / top):.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{COLOURS[s]}" stroke-width="2"/>')
        for point in points.split():  # a dot at each value, so that a single month shows too
            x, y = point.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{COLOURS[s]}"/>')
        parts.append(f"<title>{escape(name)}</title>")
    return mark_safe(f"<div>{_svg(parts, title)}{_legend(list(series))}</div>")  # noqa: S308 (escaped parts)
