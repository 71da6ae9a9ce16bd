"""Spoken confirmation: ask the user aloud, take their next utterance as the reply.

While a question waits, the listen session hands the next utterance to the reply slot instead of
making it a turn (and it never barges in); the model then classifies the reply as yes or no.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from voxagent.approval import Denied
from voxagent.errors import VoxagentError
from voxagent.events import ErrorEvent

if TYPE_CHECKING:
    from voxagent.approval import ApprovalRequest
    from voxagent.live.session import ListenSession

__all__ = ["ask_by_voice"]

logger = logging.getLogger("voxagent.listen")


async def ask_by_voice(session: ListenSession, request: ApprovalRequest) -> bool | Denied:
    """Say `request.question`, wait for the spoken reply, and let the model classify it.

    Unclear, unanswered or unclassifiable is no (`Denied`, with the reason for the model).
    """
    from voxagent.audio import Utterance  # lazy: numpy (loaded by then: the session listens)

    # The turn loop has announced the question (ConfirmationRequested); ask it aloud.
    send, receive = anyio.create_memory_object_stream[Utterance](max_buffer_size=1)
    session.reply_slot = send
    session.notify()
    options = session.options
    try:
        if options.speaker is not None:
            try:
                await options.speaker(request.question)  # the agent's speech queue (traced)
            except Exception as exc:  # the question is also in the event: keep waiting
                logger.warning("the speaker failed to ask for approval: %s", exc)
                await session.emit(ErrorEvent.from_exception(exc, prefix="the speaker failed"))
        with anyio.move_on_after(options.confirm_timeout):
            reply = await receive.receive()
            # One reply per question: whatever is said next is a turn of its own.
            session.reply_slot = None
            clip = await anyio.to_thread.run_sync(reply.to_clip)
            try:
                return await session.host.classify_reply(request.question, clip)
            except VoxagentError as exc:
                # Unclear is no: the tool does not run, and the user is told why.
                await session.emit(
                    ErrorEvent.from_exception(exc, prefix="could not understand the reply")
                )
                return Denied("the spoken reply could not be understood")
        return Denied(f"no spoken reply came within {options.confirm_timeout:g} s")
    finally:
        session.reply_slot = None
        send.close()
        receive.close()
