"""The model side of the agent: the `ChatModel` protocol and its local, cloud and scripted
implementations, the model catalog, the machine's capacity (`device`), endpoint presets
(`providers`), JSON reply modes (`structured`) and the embedded cloud stand-in.

Nothing here knows the graph: these modules import only `agent.state` and the tools.
"""
