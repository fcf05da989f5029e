import hashlib

import pytest

from musclemap.data import content_hash as module
from musclemap.data.content_hash import content_hash


def test_hash_is_sha256_of_the_bytes_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(module, "_CHUNK", 7)  # several chunks and a short last one
    data = bytes(range(256)) * 3
    (tmp_path / "a.bin").write_bytes(data)
    assert content_hash(tmp_path / "a.bin") == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert content_hash(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_same_bytes_same_hash_whatever_the_name(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"clip")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.mp4").write_bytes(b"clip")
    (tmp_path / "c.mp4").write_bytes(b"clip!")
    assert content_hash(tmp_path / "a.mp4") == content_hash(tmp_path / "sub" / "b.mp4")
    assert content_hash(tmp_path / "a.mp4") != content_hash(tmp_path / "c.mp4")


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        content_hash(tmp_path / "nope.mp4")
