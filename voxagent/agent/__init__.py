"""`Agent`: a Voxtral voice agent with typed tools and a multi-turn conversation.

The package holds the agent and its parts, each in a module of its own: `agent` (the public
class), `turns` (the turn runner: lock, loop, error contract), `speech` (speech out around a
turn), `listen` (listen sessions run in the agent's task group), `model` (opening the model or
a managed server), `transcripts` (voice messages transcribed ahead of compaction).
"""

from voxagent.agent.agent import Agent, Speaker, TurnResult

__all__ = ["Agent", "Speaker", "TurnResult"]
