"""End to end in a real browser: Debian's chromium driven by Playwright uploads a clip to a live
`musclemap serve` app, waits for the result and checks the body map, bars and synced timeline.

Screenshots land in test-artifacts/ (desktop and phone sizes). A deterministic predict function
stands in for the model so the test is fast; the pictures are drawn by the real `musclemap.viz`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium "
        "(apt-get install chromium; .ci/run installs it)",
    ),
]


# The orientation check's answer WavePredict reports: maybe turned 90 degrees counter-clockwise.
UNCERTAIN = {"state": "uncertain", "rotated_deg": 0, "candidate_deg": 270}
# Its note as the page words it: the page's Upright option instead of the CLI's --rotate 90.
UNCERTAIN_ON_PAGE = (
    "The picture may be turned 90 degrees counter-clockwise (the orientation check was not sure; "
    "the poses were scored as filmed): if the person is not upright in the video, choose Upright "
    '"turn 90° clockwise" under Options and upload it again'
)


class WavePredict:
    """Picklable stand-in for the Predictor: sliding 2 s windows whose scores change over time;
    the poses are a generated squat of the clip's length, explained with `KneeScorer`. Its
    orientation block is `UNCERTAIN`, or the client's `rotate` (`state: set`), with the real
    notes of either (`musclemap.pose.quality.quality_notes`)."""

    def __call__(self, video: Path, *, fps: float, progress: Any, rotate: int | None) -> Any:
        import av

        from musclemap.demo import synthetic_pose_sequence
        from musclemap.pose.orientation import requested
        from musclemap.pose.quality import quality_notes
        from musclemap.predictor import Prediction
        from musclemap.taxonomy import GROUP_IDS

        progress(0.2, "estimating poses")
        found = UNCERTAIN if rotate is None else requested(rotate).to_dict()
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            duration = float(stream.duration * stream.time_base) if stream.duration else 2.0
        progress(0.7, "predicting")
        base = {gid: 0.04 + 0.02 * (i % 4) for i, gid in enumerate(GROUP_IDS)}
        base.update(quadriceps=0.91, gluteus=0.84, hamstring=0.62, lower_back=0.41, calves=0.3)
        timeline, start = [], 0.0
        while start < duration - 1e-6:
            end = min(start + 2.0, duration)
            phase = start / max(duration, 1e-6)
            window = dict(
                base, quadriceps=round(0.6 + 0.35 * phase, 3), calves=round(0.7 - 0.5 * phase, 3)
            )
            timeline.append({"start_s": start, "end_s": end, "muscles": window})
            start += 1.0
        return Prediction(
            video=str(video),
            muscles=base,
            threshold=0.5,  # active: quadriceps, gluteus, hamstring
            timeline=timeline,
            pose_coverage=0.97,
            people=1,
            model={"name": "wave", "version": "test"},
            pose=synthetic_pose_sequence("squat", seconds=duration),
            notes=quality_notes({"orientation": found}),
            quality={"orientation": found},
        )

    def predictor(self) -> Any:
        from web_standins import KneeScorer

        return KneeScorer()


@contextmanager
def live_server(data_dir: Path, predict_fn: Any) -> Iterator[str]:
    """A `musclemap serve` app with `predict_fn` on a free loopback port, in a thread: its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    from musclemap.web.app import ServerSettings, create_app

    app = create_app(ServerSettings(data_dir=data_dir, workers=1), predict_fn=predict_fn)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("web") / "data", WavePredict()) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real exercise clip when ../shared is there (a better screenshot), else a synthetic one."""
    from conftest import SHARED, write_video

    wild = sorted((SHARED / "data" / "wild" / "clips").glob("*squat*.mp4"))
    if wild:
        return wild[0]
    import numpy as np

    t, h, w = 40, 240, 320
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.stack(
        [
            np.stack([(xx + 8 * i) % 256, (yy + 4 * i) % 256, np.full_like(xx, 90)], -1)
            for i in range(t)
        ]
    ).astype(np.uint8)
    return write_video(tmp_path_factory.mktemp("clip") / "synthetic_squat.mp4", frames, fps=10)


def wait_js(page: Any, expression: str, timeout: float = 30.0) -> None:
    """Poll a JS expression until truthy. (Playwright's wait_for_function compiles strings with
    `new Function`, which the page's Content-Security-Policy rightly forbids.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _upload_and_wait(page: Any, url: str, clip: Path) -> None:
    page.goto(url)
    wait_js(page, "document.getElementById('limits').textContent.includes('200 MB')")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#results:not([hidden])", timeout=120_000)
    page.wait_for_selector("#body-map svg", timeout=30_000)


def test_upload_shows_body_map_bars_and_synced_timeline(
    browser: Any, server_url: str, clip: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    _upload_and_wait(page, server_url, clip)

    assert page.locator("#body-map svg [data-group='quadriceps']").count() >= 1
    assert page.locator("#bars li").count() == 20
    assert page.locator("#bars li").first.get_attribute("data-group") == "quadriceps"
    assert page.locator("#active li").count() == 3
    assert page.locator("#timeline svg rect.tl-cell").count() > 0
    # the prediction's notes (here the orientation check's "may be turned") are shown
    assert page.is_visible("#notes")
    assert page.locator("#notes li").all_text_contents() == [UNCERTAIN_ON_PAGE]
    for link in ("#dl-json", "#dl-body", "#dl-timeline"):
        href = page.get_attribute(link, "href")
        assert page.request.get(server_url + href).ok, href

    # Clicking the timeline seeks the video and moves the playhead.
    wait_js(page, "document.getElementById('player').readyState >= 1")
    before = page.get_attribute(".tl-playhead", "transform")
    page.locator("#timeline .tl-hit").scroll_into_view_if_needed()  # below the notes
    box = page.locator("#timeline .tl-hit").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    wait_js(page, "document.getElementById('player').currentTime > 0", timeout=10)
    assert page.get_attribute(".tl-playhead", "transform") != before
    assert page.locator("#now .now-chip").count() == 3

    # The explain picker: choosing a group loads the server's picture of which joints drove it.
    assert page.locator("#explain-group option").count() == 21  # the prompt and 20 groups
    page.select_option("#explain-group", "quadriceps")
    img = "document.getElementById('explain-img')"
    wait_js(page, f"(i => i.complete && i.naturalWidth > 0 && i.dataset.group)({img})", 60)
    assert page.get_attribute("#explain-img", "data-group") == "quadriceps"
    assert page.evaluate(f"{img}.naturalWidth") > 800
    assert page.is_visible("#explain-img") and "Red" in page.text_content("#explain-status")
    settled = "(v => !v.seeking && v.readyState >= 2)(document.getElementById('player'))"
    wait_js(page, settled, timeout=10)
    page.screenshot(path=str(ARTIFACTS / "web-desktop.png"), full_page=True)
    assert errors == []
    page.close()


def test_upright_option_is_sent_and_the_notes_name_it(
    browser: Any, server_url: str, clip: Path
) -> None:
    """The notes that name `--rotate N` name the page's Upright option instead, and the option
    chosen goes to the server as the `rotate` field."""
    from musclemap.pose.quality import quality_notes

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server_url)
    wait_js(page, "document.getElementById('limits').textContent.includes('200 MB')")
    cases = {  # the check's answer -> the option its note names
        "as filmed": {"state": "turned", "rotated_deg": 90},
        "turn 90° counter-clockwise": {**UNCERTAIN, "candidate_deg": 90},
        "turn 180°": {**UNCERTAIN, "candidate_deg": 180},
        "turn 90° clockwise": UNCERTAIN,
    }
    for label, found in cases.items():
        (note,) = quality_notes({"orientation": found})
        assert "--rotate" in note
        shown = page.evaluate(f"pageNote({json.dumps(note)})")
        assert "--rotate" not in shown
        assert f'choose Upright "{label}" under Options and upload it again' in shown, shown
    page.click("details.options summary")
    page.select_option("#rotate", "90")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#results:not([hidden])", timeout=120_000)
    result = page.request.get(server_url + page.get_attribute("#dl-json", "href")).json()
    found = result["quality"]["orientation"]  # WavePredict's: what the job's `rotate` was
    assert (found["state"], found["rotated_deg"]) == ("set", 270)  # 90 clockwise
    assert page.locator("#notes li").all_text_contents() == [
        "The poses were turned 90 degrees clockwise before scoring, as asked"
    ]
    assert errors == []
    page.close()


def test_phone_layout_and_refusal_message(
    browser: Any, server_url: str, clip: Path, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    _upload_and_wait(page, server_url, clip)
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "web-phone.png"), full_page=True)

    text = tmp_path / "notes.mp4"
    text.write_text("not a video, just text " * 50)
    page.set_input_files("#file", str(text))
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "not a video" in page.text_content("#error")
    page.close()
