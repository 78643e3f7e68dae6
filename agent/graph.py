"""Wiring only: localize → plan → reproduce → route → infill → act → verify →
advance | resample | escalate | finish (infill may end a step itself)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from tiercode.agent import infill, nodes, planning, reproduction
from tiercode.agent.context import RunContext
from tiercode.agent.state import AgentState


def build(checkpointer: Any = None) -> Any:
    graph = StateGraph(AgentState, context_schema=RunContext)
    graph.add_node("localize", planning.localize)
    graph.add_node("plan", planning.plan)
    graph.add_node("reproduce", reproduction.reproduce)
    graph.add_node("route", nodes.route)
    graph.add_node("infill", infill.infill)
    graph.add_node("act", nodes.act)
    graph.add_node("verify", nodes.verify)
    graph.add_node("advance", nodes.advance)
    graph.add_node("resample", nodes.resample)
    graph.add_node("escalate", nodes.escalate)
    graph.add_node("finish", nodes.finish)
    graph.add_edge(START, "localize")
    graph.add_edge("localize", "plan")
    graph.add_edge("plan", "reproduce")
    graph.add_edge("reproduce", "route")
    graph.add_edge("route", "infill")
    graph.add_conditional_edges("infill", infill.after_infill, ["act", "advance", "finish"])
    graph.add_edge("act", "verify")
    graph.add_conditional_edges(
        "verify", nodes.after_verify, ["advance", "resample", "escalate", "finish"]
    )
    graph.add_edge("advance", "route")
    graph.add_edge("resample", "route")
    graph.add_edge("escalate", "route")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=checkpointer)
