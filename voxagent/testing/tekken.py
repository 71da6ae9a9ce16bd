"""Tiny Voxtral model files for tests: a full-size Tekken tokenizer and random-weight model params.

Real Voxtral weights cannot be downloaded in tests, but vLLM and mistral_common only need a valid
`tekken.json` and `params.json` to serve a model with `--load-format dummy` (random weights). These
helpers write those files. The tokenizer is real (the first 130,072 byte-level BPE ranks of the
Tekken vocabulary shipped with mistral_common, 1,000 special tokens, an audio section), so requests
are tokenized and validated exactly as a production Voxtral server does:

    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
    tokenizer = MistralTokenizer.from_file(write_tiny_tekken(tmp_path))

`realtime=True` gives the Voxtral Mini 4B Realtime flavour (streaming transcription) instead of the
chat flavour (Voxtral Small/Mini 2507).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["tiny_tekken_config", "tiny_voxtral_params", "write_tiny_tekken", "write_tiny_voxtral"]

_NUM_VOCAB = 130_072
_VOCAB_SIZE = 131_072
_NUM_SPECIAL = 1000

# Named special tokens by rank; every other rank below 1000 becomes a filler <SPECIAL_i>.
_COMMON_SPECIALS: dict[int, str] = {
    0: "<unk>",
    1: "<s>",
    2: "</s>",
    3: "[INST]",
    4: "[/INST]",
    5: "[AVAILABLE_TOOLS]",
    6: "[/AVAILABLE_TOOLS]",
    7: "[TOOL_RESULTS]",
    8: "[/TOOL_RESULTS]",
    9: "[TOOL_CALLS]",
    10: "[IMG]",
    11: "<pad>",
    12: "[IMG_BREAK]",
    13: "[IMG_END]",
    14: "[PREFIX]",
    15: "[MIDDLE]",
    16: "[SUFFIX]",
    17: "[SYSTEM_PROMPT]",
    18: "[/SYSTEM_PROMPT]",
    19: "[TOOL_CONTENT]",
    24: "[AUDIO]",
    25: "[BEGIN_AUDIO]",
    34: "[TRANSCRIBE]",
}
# Ranks 32/33 differ: tool-call markers for chat, streaming markers for the realtime model
# (which requires [STREAMING_PAD]).
_CHAT_SPECIALS = {32: "[ARGS]", 33: "[CALL_ID]"}
_REALTIME_SPECIALS = {32: "[STREAMING_PAD]", 33: "[STREAMING_WORD]"}

_ENCODING = {"num_mel_bins": 128, "hop_length": 160, "window_size": 400}
_CHAT_AUDIO: dict[str, Any] = {
    "sampling_rate": 16000,
    "frame_rate": 12.5,
    "audio_encoding_config": _ENCODING,
    "chunk_length_s": 30.0,
}
# Streaming mode has no chunk_length_s; every streaming field must be present and the delay a
# positive multiple of 80 ms, or mistral_common / vLLM refuse the file.
_REALTIME_AUDIO: dict[str, Any] = {
    "sampling_rate": 16000,
    "frame_rate": 12.5,
    "audio_encoding_config": _ENCODING,
    "transcription_format": "streaming",
    "transcription_delay_ms": 480,
    "streaming_look_ahead_ms": 2.5,
    "streaming_look_back_ms": 52.5,
    "streaming_n_left_pad_tokens": 32,
}


@functools.cache
def _bundled_tekken() -> dict[str, Any]:
    """Load mistral_common's bundled Tekken file once per process (it is 150k entries)."""
    from importlib.resources import files

    data = files("mistral_common").joinpath("data", "tekken_240911.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


@functools.cache
def _tiny_tekken_text(realtime: bool) -> str:
    """The serialized tekken.json; cached because building and dumping it takes about a second."""
    bundled = _bundled_tekken()
    named = {**_COMMON_SPECIALS, **(_REALTIME_SPECIALS if realtime else _CHAT_SPECIALS)}
    specials = [
        {"rank": i, "token_str": named.get(i, f"<SPECIAL_{i}>"), "is_control": True}
        for i in range(_NUM_SPECIAL)
    ]
    config = {
        "pattern": bundled["config"]["pattern"],
        "num_vocab_tokens": _NUM_VOCAB,
        "default_vocab_size": _VOCAB_SIZE,
        "default_num_special_tokens": _NUM_SPECIAL,
        "version": "v7",
    }
    document = {
        "config": config,
        "vocab": bundled["vocab"][:_NUM_VOCAB],
        "special_tokens": specials,
        "audio": _REALTIME_AUDIO if realtime else _CHAT_AUDIO,
    }
    return json.dumps(document, ensure_ascii=False)


def tiny_tekken_config(*, realtime: bool = False) -> dict[str, Any]:
    """Return the tekken.json document of a tiny Voxtral (a fresh copy each call).

    Args:
        realtime: The Voxtral Realtime (streaming transcription) flavour instead of chat.

    Returns:
        The JSON document as a dict: `config`, `vocab`, `special_tokens`, `audio`.
    """
    loaded: dict[str, Any] = json.loads(_tiny_tekken_text(realtime))
    return loaded


def write_tiny_tekken(path: str | Path, *, realtime: bool = False) -> Path:
    """Write a tiny Voxtral's tekken.json.

    Args:
        path: The file to write, or an existing directory to write `tekken.json` into.
        realtime: The Voxtral Realtime flavour instead of chat.

    Returns:
        The path of the written file.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "tekken.json"
    text = _tiny_tekken_text(realtime)
    # Leave an identical file alone: a running server may be reading it.
    if not (target.is_file() and target.read_text(encoding="utf-8") == text):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return target


def tiny_voxtral_params(*, realtime: bool = False) -> dict[str, Any]:
    """Return the params.json of a tiny random-weight Voxtral (2 layers, dim 128).

    Args:
        realtime: The Voxtral Realtime architecture (causal encoder, rope, sliding window) instead
            of the chat architecture (Voxtral Small/Mini 2507).

    Returns:
        The Mistral-format model parameters as a dict.
    """
    audio_encoding = {"sampling_rate": 16000, **_ENCODING}
    decoder: dict[str, Any] = {
        "dim": 128,
        "n_layers": 2,
        "head_dim": 64,
        "hidden_dim": 256,
        "n_heads": 2,
        "n_kv_heads": 1,
        "norm_eps": 1e-5,
        "vocab_size": _VOCAB_SIZE,
    }
    encoder: dict[str, Any] = {
        "dim": 128,
        "n_layers": 2,
        "head_dim": 64,
        "hidden_dim": 256,
        "n_heads": 2,
    }
    if realtime:
        params = {
            **decoder,
            "rope_theta": 1e6,
            "max_position_embeddings": 16384,
            "tied_embeddings": True,
            "ada_rms_norm_t_cond": True,
            "ada_rms_norm_t_cond_dim": 32,
        }
        encoder |= {
            "vocab_size": _VOCAB_SIZE,
            "max_source_positions": None,
            "audio_encoding_args": {**audio_encoding, "global_log_mel_max": 1.5},
            # These three select vLLM's realtime (causal, streaming) encoder; all are required.
            "causal": True,
            "pos_embed": "rope",
            "sliding_window": 750,
        }
    else:
        params = {
            **decoder,
            "rope_theta": 1e8,
            "max_position_embeddings": 32768,
            "max_seq_len": 32768,
            "tied_embeddings": False,
        }
        encoder |= {
            "vocab_size": 51866,
            "max_source_positions": 1500,
            "audio_encoding_args": audio_encoding,
        }
    params["multimodal"] = {
        "whisper_model_args": {"encoder_args": encoder, "downsample_args": {"downsample_factor": 4}}
    }
    return params


def write_tiny_voxtral(directory: str | Path, *, realtime: bool = False) -> Path:
    """Write a servable tiny Voxtral model directory (tekken.json + params.json).

    Serve it with `vllm serve DIR --load-format dummy --tokenizer-mode mistral --config-format
    mistral` (see `voxagent.serve.server`).

    Args:
        directory: The model directory; created when missing.
        realtime: The Voxtral Realtime flavour instead of chat.

    Returns:
        The model directory.
    """
    model_dir = Path(directory)
    model_dir.mkdir(parents=True, exist_ok=True)
    write_tiny_tekken(model_dir / "tekken.json", realtime=realtime)
    params = json.dumps(tiny_voxtral_params(realtime=realtime), indent=2)
    (model_dir / "params.json").write_text(params + "\n", encoding="utf-8")
    return model_dir
