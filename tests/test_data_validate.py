from musclemap.data.validate import validate_manifest


def test_every_problem_reported_at_once(tmp_path, make_video):
    good = make_video("good.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    (tmp_path / "m.csv").write_text(
        "clip,activity,split,labels\n"
        f"{good.name},squat,train,quadriceps\n"
        "missing.mp4,squat,val_known,quadriceps\n"
        "broken.mp4,plank,train,upper_abdominis;30\n"
        f"{good.name},squat,train,quadriceps\n"
        "other.mp4,plank,test_new,upper_abdominis\n"
    )
    report = validate_manifest(tmp_path / "m.csv")
    assert report.counts() == {
        "label out of range": 1,
        "missing file": 2,
        "unreadable file": 1,
        "duplicate clip": 1,
        "activity in train and a new split": 1,
    }
    assert not report.ok


def test_clean_manifest(tmp_path, make_video):
    make_video("a.mp4")
    (tmp_path / "m.csv").write_text("clip,activity,split,labels\na.mp4,squat,train,quadriceps\n")
    assert validate_manifest(tmp_path / "m.csv").ok


def test_video_readable_gives_the_decoder_reason_without_the_path(tmp_path, make_video):
    from musclemap.data.validate import video_readable

    assert video_readable(make_video("ok.mp4")) is None
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all")
    why = video_readable(tmp_path / "junk.mp4")
    assert why is not None and why.startswith("not a readable video") and "junk" not in why
    assert video_readable(tmp_path / "gone.mp4") == "file not found"
