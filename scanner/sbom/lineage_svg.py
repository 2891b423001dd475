"""A lineage graph (``lineage_graph``) drawn as inline SVG for the HTML report: rows by
distance from the model, boxes coloured by standing, dotted arrows for detected edges.

No script, no external reference: every text is escaped, and each box's full label is its
``<title>`` (the tooltip) while the box shows it cut to fit.
"""

from __future__ import annotations

from html import escape

from scanner.sbom.lineage_graph import STANDING_STYLES, LineageGraph

BOX_WIDTH = 250
BOX_HEIGHT = 50
GAP_X = 30
GAP_Y = 70
MARGIN = 20
#: Characters shown on a box line (the tooltip has all of it).
BOX_CHARS = 36


def _cut(text: str) -> str:
    return text if len(text) <= BOX_CHARS else text[: BOX_CHARS - 1] + "…"


def lineage_svg(graph: LineageGraph) -> str:
    """The graph as one ``<svg>`` element (empty text for an empty graph)."""
    if not graph.nodes:
        return ""
    depth = graph.depths()
    rows: dict[int, list[str]] = {}
    for node in graph.nodes:
        rows.setdefault(depth.get(node.id, 1), []).append(node.id)
    widest = max(len(ids) for ids in rows.values())
    width = MARGIN * 2 + widest * BOX_WIDTH + (widest - 1) * GAP_X
    height = MARGIN * 2 + len(rows) * BOX_HEIGHT + (len(rows) - 1) * GAP_Y
    place: dict[str, tuple[float, float]] = {}
    for row_number, (_, ids) in enumerate(sorted(rows.items())):
        span = len(ids) * BOX_WIDTH + (len(ids) - 1) * GAP_X
        left = (width - span) / 2
        top = MARGIN + row_number * (BOX_HEIGHT + GAP_Y)
        for index, node_id in enumerate(ids):
            place[node_id] = (left + index * (BOX_WIDTH + GAP_X), top)
    parts = [
        f'<svg class="lineage" role="img" aria-label="lineage graph" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for edge in graph.edges:
        (x1, y1), (x2, y2) = place[edge.src], place[edge.dst]
        start = (x1 + BOX_WIDTH / 2, y1 + BOX_HEIGHT)
        end = (x2 + BOX_WIDTH / 2, y2)
        if y2 <= y1:  # an edge to a row above or beside: from the side
            start, end = (x1 + BOX_WIDTH, y1 + BOX_HEIGHT / 2), (x2, y2 + BOX_HEIGHT / 2)
        dash = ' stroke-dasharray="4 3"' if edge.detected else ""
        label = edge.label + (" (detected)" if edge.detected else "")
        parts.append(
            f'<g class="edge"><line x1="{start[0]:.0f}" y1="{start[1]:.0f}" '
            f'x2="{end[0]:.0f}" y2="{end[1]:.0f}" stroke="#555" stroke-width="1.5"{dash} '
            'marker-end="url(#arrow)"/>'
            f'<text x="{(start[0] + end[0]) / 2 + 4:.0f}" y="{(start[1] + end[1]) / 2:.0f}" '
            f'class="edge-label">{escape(label)}</text></g>'
        )
    for node in graph.nodes:
        x, y = place[node.id]
        fill, stroke, text = STANDING_STYLES[node.standing]
        border = (
            ' stroke-width="3" stroke-dasharray="6 3"' if node.failing else ' stroke-width="1.5"'
        )
        weight = ' font-weight="bold"' if node.is_subject else ""
        parts.append(
            f'<g class="node {node.standing}{" failing" if node.failing else ""}" '
            f'data-node="{node.id}"><title>{escape(node.title)} — {escape(node.origin)}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
            f'fill="{fill}" stroke="{stroke}"{border}/>'
            f'<text x="{x + 10:.0f}" y="{y + 20:.0f}" fill="{text}"{weight}>'
            f"{escape(_cut(node.title))}</text>"
            f'<text x="{x + 10:.0f}" y="{y + 38:.0f}" fill="{text}" class="origin">'
            f"{escape(_cut(node.origin))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
