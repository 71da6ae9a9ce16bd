"""The live side of `Agent.listen`: capture, barge-in, queued turns, captions, speech out.

Internal: the modules here are used by `voxagent.agent`; their names may change between
releases. `session` (one listen call's state machine), `parts` (its host protocol, options,
queue and event stream), `captions` (live captions feeding a realtime transcriber), `replies`
(spoken yes/no confirmations), `speech_out` (answers spoken sentence by sentence).
"""
