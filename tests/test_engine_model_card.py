"""engine/model_card.py: the model card shows the measured numbers of its metadata."""

from __future__ import annotations

from musclemap.engine.model_card import fmt_mean_std, model_card


def _meta() -> dict:
    both = {"select_clips": [0.8, 0.05], "report_clips": [0.781, 0.068],
            "select_keyposes": None, "report_keyposes": None, "select_all": None,
            "report_all": None}
    new = {"select_clips": [0.6, 0.04], "report_clips": [0.62, 0.048],
           "select_keyposes": [0.6, 0.03], "report_keyposes": [0.611, 0.043],
           "select_all": [0.6, 0.02], "report_all": [0.615, 0.041]}
    return {
        "name": "keypose_mlp", "version": "2", "window": 30, "fps": 10.0, "stride": 10,
        "size_bytes": 1234, "sha256": "ab" * 32, "features": ["f"] * 7, "min_visibility": 0.0,
        "threshold": 0.35, "library": {"names": ["squat", "curl"]},
        "trained_on": {"clips": 180, "keyposes": 700, "exercises": 575, "manifest": "m.csv",
                       "library_manifest": "k.csv"},
        "protocol": {"folds": 5, "seeds": [0, 1, 2]},
        "cv": {"new_footage": {"keypose_mlp": both}, "new_exercises": {"keypose_mlp": new}},
        "clip_table": [{"clip": "squat__a__1", "truth": ["quadriceps", "gluteus"],
                        "top": [["quadriceps", 0.91], ["calves", 0.4]], "truth_on_top": 1,
                        "ap": 0.83}],
    }


def test_fmt_mean_std() -> None:
    assert fmt_mean_std([0.7814, 0.0678]) == "0.781 ± 0.068"
    assert fmt_mean_std(None) == "n/a"


def test_the_card_carries_the_report_and_selection_rows_and_the_clip_table() -> None:
    card = model_card(_meta())
    assert "| keypose_mlp | 0.781 ± 0.068 | 0.620 ± 0.048 | 0.611 ± 0.043 | 0.615 ± 0.041 |" in card
    assert "| keypose_mlp | 0.800 ± 0.050 | 0.600 ± 0.040 | 0.600 ± 0.030 | 0.600 ± 0.020 |" in card
    assert "mean ± std over the folds of seeds [1, 2] (choices were made on seed 0)" in card
    row = "| squat__a__1 | quadriceps, gluteus | quadriceps 0.91, calves 0.40 | 1/2 | 0.83 |"
    assert row in card
    assert "1234 bytes" in card and "Threshold** for \"active\": 0.35" in card


def test_the_card_names_the_training_copies_from_the_config() -> None:
    assert "Training copies" not in model_card(_meta())  # no config recorded
    meta = {**_meta(), "config": {"pose_default": {"augment_copies": 2, "keypose_videos": 2}}}
    card = model_card(meta)
    assert "**Training copies**: 2 per item (camera pitch ±10°); each key-pose photo pair also " \
           "as 2 pseudo-videos" in card
    meta["config"]["pose_default"]["keypose_videos"] = 0
    assert "pseudo-videos" not in model_card(meta) and "2 per item" in model_card(meta)


def test_the_card_says_when_mirror_images_are_training_copies() -> None:
    meta = {**_meta(), "config": {"pose_default": {"augment_copies": 2}}}
    assert "mirrored photos" not in model_card(meta)
    meta["config"]["pose_default"]["keypose_mirror"] = True
    assert ("; each key-pose photo pair is learnt a second time from the poses of its mirror "
            "image, mapped back") in model_card(meta)
    meta["config"]["pose_default"]["clip_mirror"] = True
    assert "; each clip and each key-pose photo pair is learnt a second time" in model_card(meta)


def test_the_card_names_the_occlusion_and_the_tempo_features_when_on() -> None:
    meta = {**_meta(), "config": {"pose_default": {"augment_copies": 2, "occlusion": "missing"}},
            "tempo": True}
    card = model_card(meta)
    assert ("2 per item (camera pitch ±10°; with probability 0.5 one limb of one side "
            "missing") in card
    assert "and in a video how the joints move" in card and "faded" not in card
    assert "faded to 0 for a joint whose range is below about 0.1" in model_card(
        {**meta, "still_range": 0.1})
    meta = {**meta, "config": {"pose_default": {"augment_copies": 2}}, "tempo": False}
    card = model_card(meta)
    assert "one side missing" not in card and "how the joints move" not in card


def test_the_card_says_how_a_video_s_windows_are_pooled() -> None:
    assert "A video's score is the mean over its windows with a person." in model_card(_meta())
    card = model_card({**_meta(), "pool_motion": 0.05})
    assert "each weighted by r² / (r² + 0.05²), r how far its joints move" in card


def test_the_card_says_how_a_photo_pair_is_scored() -> None:
    assert "photo pair's score" not in model_card(_meta())
    card = model_card({**_meta(), "pair_videos": 4, "knn": {"k": 5, "pair_k": 10}})
    assert ("A key-position photo pair's score is the mean of its photos' scores and of 4 "
            "pseudo-videos" in card)
    assert "its k-NN blend takes 10 neighbours" in card


def test_the_card_says_when_a_window_s_neighbours_are_looked_up_in_its_clip() -> None:
    assert "k-NN neighbours" not in model_card({**_meta(), "knn": {"k": 5, "context": 0.0}})
    card = model_card({**_meta(), "knn": {"k": 5, "context": 0.4}})
    assert ("A window's k-NN neighbours are those of its embedding moved 0.4 of the way towards "
            "its clip's") in card


def test_the_card_says_which_output_scores_videos_and_photo_pairs() -> None:
    assert "label conventions" not in model_card(_meta())
    meta = _meta()
    card = model_card({**meta, "kwargs": {**meta.get("kwargs", {}), "label_domains": "bias"},
                       "knn": {"k": 5, "domain_labels": "translate"}})
    assert ("(the library's: a per-member bias on the shared output layer): a video is scored "
            "with the wild clips' output, a key-position photo pair with the library's") in card
    assert "(`knn.domain_labels: translate`)" in card
    card = model_card({**meta, "knn": {"k": 5, "domain_labels": "exercise"}})
    assert "a video is scored" not in card
    assert ("a video's k-NN blend reads a key-pose library entry's labels in the wild clips' "
            "convention where training has wild clips of its exercise") in card
