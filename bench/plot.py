"""docs/benchmark.svg: one small panel per shape, so each is read on its own scale at a glance; within a panel
nbd-streaming's bars stand next to nbdkit's and the bare pipe's. Plain SVG text, standard library only."""
from xml.sax.saxutils import escape

from plan import BARE_PIPE, BASELINE, MEMORY, NULL, STREAMING

COLUMNS, PANEL_W, LABEL_W, BAR_W, BAR_H, GAP = 3, 430, 150, 130, 16, 6
COLORS = {STREAMING: "#1f6fb4", BASELINE: "#9ecae1", NULL: "#7f7f7f", MEMORY: "#b8b8b8", BARE_PIPE: "#2ca02c",
          "tool": "#1f6fb4"}


def svg(rows, extras, facts, settings):
    panels = _panels(rows, f"{settings['image'] >> 20} MiB") + [("memory and start-up", _extra_lines(extras))]
    heights = [40 + len(bars) * (BAR_H + GAP) for _, bars in panels]
    grid = [panels[i:i + COLUMNS] for i in range(0, len(panels), COLUMNS)]
    row_heights = [max(heights[i:i + COLUMNS]) for i in range(0, len(panels), COLUMNS)]
    width, top = COLUMNS * PANEL_W + 20, 70
    height = top + sum(row_heights) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           _text(10, 22, "nbd-streaming beside nbdkit null, nbdkit memory and the bare pipe: MiB/s", 16, "bold"),
           _text(10, 42, f"median of {settings['rounds']} alternating rounds, {settings['stream'] >> 20} MiB "
                         f"streams ({_placement(settings)}); longer bar is faster, whiskers span the slowest to the fastest round; "
                         "blue: nbd-streaming, greys: nbdkit, green: no NBD", 11),
           _text(10, 58, f"{facts['machine']} · {facts['date']} · other processes' CPU share {facts['others']:.0%}"
                         f" · nbd-streaming {facts['versions']['nbd-streaming']}", 10, fill="#555")]
    y = top
    for line, line_height in zip(grid, row_heights):
        for column, (title, bars) in enumerate(line):
            draw = _panel if bars and isinstance(bars[0], tuple) else _text_panel
            out += draw(10 + column * PANEL_W, y, title, bars)
        y += line_height
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _panels(rows, image):
    """(title, [(label, value, value text, colour)]) per shape; the bare pipe joins every panel it is compared in."""
    pipes = {r.contestant: r for r in rows if r.group == "pipe"}
    panels = []
    for group in ("write", "read", "tls"):
        for shape in dict.fromkeys(r.shape for r in rows if r.group == group):
            members = [r for r in rows if (r.group, r.shape) == (group, shape)]
            if shape.startswith("4 KiB"):
                # Small requests are about request rates, which a bare pipe does not have.
                panels.append((f"{group} {shape} (requests/s)", [_bar(r, by_rate=True) for r in members]))
            else:
                panels.append((f"{group} {shape}", [_bar(r) for r in members] + _pipe_bars(members, pipes)))
    copies = [r for r in rows if r.group == "copy"]
    panels.append((f"{image} image through nbd-streaming",
                   [_bar(r, label=f"{r.contestant}, {r.shape.split()[1]}") for r in copies] + _pipe_bars(copies, pipes)))
    return panels


def _pipe_bars(members, pipes):
    names = dict.fromkeys(peer.removeprefix("bare pipe ") for r in members for peer in r.ratios)
    return [_bar(pipes[name], label=f"pipe {name}") for name in names if name in pipes]


def _bar(row, by_rate=False, label=None):
    kind = BARE_PIPE if row.group == "pipe" else "tool" if row.group == "copy" else \
        STREAMING if row.contestant.startswith(STREAMING) else \
        BASELINE if row.contestant.startswith(BASELINE) else \
        NULL if row.contestant.startswith(NULL) else row.contestant
    value = (row.requests_per_s if by_rate else row.mib_per_s) or 0
    if row.mib_per_s is None:
        text = "failed"
    else:
        text = f"{value / 1000:.1f}k req/s" if by_rate else f"{value:,.0f}"
    if kind == STREAMING and NULL in row.ratios:
        text += f"  ({row.ratios[NULL]:.2f}x null)"
    spread = None if by_rate or row.mib_range is None else row.mib_range
    return label or _short(row.contestant), value, text, COLORS[kind], spread


def _short(contestant):
    return contestant.replace(f"{STREAMING}, ", "streaming · ").replace(" reader", "").replace(" feeder", "")


def _panel(x, y, title, bars):
    top = max((max(value, spread[1] if spread else 0) for _, value, _, _, spread in bars), default=0) or 1
    out = [_text(x, y + 14, title, 12, "bold")]
    for index, (label, value, text, colour, spread) in enumerate(bars):
        bar_y = y + 24 + index * (BAR_H + GAP)
        length = BAR_W * value / top
        out.append(_text(x + LABEL_W - 6, bar_y + BAR_H - 4, label, 11, anchor="end"))
        out.append(f'<rect x="{x + LABEL_W}" y="{bar_y}" width="{length:.1f}" height="{BAR_H}" fill="{colour}"/>')
        end = length
        if spread:
            # The slowest to the fastest round, so a noisy median shows as one.
            low, high = (x + LABEL_W + BAR_W * v / top for v in spread)
            middle = bar_y + BAR_H / 2
            out.append(f'<path d="M{low:.1f} {middle}H{high:.1f}M{low:.1f} {middle - 4}v8M{high:.1f} {middle - 4}v8" '
                       'stroke="#000" stroke-width="1" fill="none"/>')
            end = max(end, high - x - LABEL_W)
        out.append(_text(x + LABEL_W + end + 4, bar_y + BAR_H - 4, text, 10))
    return out


def _placement(settings):
    return f"pinned to CPU {settings['cpus']}" if settings["cpus"] else "scheduler's placement"


def _extra_lines(extras):
    lines = []
    rss = extras.get("rss")
    if rss:
        lines += [f"nbd-streaming peak RSS, {rss['bytes'] >> 20} MiB stream,",
                  f"32 MiB x4: {rss['mib']:.1f} MiB (goal ≤ 48 MiB)"]
    for name, (middle, _) in extras.get("startup_ms", {}).items():
        lines.append(f"{name} --run true: {middle:.1f} ms (median)")
    return lines + ["goal for nbd-streaming start-up: < 30 ms"] if lines else ["not measured"]


def _text_panel(x, y, title, lines):
    return [_text(x, y + 14, title, 12, "bold")] + [_text(x + 10, y + 36 + 18 * i, line, 11)
                                                    for i, line in enumerate(lines)]


def _text(x, y, content, size, weight="normal", anchor="start", fill="#000"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{fill}">{escape(content)}</text>')
