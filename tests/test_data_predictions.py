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
