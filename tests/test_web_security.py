"""Who may talk to `musclemap serve`: Host allow-list (DNS rebinding), same-origin POSTs (other
web pages), the optional token, and the refusal to listen on a public address without one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from musclemap.errors import ConfigError  # noqa: E402
from musclemap.web.app import (  # noqa: E402
    ServerSettings,
    allowed_host_names,
    create_app,
    host_name,
    is_loopback,
    run_server,
)
from web_standins import FakePredict, fake_render  # noqa: E402

TOKEN = "s3cret-token-of-24-chars"
VIDEO = b"\x00\x00\x00\x18ftypisom" + bytes(600)  # passes the sniffing; never decoded here


def _client(tmp_path: Path, **kw: Any) -> TestClient:
    settings = ServerSettings(data_dir=tmp_path / "data", **kw)
    app = create_app(settings, predict_fn=FakePredict(), render_fn=fake_render)
    return TestClient(app, base_url="http://localhost")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _client(tmp_path_factory.mktemp("web")) as c:
        yield c


def _post(client: TestClient, **headers: str) -> Any:
    return client.post(
        "/api/predict", files={"file": ("a.mp4", VIDEO, "video/mp4")}, headers=headers
    )


def _uploads(client: TestClient) -> list[Path]:
    return list(client.app.state.jobs.upload_dir.iterdir())


def test_host_and_loopback_helpers() -> None:
    assert host_name("LocalHost:8000") == "localhost"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"
    assert host_name("example.com.:80") == "example.com"
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "example.com", ""]))
    names = allowed_host_names(ServerSettings(host="192.168.1.5", allowed_hosts=("Proxy.Lan",)))
    assert {"localhost", "127.0.0.1", "::1", "192.168.1.5", "proxy.lan"} == names


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io", ""]
)
def test_foreign_host_is_refused(client: TestClient, host: str) -> None:
    """DNS rebinding: another site's name resolving to 127.0.0.1 still carries its own Host."""
    for response in (client.get("/api/health", headers={"host": host}), _post(client, host=host)):
        assert response.status_code == 400, host
        assert "is not allowed" in response.json()["detail"]
    assert client.get("/", headers={"host": host}).status_code == 400
    assert _uploads(client) == []


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:9", "[::1]:8000"])
def test_loopback_hosts_are_served(client: TestClient, host: str) -> None:
    assert client.get("/api/health", headers={"host": host}).status_code == 200


def test_extra_and_any_hosts(tmp_path: Path) -> None:
    with _client(tmp_path / "a", allowed_hosts=("muscle.lan",)) as c:
        assert c.get("/api/health", headers={"host": "muscle.lan:80"}).status_code == 200
        assert c.get("/api/health", headers={"host": "other.lan"}).status_code == 400
    with _client(tmp_path / "b", allowed_hosts=("*",)) as c:
        assert c.get("/api/health", headers={"host": "anything.example"}).status_code == 200


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://localhost:3000",
        "https://localhost",
        "http://127.0.0.1",
    ],
)
def test_cross_origin_post_is_refused(client: TestClient, origin: str) -> None:
    """Any web page may send a multipart POST to a local server; the browser names it in Origin."""
    response = _post(client, origin=origin)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("cross-origin request")
    assert _uploads(client) == []


def test_same_origin_and_originless_posts_are_accepted(client: TestClient) -> None:
    assert _post(client, origin="http://localhost").status_code == 202  # the page itself
    assert _post(client).status_code == 202  # curl, scripts: no Origin
    assert _post(client, **{"sec-fetch-site": "same-origin"}).status_code == 202
    refused = _post(client, **{"sec-fetch-site": "cross-site"})  # Origin stripped, fetch metadata
    assert refused.status_code == 403


def test_cross_origin_reads_get_no_cors_grant(client: TestClient) -> None:
    response = client.get("/api/health", headers={"origin": "http://evil.example"})
    assert response.status_code == 200  # a plain GET; the browser withholds the body:
    assert "access-control-allow-origin" not in response.headers


def test_allowed_origin(tmp_path: Path) -> None:
    with _client(tmp_path, allowed_origins=("https://app.example",)) as c:
        assert _post(c, origin="https://app.example").status_code == 202
        assert _post(c, origin="https://other.example").status_code == 403


def test_token(tmp_path: Path) -> None:
    with _client(tmp_path, token=TOKEN) as c:
        missing = c.get("/api/health")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "token" in missing.json()["detail"]
        assert c.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert _post(c).status_code == 401 and _uploads(c) == []
        assert c.get("/static/app.js").status_code == 200  # the page's files are public
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/health", headers=bearer).status_code == 200
        assert _post(c, **bearer).status_code == 202
        # The printed address carries ?token=; the answer sets a cookie for the page's requests.
        page = c.get(f"/?token={TOKEN}")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert "musclemap_token=" in cookie and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert c.get("/api/health").status_code == 200  # the client kept the cookie
        c.cookies.clear()
        assert c.get("/api/health").status_code == 401


def test_public_address_needs_a_token(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        settings = ServerSettings(data_dir=tmp_path, host=host)
        with pytest.raises(ConfigError, match="exposes the server to the network"):
            run_server(settings, 0)
    with pytest.raises(ConfigError, match="at least 16 characters"):
        run_server(ServerSettings(data_dir=tmp_path, host="0.0.0.0", token="short"), 0)
    assert not (tmp_path / "musclemap.sqlite3").exists()  # refused before anything started


@pytest.mark.parametrize("token", [" " * 20, "0123456789abcdef&x", "0123456789abcdef;x", "ä" * 16])
def test_a_token_that_cannot_travel_is_refused(tmp_path: Path, token: str) -> None:
    # A token of 20 spaces passed the length check: HTTP strips them from the header, so
    # every request was refused; '&' broke the printed link, ';' the cookie (session 13).
    with pytest.raises(ConfigError, match="the token may hold only letters, digits"):
        run_server(ServerSettings(data_dir=tmp_path, host="0.0.0.0", token=token), 0)
    assert not (tmp_path / "musclemap.sqlite3").exists()


def test_an_infinite_upload_limit_is_refused(tmp_path: Path) -> None:
    # `--max-upload-mb inf` started a server whose first upload failed converting the limit.
    with pytest.raises(ConfigError, match="--max-upload-mb must be a positive number, got inf"):
        run_server(ServerSettings(data_dir=tmp_path, max_upload_mb=float("inf")), 0)



@pytest.mark.parametrize("name", ["*.example.com", "http://app.example", "app .example"])
def test_an_allowed_host_that_never_matches_is_refused(tmp_path: Path, name: str) -> None:
    # A URL was read as the host "http", a pattern taken literally: every request refused.
    with pytest.raises(ConfigError, match=r"--allow-host .*: expected a host name or address"):
        run_server(ServerSettings(data_dir=tmp_path, allowed_hosts=(name,)), 0)
    assert not (tmp_path / "musclemap.sqlite3").exists()
