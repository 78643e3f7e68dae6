"""The `tiercode` command: the composition root over the agent, the TUI and the evals.

`main` builds the app and registers every command group (setup, usage, report, evals);
nothing below this package imports it.
"""
