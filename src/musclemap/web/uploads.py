"""Receiving uploads safely: stream to disk with a hard size limit, sniff the container format.

FastAPI's `UploadFile` spools the whole body before the handler runs, so a size limit there
would only be checked after the bytes are on disk. `receive_upload` parses the multipart stream
itself and stops as soon as the file part passes the limit, whatever Content-Length claims.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

# Bytes needed to recognise every container below (MPEG-TS checks the sync byte of packet 2).
SNIFF_BYTES = 512
MAX_FIELD_BYTES = 1024  # text fields are tiny (fps); anything bigger is abuse
MAX_PARTS = 8

# QuickTime atoms that may open a .mov written without an `ftyp` box.
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


class UploadRejected(Exception):
    """An upload the server refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class StoredUpload:
    """A received upload: the server-chosen path, the client's display name and text fields."""

    path: Path
    filename: str
    size: int
    container: str
    fields: dict[str, str]


def sniff_video(head: bytes) -> str | None:
    """Container format of a video from its first bytes, or None when it is not a video.

    Args:
        head: The first bytes of the file (`SNIFF_BYTES` suffice).

    Returns:
        A short name ("mp4", "webm", "avi", "mpegts", "mpegps", "flv", "ogg", "asf") or None.
    """
    if len(head) >= 12 and (head[4:8] == b"ftyp" or head[4:8] in _QT_ATOMS):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"  # EBML: Matroska and WebM
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "mpegts"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "mpegps"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    return None


def display_name(raw: str) -> str:
    """A client file name reduced to a harmless label (never used as a path)."""
    name = PurePath(raw.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable())[:120]
    return name or "upload"


class _FormReceiver:
    """Multipart callbacks: the `file` part goes to disk, small text fields to memory."""

    def __init__(self, target: Path, max_bytes: int, known: Collection[str] | None = None) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.known = known  # text fields the endpoint reads; None: any
        self.fields: dict[str, str] = {}
        self.filename = ""
        self.size = 0
        self.container: str | None = None
        self.saw_file = False
        self.pending: list[bytes] = []  # file bytes parsed from the current chunk, not yet written
        self._head = bytearray()
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field: str | None = None  # name of the current text field; None while in the file
        self._text = bytearray()
        self.ended = False  # the closing boundary was seen

    def callbacks(self) -> Any:  # python_multipart's MultipartCallbacks TypedDict
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_end": self._end,
        }

    def _end(self) -> None:
        self.ended = True

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadRejected(400, f"too many form parts (at most {MAX_PARTS})")
        self._disposition = b""
        self._field = None
        self._text = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        kind, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if kind != b"form-data" or not name:
            raise UploadRejected(400, "malformed multipart body: a part has no form-data name")
        if name == "file":
            if self.saw_file:
                raise UploadRejected(400, "send one file per request")
            self.saw_file = True
            self.filename = display_name(options.get(b"filename", b"").decode("utf-8", "replace"))
        elif b"filename" in options:
            raise UploadRejected(422, f"send the video in the form field 'file', not {name[:40]!r}")
        else:
            # A typo ("fsp") or a repeat would be dropped or silently win: said instead.
            if self.known is not None and name not in self.known:
                raise UploadRejected(
                    422,
                    f"unknown form field {name[:40]!r} (known: file, {', '.join(self.known)})",
                )
            if name in self.fields:
                raise UploadRejected(400, f"form field {name[:40]!r} given twice")
            self._field = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._field is not None:
            self._text += chunk
            if len(self._text) > MAX_FIELD_BYTES:
                raise UploadRejected(400, f"form field {self._field!r} is too long")
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise UploadRejected(413, f"the file is larger than the limit of {_mb(self.max_bytes)}")
        if self.container is None:
            self._head += chunk
            if len(self._head) >= SNIFF_BYTES:
                self.sniff()
        self.pending.append(chunk)

    def _part_end(self) -> None:
        if self._field is not None:
            self.fields[self._field] = self._text.decode("utf-8", "replace").strip()
        elif self.container is None:
            self.sniff()

    def sniff(self) -> None:
        """Decide the container from the bytes seen so far; 415 when it is not a video."""
        if not self._head:
            raise UploadRejected(415, "the uploaded file is empty")
        self.container = sniff_video(bytes(self._head))
        if self.container is None:
            raise UploadRejected(
                415, "the uploaded file is not a video (expected MP4/MOV, WebM/MKV, AVI, MPEG)"
            )


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):  # also when its folder is gone: nothing left to delete
        path.unlink()


def _mb(num_bytes: int) -> str:
    return f"{num_bytes / 2**20:g} MB"


async def receive_upload(
    stream: AsyncIterator[bytes],
    content_type: str,
    upload_dir: Path,
    *,
    max_bytes: int,
    fields: Collection[str] | None = None,
) -> StoredUpload:
    """Stream a multipart body to `upload_dir/<uuid>.<container>`, enforcing every limit.

    Args:
        stream: The request body chunks.
        content_type: The request's Content-Type header (must be multipart/form-data).
        upload_dir: Private directory for uploads; the file name is chosen here, never by the
            client.
        max_bytes: Largest accepted file; past it the stream is abandoned with 413.
        fields: The text fields accepted besides `file` (another is 422, one given twice 400);
            None accepts any.

    Returns:
        The stored upload.

    Raises:
        UploadRejected: 400 (malformed or truncated body), 413, 415, 422 (no `file` field, bad
            field) or 507 (the disk is full) with a one-line message; the partial file is deleted.
    """
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRejected(415, "send the video as multipart/form-data in the field 'file'")
    target = upload_dir / f"{uuid.uuid4().hex}.part"
    receiver = _FormReceiver(target, max_bytes, fields)
    try:
        # Inside the try: a boundary over python-multipart's limit raises here (was a 500).
        parser = MultipartParser(params[b"boundary"], receiver.callbacks())
        with target.open("wb") as sink:
            async for chunk in stream:
                parser.write(chunk)
                if receiver.pending:
                    # Disk writes go to a thread so that a slow disk never stalls the event loop.
                    await anyio.to_thread.run_sync(sink.write, b"".join(receiver.pending))
                    receiver.pending.clear()
            parser.finalize()
    except FormParserError as err:
        _discard(target)
        raise UploadRejected(400, f"malformed multipart body: {err}") from None
    except OSError as err:  # disk full, data directory gone: the server's problem, said once
        _discard(target)
        raise UploadRejected(507, f"the server cannot store the upload: {err.strerror}") from None
    except BaseException:
        _discard(target)
        raise
    try:
        # A body cut short or without any part is malformed (400); a whole form that lacks the
        # field is the client's mistake about the API (422).
        if not receiver.ended:
            raise UploadRejected(400, "malformed multipart body: it ends before its last boundary")
        if receiver.parts == 0:
            raise UploadRejected(400, "malformed multipart body: it has no parts")
        if not receiver.saw_file:
            raise UploadRejected(422, "no file in the form field 'file'")
        final = target.with_suffix(f".{receiver.container}")
        target.rename(final)
    except BaseException:
        _discard(target)
        raise
    return StoredUpload(
        final, receiver.filename, receiver.size, str(receiver.container), receiver.fields
    )
