import pytest

from musclemap.errors import DatasetError
from musclemap.textfile import csv_records, format_lines, read_text


def test_read_text_drops_bom_and_rejects_binary_utf16_and_latin1(tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfclip\n")
    assert read_text(tmp_path / "bom.csv") == "clip\n"
    cases = {
        "utf16.csv": ("clip\n".encode("utf-16"), "UTF-16 text"),
        "bin.csv": (b"clip\x00\x01", "binary file"),
        "latin.csv": ("a\nb\ncaf\u00e9\n".encode("latin-1"), "byte 0xe9 on line 3"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DatasetError, match=message):
            read_text(tmp_path / name)
    with pytest.raises(DatasetError, match="cannot read"):
        read_text(tmp_path / "missing.csv")


def test_csv_records_number_lines_as_an_editor_does(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('clip,labels\n\na.mp4,"chest;\nabs"\nb.mp4,calves\n,\n')
    assert list(csv_records(path)) == [
        (1, ["clip", "labels"]),
        (3, ["a.mp4", "chest;\nabs"]),  # a quoted line break: the next record starts on 5
        (5, ["b.mp4", "calves"]),
    ]


def test_format_lines_ranges_and_limit():
    assert format_lines([4]) == "line 4"
    assert format_lines([0, 0]) == ""
    assert format_lines([2, 3, 4, 41, 40, 57, 0]) == "lines 2-4, 40-41, 57"
    assert format_lines(range(2, 60, 2), limit=3) == "lines 2, 4, 6 and 26 more"


def test_missing_reason_says_what_is_there_instead(tmp_path) -> None:
    import os

    from musclemap.textfile import missing_reason

    (tmp_path / "dir.mp4").mkdir()
    os.mkfifo(tmp_path / "fifo.mp4")
    (tmp_path / "loop.mp4").symlink_to(tmp_path / "loop.mp4")
    (tmp_path / "dangling.mp4").symlink_to(tmp_path / "gone.mp4")
    assert missing_reason(tmp_path / "nope.mp4") == "file not found"
    assert missing_reason(tmp_path / "dir.mp4") == "is a folder, not a file"
    assert missing_reason(tmp_path / "fifo.mp4") == "not a regular file (a FIFO, socket or device)"
    link = "file not found (a symlink to nothing, or a symlink loop)"
    assert missing_reason(tmp_path / "loop.mp4") == link
    assert missing_reason(tmp_path / "dangling.mp4") == link
