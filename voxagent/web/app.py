"""The ASGI app of `voxagent web`: one page, its three assets, a health check and `/ws`.

The page and its assets ship inside the package (voxagent/web/static) and are read once at
start-up; no file path ever comes from a request. Every response carries a content security
policy that allows nothing but this server (no CDN, no inline script, no framing). A websocket
whose `Origin` is not this server is refused before it is accepted: any web page a visitor has
open could otherwise connect to a server on their loopback (cross-site websocket hijacking).
Served on loopback, requests must also name a loopback host, so a DNS-rebinding page cannot
pass for this server either.
"""

from __future__ import annotations

import importlib.resources
import itertools
import logging
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from voxagent.web import protocol as p
from voxagent.web.agents import VisitorAgents
from voxagent.web.visitor import Visitor, VisitorSettings, refuse

__all__ = ["LOOPBACK_HOSTS", "create_app"]

logger = logging.getLogger("voxagent.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
"""The names a request may give in `Host` while the server listens on loopback only."""

_ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/worklet.js": ("worklet.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    "Cache-Control": "no-cache",
}


def create_app(
    agents: VisitorAgents,
    *,
    settings: VisitorSettings | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS,
    max_visitors: int = 16,
    log: Callable[[str], None] | None = None,
) -> Starlette:
    """Build the app.

    Args:
        agents: Makes each visitor's agent.
        settings: The token and the limits every connection shares.
        allowed_hosts: Host names requests may use (`Host` header); None: any.
        max_visitors: Visitors at once; one more is told to try later.
        log: Where one-line notices for the operator go (visitors coming and going, refusals);
            the "voxagent.web" logger when None.

    Returns:
        A Starlette app (run it with uvicorn; `voxagent web` does).
    """
    settings = settings or VisitorSettings()
    notice = log or logger.info
    assets = {path: (_read_asset(name), media_type) for path, (name, media_type) in _ASSETS.items()}
    numbers = itertools.count(1)
    visitors: set[int] = set()

    async def asset(request: Request) -> Response:
        body, media_type = assets[request.url.path]
        return Response(body, media_type=media_type, headers=_HEADERS)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "visitors": len(visitors)}, headers=_HEADERS)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204, headers=_HEADERS)

    async def websocket(ws: WebSocket) -> None:
        number = next(numbers)
        if not _same_origin(ws):
            notice(f"visitor {number}: refused (a websocket from another site: {_origin(ws)})")
            await ws.close(code=p.CLOSE_PROTOCOL)  # before accept: an HTTP 403
            return
        if len(visitors) >= max_visitors:
            await ws.accept()
            await refuse(
                ws,
                f"the server already has its {max_visitors} visitors",
                "ServerFull",
                "try again later (the operator can raise --max-visitors)",
                p.CLOSE_TRY_LATER,
            )
            return
        visitors.add(number)
        notice(f"visitor {number} connected ({len(visitors)} now)")
        try:
            await Visitor(ws, agents, settings, number, notice).serve()
        finally:
            visitors.discard(number)
            notice(f"visitor {number} left ({len(visitors)} now)")

    routes: list[Route | WebSocketRoute] = [Route(path, asset) for path in assets]
    routes += [
        Route("/healthz", health),
        Route("/favicon.ico", no_icon),
        WebSocketRoute("/ws", websocket),
    ]
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    return Starlette(routes=routes, middleware=middleware)


def _read_asset(name: str) -> bytes:
    return (importlib.resources.files("voxagent.web") / "static" / name).read_bytes()


def _origin(ws: WebSocket) -> str:
    return ws.headers.get("origin", "")[:100]


def _same_origin(ws: WebSocket) -> bool:
    """A browser names the page that opened the socket; it must be this server's own page.

    Clients that are not browsers send no Origin (they hold no visitor's cookies or trust to
    abuse); the token, when set, still applies to them.
    """
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    host = ws.headers.get("host", "")
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower() != ""
