"""Receiving uploads: container sniffing, harmless display names, and `receive_upload` on
multipart bodies fed in chunks (limits, refusals with their HTTP status, no partial file left)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("python_multipart")  # the [web] extra
import anyio  # noqa: E402

from musclemap.web.uploads import (  # noqa: E402
    MAX_FIELD_BYTES,
    MAX_PARTS,
    UploadRejected,
    display_name,
    receive_upload,
    sniff_video,
)

MP4 = b"\x00\x00\x00\x18ftypisom" + bytes(600)
CONTENT_TYPE = "multipart/form-data; boundary=xyz"


def _part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--xyz\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--xyz--\r\n"


def _receive(body: bytes, upload_dir: Path, *, max_bytes: int = 10_000, chunk: int = 97):
    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(body), chunk):  # small chunks: parts straddle them
            yield body[i : i + chunk]

    return anyio.run(lambda: receive_upload(stream(), CONTENT_TYPE, upload_dir,
                                            max_bytes=max_bytes))


def test_sniff_video_by_magic_bytes() -> None:
    assert sniff_video(b"\x00\x00\x00\x18ftypisom" + bytes(500)) == "mp4"
    assert sniff_video(b"\x00\x00\x00\x08moov" + bytes(8)) == "mp4"
    assert sniff_video(b"\x1a\x45\xdf\xa3" + bytes(60)) == "webm"
    assert sniff_video(b"RIFF\x00\x00\x00\x00AVI LIST") == "avi"
    assert sniff_video(b"\x47" + bytes(187) + b"\x47" + bytes(10)) == "mpegts"
    assert sniff_video(b"\x00\x00\x01\xba" + bytes(20)) == "mpegps"
    assert sniff_video(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # audio, not video
    assert sniff_video(b"\x89PNG\r\n\x1a\n" + bytes(20)) is None
    assert sniff_video(b"hello, this is text and not a video at all") is None
    assert sniff_video(b"") is None


def test_display_name_drops_client_paths() -> None:
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\me\\squat.mp4") == "squat.mp4"
    assert display_name("") == "upload"


def test_a_video_and_its_fields_are_stored_under_a_server_chosen_name(tmp_path: Path) -> None:
    body = _body(_part("fps", b" 5 "), _part("file", MP4, "../../evil name.mp4"))
    stored = _receive(body, tmp_path)
    assert stored.filename == "evil name.mp4" and stored.container == "mp4"
    assert stored.fields == {"fps": "5"} and stored.size == len(MP4)
    assert stored.path.parent == tmp_path and stored.path.suffix == ".mp4"
    assert stored.path.read_bytes() == MP4
    assert list(tmp_path.iterdir()) == [stored.path]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (_body(_part("file", MP4, "a.mp4")), 413, "larger than the limit of"),
        (_body(_part("file", b"just some text " * 40, "a.mp4")), 415, "not a video"),
        (_body(_part("file", b"", "a.mp4")), 415, "empty"),
        (_body(_part("fps", b"5")), 422, "no file in the form field 'file'"),
        (_body(_part("video", MP4, "a.mp4")), 422, "form field 'file', not 'video'"),
        (_body(_part("file", MP4, "a.mp4"), _part("file", MP4, "b.mp4")), 400, "one file"),
        (_body(_part("fps", b"9" * (MAX_FIELD_BYTES + 1)), _part("file", MP4, "a.mp4")), 400,
         "too long"),
        (_body(*[_part(f"f{i}", b"1") for i in range(MAX_PARTS + 1)]), 400, "too many"),
        (_part("file", MP4, "a.mp4"), 400, "ends before its last boundary"),
    ],
    ids=["too-big", "not-video", "empty", "no-file", "wrong-field", "two-files", "long-field",
         "many-parts", "truncated"],
)
def test_refusals_carry_a_status_and_leave_no_file(
    tmp_path: Path, body: bytes, status: int, message: str
) -> None:
    with pytest.raises(UploadRejected) as err:
        _receive(body, tmp_path, max_bytes=len(MP4) - 1 if status == 413 else 10_000)
    assert err.value.status == status and message in err.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_non_multipart_request_is_415(tmp_path: Path) -> None:
    async def empty() -> AsyncIterator[bytes]:
        yield b""

    with pytest.raises(UploadRejected) as err:
        anyio.run(lambda: receive_upload(empty(), "video/mp4", tmp_path, max_bytes=10))
    assert err.value.status == 415 and "multipart/form-data" in err.value.message


def test_repeated_and_unknown_fields_are_refused(tmp_path: Path) -> None:
    # A second `fps` silently won; a typo (`fsp`) was silently dropped.
    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        yield body

    def receive(body: bytes) -> object:
        return anyio.run(lambda: receive_upload(chunks(body), CONTENT_TYPE, tmp_path,
                                                max_bytes=10_000, fields=("fps", "rotate")))

    twice = _body(_part("fps", b"5"), _part("fps", b"30"), _part("file", MP4, "a.mp4"))
    with pytest.raises(UploadRejected) as err:
        receive(twice)
    assert (err.value.status, err.value.message) == (400, "form field 'fps' given twice")
    typo = _body(_part("file", MP4, "a.mp4"), _part("fsp", b"5"))
    with pytest.raises(UploadRejected) as err:
        receive(typo)
    assert (err.value.status, err.value.message) == (
        422, "unknown form field 'fsp' (known: file, fps, rotate)"
    )
    assert list(tmp_path.iterdir()) == []  # the file part, already stored, is deleted
    stored = receive(_body(_part("fps", b"5"), _part("file", MP4, "a.mp4")))
    assert stored.fields == {"fps": "5"}  # type: ignore[attr-defined]


def test_a_boundary_over_the_parsers_limit_is_400(tmp_path: Path) -> None:
    # python-multipart raises on a boundary over 256 bytes while the parser is built: a 500.
    async def body() -> AsyncIterator[bytes]:
        yield b"--" + b"b" * 300 + b"\r\n"

    kind = "multipart/form-data; boundary=" + "b" * 300
    with pytest.raises(UploadRejected) as err:
        anyio.run(lambda: receive_upload(body(), kind, tmp_path, max_bytes=10))
    assert err.value.status == 400 and "Boundary length 300 exceeds" in err.value.message
    assert list(tmp_path.iterdir()) == []
