"""The graph's shape is part of the design: `docs/graph.mmd` is its mermaid diagram, drawn
by LangGraph from the compiled graph, and any change to nodes or edges shows up here
(regenerate with the command in the README's "How a task runs")."""

from __future__ import annotations

from pathlib import Path

from tiercode.agent import graph

DIAGRAM = Path(__file__).resolve().parents[1] / "docs" / "graph.mmd"


def test_the_graph_is_the_committed_diagram() -> None:
    assert graph.build(None).get_graph().draw_mermaid() == DIAGRAM.read_text()
