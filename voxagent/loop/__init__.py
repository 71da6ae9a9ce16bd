"""The agent loop: one user turn, from the first model request to the final answer.

Internal: the modules here are used by `voxagent.agent` and `voxagent.live`; their names may
change between releases. `turn` (the loop), `state` (what a turn needs and produces), `tools`
(a round's tool calls: resolved, approved, run, recorded), `speculation` (a request sent at a
pause, before the end of the turn is decided).
"""
