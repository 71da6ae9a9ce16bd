"""The conversation: turns of audio, text and tool calls, rendered into Voxtral-valid requests.

Renders respect Voxtral's message rules, an audio-item limit and a token budget (compacting older
audio to transcripts, then dropping the oldest turns), and conversations save to and load from
one JSON file.
"""

from voxagent.conversation.budget import (
    Budget,
    TokenCounter,
    audio_tokens,
    estimate_tokens,
    tekken_counter,
)
from voxagent.conversation.history import Conversation
from voxagent.conversation.messages import (
    EMPTY_RESULT_TEXT,
    MISSING_RESULT_TEXT,
    UNTRANSCRIBED_TEXT,
    VOICE_PREFIX,
)
from voxagent.conversation.snapshot import ConversationSnapshot
from voxagent.conversation.turns import (
    AssistantTurn,
    ToolResultTurn,
    Turn,
    UserTurn,
    is_valid_call_id,
)

__all__ = [
    "EMPTY_RESULT_TEXT",
    "MISSING_RESULT_TEXT",
    "UNTRANSCRIBED_TEXT",
    "VOICE_PREFIX",
    "AssistantTurn",
    "Budget",
    "Conversation",
    "ConversationSnapshot",
    "TokenCounter",
    "ToolResultTurn",
    "Turn",
    "UserTurn",
    "audio_tokens",
    "estimate_tokens",
    "is_valid_call_id",
    "tekken_counter",
]
