"""Audio faults: corrupt files and clips longer than the context, through `Agent.ask`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxagent import Agent
from voxagent.audio import encode_wav
from voxagent.audio.clip import AudioClip
from voxagent.errors import AudioError, ContextLengthError
from voxagent.testing import Reply, ScriptedServer

from .conftest import assert_next_turn_works

pytestmark = pytest.mark.anyio

CORRUPT = {
    "empty": b"",
    "text": b"hello, this is not audio",
    "truncated wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "random bytes": bytes(range(256)) * 8,
}


@pytest.mark.parametrize("data", CORRUPT.values(), ids=list(CORRUPT))
@pytest.mark.parametrize("as_file", [True, False])
async def test_a_corrupt_audio_input_raises_audio_error_and_records_nothing(
    tmp_path: Path, data: bytes, as_file: bool
) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(data)
    async with ScriptedServer() as server:
        async with Agent(base_url=server.base_url) as agent:
            with pytest.raises(AudioError) as caught:
                await agent.ask(audio=path if as_file else data)
            assert caught.value.message and "\n" not in caught.value.message
            assert agent.conversation.turns == ()
            assert server.requests == []
            await assert_next_turn_works(agent, server)


async def test_a_missing_audio_file_raises_audio_error_naming_it(tmp_path: Path) -> None:
    async with ScriptedServer() as server:
        async with Agent(base_url=server.base_url) as agent:
            with pytest.raises(AudioError) as caught:
                await agent.ask(audio=tmp_path / "nowhere.wav")
            assert "nowhere.wav" in str(caught.value)
            await assert_next_turn_works(agent, server)


async def test_a_clip_longer_than_the_context_raises_before_sending_and_the_next_turn_works(
    wav: Path,
) -> None:
    # Ten minutes of real audio need ~7,500 tokens of a 4,096 context (a clip whose declared
    # duration lies is refused earlier, as an AudioError).
    huge = AudioClip(encode_wav(np.zeros(16000 * 600, dtype=np.float32), 16000), "wav", 600.0)
    async with ScriptedServer(
        [Reply.text("first")], transcripts=[Reply.text("long talk")], max_model_len=4096
    ) as server:
        async with Agent(base_url=server.base_url) as agent:
            await agent.ask(text="hello")
            with pytest.raises(ContextLengthError) as caught:
                await agent.ask(audio=huge)
            assert caught.value.hint
            assert len(server.requests) == 1  # refused before sending
            await assert_next_turn_works(agent, server)
