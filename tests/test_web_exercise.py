"""The web page shows the analysis blocks: exercise, repetition count and turning points (a real
browser, as tests/test_web_browser.py; skipped without Debian's chromium)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_web_browser import (  # noqa: F401 - fixtures
    WavePredict,
    _upload_and_wait,
    browser,
    clip,
    pytestmark,
    wait_js,
)


class AnalysedWave(WavePredict):
    """WavePredict's prediction (a generated squat), analysed for a named squat."""

    def __call__(self, video: Path, *, fps: float, progress: Any) -> Any:
        from musclemap.analysis import analyse

        pred = super().__call__(video, fps=fps, progress=progress)
        analyse(pred, "squat")
        return pred


@pytest.fixture(scope="module")
def analysed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uvicorn = pytest.importorskip("uvicorn")
    from musclemap.web.app import ServerSettings, create_app

    settings = ServerSettings(data_dir=tmp_path_factory.mktemp("web") / "data", workers=1)
    app = create_app(settings, predict_fn=AnalysedWave())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)


def test_page_shows_exercise_and_repetitions(
    browser: Any,  # noqa: F811
    analysed_url: str,
    clip: Path,  # noqa: F811
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    _upload_and_wait(page, analysed_url, clip)
    result = page.request.get(analysed_url + page.get_attribute("#dl-json", "href")).json()
    count = result["repetitions"]["count"]
    assert count >= 1 and result["exercise"]["name"] == "squat"
    meta = page.text_content("#result-meta")
    assert "exercise: squat" in meta and f"{count} repetition" in meta
    unexpected = result["exercise"]["unexpected"]
    assert ("active, not expected" in meta) == bool(unexpected)
    wait_js(page, "document.querySelectorAll('#timeline line.tl-rep').length > 0")
    assert page.locator("#timeline line.tl-rep").count() == count
    assert errors == []
    page.close()
