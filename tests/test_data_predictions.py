import numpy as np
import pytest

from musclemap.data.predictions import read_predictions, write_predictions
from musclemap.errors import DatasetError
from musclemap.taxonomy import GROUP_IDS


def test_round_trip_keeps_order_values_and_lines(tmp_path):
    scores = np.linspace(0, 1, 40).reshape(2, 20)
    write_predictions(tmp_path / "sub" / "p.csv", ["b.mp4", "a.mp4"], scores)
    header = (tmp_path / "sub" / "p.csv").read_text().splitlines()[0]
    assert header == ",".join(["clip", *GROUP_IDS])
    preds = read_predictions(tmp_path / "sub" / "p.csv")
    assert list(preds) == ["b.mp4", "a.mp4"] and preds.lines == {"b.mp4": 2, "a.mp4": 3}
    assert np.allclose(preds["a.mp4"], scores[1], atol=1e-6)


def test_write_checks_the_shape(tmp_path):
    with pytest.raises(ValueError, match=r"scores must be \(2, 20\)"):
        write_predictions(tmp_path / "p.csv", ["a", "b"], np.zeros((2, 19)))


def test_every_bad_row_is_reported_with_its_line(tmp_path):
    ok = ",".join(["0.5"] * 20)
    path = tmp_path / "p.csv"
    path.write_text(
        ",".join(["clip", *GROUP_IDS])
        + f"\na.mp4,{ok}\na.mp4,{ok}\nb.mp4,{ok.replace('0.5', '1.5', 1)}\nc.mp4,{ok[:-4]}\n"
    )
    with pytest.raises(DatasetError) as info:
        read_predictions(path)
    message = str(info.value)
    assert "3 bad row(s)" in message
    assert "clip repeated (first at line 2) x1 (line 3)" in message
    assert "outside [0, 1]" in message and "(line 4)" in message
    assert "wrong number of fields x1 (line 5)" in message


def test_a_column_named_twice_is_refused(tmp_path):
    # Two `chest` columns: only the first was read, the other silently ignored.
    path = tmp_path / "p.csv"
    row = ",".join(["0.5"] * 20)
    path.write_text(",".join(["clip", *GROUP_IDS, "chest"]) + f"\na.mp4,{row},0.9\n")
    with pytest.raises(DatasetError) as err:
        read_predictions(path)
    assert str(err.value) == f"{path}: column(s) named twice in the header: chest"


def test_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    import csv

    path = tmp_path / "p.csv"
    write_predictions(path, ["a.mp4"], np.full((1, 20), 0.25))
    before = path.read_text()
    real_writer = csv.writer

    class Interrupting:  # Ctrl-C after the header and one row were written
        def __init__(self, fh: object) -> None:
            self.inner, self.rows = real_writer(fh), 0

        def writerow(self, row: list[str]) -> None:
            self.rows += 1
            if self.rows == 3:
                raise KeyboardInterrupt
            self.inner.writerow(row)

    monkeypatch.setattr(csv, "writer", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        write_predictions(path, ["a.mp4", "b.mp4"], np.full((2, 20), 0.5))
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def test_a_clip_repeated_under_another_spelling_is_refused(tmp_path, monkeypatch):
    # `clips/./a.mp4` after `clips/a.mp4` (or its absolute path): evaluate matched both rows to
    # one clip and used the last, exit 0.
    monkeypatch.chdir(tmp_path)
    low, high = ",".join(["0.1"] * 20), ",".join(["0.9"] * 20)
    path = tmp_path / "p.csv"
    path.write_text(
        ",".join(["clip", *GROUP_IDS])
        + f"\nclips/a.mp4,{low}\nclips/./a.mp4,{high}\n{tmp_path}/clips/a.mp4,{high}\n"
        + f"clips/b.mp4,{low}\nclips/x/../b.mp4,{high}\n"
    )
    with pytest.raises(DatasetError) as info:
        read_predictions(path)
    message = str(info.value)
    assert "3 bad row(s)" in message
    assert "clip repeated (first at line 2) x2 (lines 3-4)" in message
    assert "clip repeated (first at line 5) x1 (line 6)" in message


def test_an_unknown_column_is_refused_with_the_close_group(tmp_path):
    # An extra or misspelt column (`quads`) was ignored without a word (session 13).
    path = tmp_path / "p.csv"
    row = ",".join(["0.5"] * 20)
    path.write_text(",".join(["clip", *GROUP_IDS, "quads"]) + f"\na.mp4,{row},0.9\n")
    with pytest.raises(DatasetError) as err:
        read_predictions(path)
    assert str(err.value) == (
        f"{path}: unknown column(s) 'quads' (did you mean 'quadriceps'?); a predictions file "
        "has clip and the 20 muscle groups only"
    )
    path.write_text(",".join(["clip", *GROUP_IDS, ""]) + f"\na.mp4,{row},\n")  # trailing comma
    assert list(read_predictions(path)) == ["a.mp4"]
