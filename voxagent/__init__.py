"""voxagent: voice agents on Mistral's audio-native Voxtral models.

Speech goes straight into Voxtral; the model answers or calls typed Python tools; voxagent validates
the arguments, runs the tools and keeps the multi-turn conversation valid.

The heavy parts (httpx, numpy, mistral_common) load on first use, so `import voxagent` stays fast.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

__version__ = "0.1.0"

# A library does not print: without this, Python's last-resort handler writes voxagent's warnings
# (a tool timed out, a caption stream failed) and their tracebacks to the embedding program's
# stderr. Applications see them once they configure logging; the CLI does.
logging.getLogger("voxagent").addHandler(logging.NullHandler())

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "Agent": "voxagent.agent",
    "TurnResult": "voxagent.agent",
    "ApprovalRequest": "voxagent.approval",
    "Denied": "voxagent.approval",
    "TerminalApproval": "voxagent.approval",
    "Conversation": "voxagent.conversation",
    "AudioError": "voxagent.errors",
    "ConfigurationError": "voxagent.errors",
    "ConversationError": "voxagent.errors",
    "ModelError": "voxagent.errors",
    "SpeakerError": "voxagent.errors",
    "ToolError": "voxagent.errors",
    "VoxagentError": "voxagent.errors",
    "AssistantMessage": "voxagent.events",
    "AssistantTextDelta": "voxagent.events",
    "AudioOverflow": "voxagent.events",
    "ConfirmationRequested": "voxagent.events",
    "ErrorEvent": "voxagent.events",
    "Event": "voxagent.events",
    "event_to_dict": "voxagent.events",
    "SpeculationDiscarded": "voxagent.events",
    "SpeculationStarted": "voxagent.events",
    "SpeechEnded": "voxagent.events",
    "SpeechPaused": "voxagent.events",
    "SpeechResumed": "voxagent.events",
    "SpeechStarted": "voxagent.events",
    "ToolCallFinished": "voxagent.events",
    "ToolCallStarted": "voxagent.events",
    "ToolStillRunning": "voxagent.events",
    "TranscriptDelta": "voxagent.events",
    "TranscriptFinal": "voxagent.events",
    "TurnCancelled": "voxagent.events",
    "TurnCompleted": "voxagent.events",
    "TurnStarted": "voxagent.events",
    "RunContext": "voxagent.tools",
    "Tool": "voxagent.tools",
    "tool": "voxagent.tools",
    "ToolResult": "voxagent.tools",
    "ChatModel": "voxagent.interfaces",
    "LiveTranscriber": "voxagent.interfaces",
    "Transcriber": "voxagent.interfaces",
    "ModelSettings": "voxagent.settings",
    "VoiceSettings": "voxagent.settings",
}
__all__ = sorted([*_EXPORTS, "__version__"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.agent import (
        Agent as Agent,
        TurnResult as TurnResult,
    )
    from voxagent.approval import (
        ApprovalRequest as ApprovalRequest,
        Denied as Denied,
        TerminalApproval as TerminalApproval,
    )
    from voxagent.conversation import (
        Conversation as Conversation,
    )
    from voxagent.errors import (
        AudioError as AudioError,
        ConfigurationError as ConfigurationError,
        ConversationError as ConversationError,
        ModelError as ModelError,
        SpeakerError as SpeakerError,
        ToolError as ToolError,
        VoxagentError as VoxagentError,
    )
    from voxagent.events import (
        AssistantMessage as AssistantMessage,
        AssistantTextDelta as AssistantTextDelta,
        AudioOverflow as AudioOverflow,
        ConfirmationRequested as ConfirmationRequested,
        ErrorEvent as ErrorEvent,
        Event as Event,
        SpeculationDiscarded as SpeculationDiscarded,
        SpeculationStarted as SpeculationStarted,
        SpeechEnded as SpeechEnded,
        SpeechPaused as SpeechPaused,
        SpeechResumed as SpeechResumed,
        SpeechStarted as SpeechStarted,
        ToolCallFinished as ToolCallFinished,
        ToolCallStarted as ToolCallStarted,
        ToolStillRunning as ToolStillRunning,
        TranscriptDelta as TranscriptDelta,
        TranscriptFinal as TranscriptFinal,
        TurnCancelled as TurnCancelled,
        TurnCompleted as TurnCompleted,
        TurnStarted as TurnStarted,
        event_to_dict as event_to_dict,
    )
    from voxagent.interfaces import (
        ChatModel as ChatModel,
        LiveTranscriber as LiveTranscriber,
        Transcriber as Transcriber,
    )
    from voxagent.settings import (
        ModelSettings as ModelSettings,
        VoiceSettings as VoiceSettings,
    )
    from voxagent.tools import (
        RunContext as RunContext,
        Tool as Tool,
        ToolResult as ToolResult,
        tool as tool,
    )
