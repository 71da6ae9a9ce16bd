"""Confirmation by voice or by button: whichever answer comes first decides.

While a visitor listens, a `confirm=True` tool is announced with the same question as everywhere
(`ConfirmationRequested`, from `voxagent.approval.format_question`), and the listen session waits
for a spoken yes or no, classified by the model. The page also shows Yes and No buttons for that
call: `ButtonAnswers` holds the calls waiting for an answer, and `either` races the spoken
answer against a click. A click names the pending call's id; any other id, or a second click,
answers nothing. The model cannot press a button: clicks come only from the visitor's websocket.
"""

from __future__ import annotations

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from voxagent.approval import Approval, ApprovalRequest, Denied

__all__ = ["ButtonAnswers"]


class ButtonAnswers:
    """The confirmations of one visitor waiting for a click."""

    def __init__(self) -> None:
        self._waiting: dict[str, MemoryObjectSendStream[bool]] = {}

    @property
    def pending(self) -> list[str]:
        """The call ids waiting for an answer."""
        return list(self._waiting)

    def answer(self, call_id: str, approved: bool) -> bool:
        """Answer a pending confirmation; False when no call with that id is waiting."""
        slot = self._waiting.pop(call_id, None)
        if slot is None:
            return False
        try:
            slot.send_nowait(approved)
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
        return True

    def either(self, voice: Approval) -> Approval:
        """An approval that takes the first answer: `voice`'s, or a click for the same call."""

        async def approve(request: ApprovalRequest) -> bool | Denied:
            send, receive = anyio.create_memory_object_stream[bool](max_buffer_size=1)
            self._waiting[request.call_id] = send
            decided: list[bool | Denied] = []
            try:
                async with anyio.create_task_group() as tg:

                    async def by_voice() -> None:
                        try:
                            decided.append(await voice(request))
                        except Exception:
                            decided.append(False)  # a failed approval never runs the tool
                        tg.cancel_scope.cancel()

                    async def by_button() -> None:
                        try:
                            decided.append(await receive.receive())
                        except anyio.EndOfStream:
                            return
                        tg.cancel_scope.cancel()

                    tg.start_soon(by_voice)
                    tg.start_soon(by_button)
            finally:
                self._waiting.pop(request.call_id, None)
                send.close()
                receive.close()
            return decided[0] if decided else False

        return approve
