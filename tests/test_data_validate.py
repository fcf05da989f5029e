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


def test_unusable_pose_files_are_reported_with_their_lines(tmp_path, make_video):
    # Pose files of NaN landmarks passed as "no problems found" (only missing ones counted).
    import numpy as np

    from musclemap.data.pose_sequence import PoseSequence, save_pose_file

    make_video("a.mp4")
    t = 4
    image = np.full((t, 33, 3), 0.5, np.float32)
    seq = PoseSequence(image=image, world=np.zeros((t, 33, 4), np.float32),
                       valid=np.ones(t, bool), times=np.arange(t) / 10, fps=10.0, width=64,
                       height=48)
    save_pose_file(seq, tmp_path / "good.npz")
    image[:, :, 0] = np.nan
    save_pose_file(seq, tmp_path / "nan.npz")
    (tmp_path / "m.csv").write_text(
        "clip,activity,split,labels,skeleton\n"
        "a.mp4,squat,train,quadriceps,good.npz\n"
        "a2.mp4,squat,train,quadriceps,nan.npz\n"
    )
    report = validate_manifest(tmp_path / "m.csv", decode=False)
    assert report.counts() == {"missing file": 1, "unreadable skeleton file": 1}
    bad = [p for p in report.problems if p.kind == "unreadable skeleton file"]
    assert bad[0].line == 3 and "no finite image landmark in 4 of 4 frames" in bad[0].detail
