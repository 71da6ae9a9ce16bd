"""Opening an agent's model from its connection settings: the HTTP client, or a managed server.

With no server URL (and no VOXAGENT_BASE_URL), a local vLLM server is started for the model
(`voxagent serve`'s machinery) and closed with the agent.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import TYPE_CHECKING, Literal

from voxagent.distribution import pip_install
from voxagent.errors import ConfigurationError
from voxagent.interfaces import ChatModel

if TYPE_CHECKING:
    import httpx

    from voxagent.client.admission import Admission

__all__ = ["check_model_object", "open_client"]

logger = logging.getLogger("voxagent.agent")

_NO_SERVER_HINT = (
    f"install the managed server with `{pip_install('serve')}`, or point "
    "`--base-url` / VOXAGENT_BASE_URL at a running Voxtral server, or use Mistral's API: "
    "base_url='https://api.mistral.ai/v1' with MISTRAL_API_KEY set"
)


def check_model_object(model: object, **connection: object) -> None:
    """Refuse a model object that is no `ChatModel`, or one given with connection settings.

    Raises:
        ConfigurationError: what was wrong, and how to give the model instead.
    """
    given = [name for name, value in connection.items() if value is not None]
    if given:
        raise ConfigurationError(
            f"{', '.join(given)} cannot be used with a model object",
            hint="configure the connection on the model itself (ModelClient(...))",
        )
    if not isinstance(model, ChatModel):
        raise ConfigurationError(
            f"model must be a model name or a ChatModel, not {type(model).__name__}",
            hint="pass a name such as 'mistralai/Voxtral-Mini-3B-2507', or a ModelClient",
        )


async def open_client(
    stack: contextlib.AsyncExitStack,
    *,
    model: str | None,
    base_url: str | None,
    api_key: str | None,
    dialect: Literal["vllm", "mistral"] | None,
    http_client: httpx.AsyncClient | None,
    deadline_s: float | None,
    admission: Admission | None,
) -> ChatModel:
    """A `ModelClient` entered on `stack` (and the managed server it talks to, if any)."""
    from voxagent.client import ModelClient  # lazy: httpx loads when an agent starts

    url = base_url or os.environ.get("VOXAGENT_BASE_URL") or None
    if url is None:
        url = await _start_managed_server(stack, model)
    client = ModelClient(
        url,
        model=model,
        dialect=dialect,
        api_key=api_key,
        http_client=http_client,
        timeout=deadline_s,
        admission=admission,
    )
    return await stack.enter_async_context(client)


async def _start_managed_server(stack: contextlib.AsyncExitStack, model: str | None) -> str:
    if model is None:
        raise ConfigurationError(
            "no server URL and no model to start a local server for",
            hint=f"pass model=..., or {_NO_SERVER_HINT}",
        )
    from voxagent.serve.server import VLLMServer, find_vllm  # lazy: only without a URL

    if find_vllm() is None:
        raise ConfigurationError(
            "no Voxtral server URL was given and vLLM is not installed here",
            hint=_NO_SERVER_HINT,
        )
    server = VLLMServer(model, on_progress=lambda line: logger.info("vllm: %s", line))
    await stack.enter_async_context(server)
    return server.base_url
