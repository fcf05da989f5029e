"""pose/cache.py: where a video's poses are kept, keyed by its content (the one content hash)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from musclemap.data.content_hash import content_hash
from musclemap.data.pose_sequence import PoseSequence, save_pose_file
from musclemap.pose.cache import (
    cache_key,
    cache_path,
    default_cache_dir,
    read_cached,
    video_cache_path,
    write_cached,
)


def test_default_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSCLEMAP_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "poses"
    monkeypatch.delenv("MUSCLEMAP_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "musclemap" / "poses"


def test_the_cache_keys_a_video_by_its_content_not_its_path(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.mp4", tmp_path / "sub" / "renamed.mov", tmp_path / "c.mp4"
    b.parent.mkdir()
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    c.write_bytes(b"other bytes")
    settings = {"x": 1}
    where = video_cache_path(a, "e", settings, 10.0, tmp_path / "cache")
    assert where == video_cache_path(b, "e", settings, 10.0, tmp_path / "cache")
    assert where != video_cache_path(c, "e", settings, 10.0, tmp_path / "cache")
    # The digest is the project's one content hash (data/content_hash.py), SHA-256 of the bytes.
    assert where == cache_path(content_hash(a), "e", settings, 10.0, tmp_path / "cache")
    assert where.parent.parent == tmp_path / "cache" and where.name.startswith(where.parent.name)
    a.write_bytes(b"rewritten in place")
    assert video_cache_path(a, "e", settings, 10.0, tmp_path / "cache") != where


def test_the_key_changes_with_estimator_settings_and_fps() -> None:
    digest = "0" * 64
    k = cache_key(digest, "e", {"x": 1}, 10.0)
    assert len(k) == 32 and k == cache_key(digest, "e", {"x": 1}, 10)
    assert k != cache_key(digest, "f", {"x": 1}, 10.0)
    assert k != cache_key(digest, "e", {"x": 2}, 10.0)
    assert k != cache_key(digest, "e", {"x": 1}, 5.0)
    assert k != cache_key("1" * 64, "e", {"x": 1}, 10.0)


def _seq() -> PoseSequence:
    return PoseSequence.from_frames([None, None], [0.0, 0.1], fps=10, width=4, height=3)


def test_read_and_write(tmp_path: Path) -> None:
    where = tmp_path / "ab" / "abcd.npz"
    assert read_cached(where) is None
    write_cached(_seq(), where)
    back = read_cached(where)
    assert back is not None and len(back) == 2 and (back.width, back.height) == (4, 3)


def test_a_damaged_entry_is_deleted_not_an_error(tmp_path: Path) -> None:
    where = tmp_path / "x.npz"
    where.write_text("garbage")
    assert read_cached(where) is None and not where.exists()
    np.savez_compressed(where, image=np.zeros((1, 33, 3)))  # arrays missing
    assert read_cached(where) is None and not where.exists()
    save_pose_file(_seq(), where)
    assert read_cached(where) is not None


def test_an_unwritable_cache_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with caplog.at_level(logging.WARNING, logger="musclemap.pose.cache"):
        write_cached(_seq(), a_file / "sub" / "x.npz")  # a folder under a file
    assert "pose cache not written" in caplog.text and a_file.read_text() == "x"
