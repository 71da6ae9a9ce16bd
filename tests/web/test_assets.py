"""The page's files: shipped in the package, served with their types, nothing from elsewhere."""

from __future__ import annotations

import importlib.resources
import re

import pytest
from starlette.testclient import TestClient

from voxagent import Agent
from voxagent.web.agents import VisitorAgents
from voxagent.web.app import create_app

STATIC = importlib.resources.files("voxagent.web") / "static"


@pytest.fixture
def client() -> TestClient:
    app = create_app(VisitorAgents(Agent(base_url="http://127.0.0.1:9/v1")))
    return TestClient(app, base_url="http://127.0.0.1")


def test_the_page_refers_only_to_files_of_the_server_itself() -> None:
    html = (STATIC / "index.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sorted(references) == ["/app.js", "/style.css"]
    for name in ("index.html", "app.js", "worklet.js", "style.css"):
        text = (STATIC / name).read_text()
        # No URL of another host (a CDN, a font service): the page works with the server alone.
        assert not re.search(r"(https?:)?//[\w-]+(\.[\w-]+)+", text), name
        assert "@import" not in text and "import(" not in text and "innerHTML" not in text, name


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/worklet.js", "text/javascript"),
        ("/style.css", "text/css"),
    ],
)
def test_each_file_is_served_with_its_type_and_the_security_headers(
    client: TestClient, path: str, media_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy


def test_nothing_else_is_served(client: TestClient) -> None:
    for path in ("/static/app.js", "/../agents.py", "/index.html", "/app.js/"):
        assert client.get(path, follow_redirects=False).status_code in (404, 307), path
    assert client.get("/favicon.ico").status_code == 204
