"""`musclemap explain VIDEO --group G --out x.png|x.mp4`: what drove one muscle group's score.

Default (the predict model, or `--ckpt` predict weights): occlusion through the Predictor's
scoring (`musclemap.explain.occlusion`), pictured as the skeleton with joints coloured plus a
joint x time heat map (.png), or the video with coloured joints (.mp4).
With `--config CONFIG --checkpoint CKPT` (a research model): Grad-CAM over the centre clip for
RGB video models and TransM3E's RGB branch (.png frames / .mp4 clip), gradient attribution for
skeleton models (.png).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from musclemap.cli.app import app, file_option
from musclemap.cli.predict import (
    POSE_ESTIMATOR_HELP,
    console,
    err_console,
    fps_option,
    model_inputs,
    pose_estimator_option,
)
from musclemap.errors import ConfigError, MusclemapError, VideoError
from musclemap.outputs import check_writable

if TYPE_CHECKING:
    from musclemap.explain.inputs import ResearchInputs
    from musclemap.pose.estimator import PoseEstimator


@app.command()
def explain(
    video: Annotated[Path, typer.Argument(help="The video to explain.")],
    group: Annotated[str, typer.Option(help="Muscle group id, e.g. quadriceps.")],
    out: Annotated[
        Path, typer.Option(help="Picture (.png) or video (.mp4) to write.", parser=file_option)
    ],
    ckpt: Annotated[
        Path | None, typer.Option(help="Predict weights (run folder or .safetensors).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Research model: experiment config.")] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Research model: checkpoint (.pt) for --config.")
    ] = None,
    span: Annotated[float, typer.Option(help="Time span of the joint x time map (s).")] = 1.0,
    method: Annotated[
        str, typer.Option(help="gradcam | hirescam (video); integrated_gradients | grad_input.")
    ] = "",
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the attribution numbers.", parser=file_option),
    ] = None,
    fps: Annotated[
        float,
        typer.Option(help="Pose sampling rate (frames per second).", callback=fps_option),
    ] = 10.0,
    cache: Annotated[bool, typer.Option(help="Reuse cached poses of a video.")] = True,
    pose_estimator: Annotated[
        str | None, typer.Option(help=POSE_ESTIMATOR_HELP, callback=pose_estimator_option)
    ] = None,
) -> None:
    """Which joints (predict model) or which pixels (research video model) drove a group."""
    from musclemap.explain import resolve_group

    g = resolve_group(group)
    if out.suffix.lower() not in (".png", ".mp4"):
        raise MusclemapError(f"--out must end in .png or .mp4, got {str(out)!r}")
    if not video.is_file():
        from musclemap.textfile import missing_reason

        raise VideoError(f"{video}: {missing_reason(video)}")
    if not (math.isfinite(span) and span > 0):  # NaN passed `span <= 0` and crashed later
        raise MusclemapError(f"--span must be a positive number of seconds, got {span:g}")
    _check_outputs(out, json_path, video, [ckpt, config, checkpoint], ckpt)
    if (config is None) != (checkpoint is None):
        raise ConfigError("a research model needs both --config and --checkpoint")
    if config is not None and ckpt is not None:
        raise ConfigError("--ckpt (predict weights) and --config/--checkpoint exclude each other")
    if method and config is None:
        raise ConfigError("--method is for research models; the predict model uses occlusion")
    from musclemap.pose.estimator import estimator_for

    # None: the predict model's own estimator (its weights say), MediaPipe for research models.
    estimator = None if pose_estimator is None else estimator_for(pose_estimator)
    from musclemap.outputs import atomic_path, write_text

    # The picture or video goes through a temporary file: an interrupted run leaves none.
    with atomic_path(out, "--out") as tmp:
        if config is not None:
            assert checkpoint is not None
            numbers = _explain_research(video, g, tmp, config, checkpoint, method, fps, estimator)
        else:
            numbers = _explain_predict(video, g, tmp, ckpt, span, fps, cache, estimator)
    if json_path is not None:
        write_text(json_path, json.dumps(numbers, indent=1), "--json")
    console.print(f"wrote {out}" + (f" and {json_path}" if json_path else ""))


def _check_outputs(
    out: Path,
    json_path: Path | None,
    video: Path,
    inputs: list[Path | None],
    ckpt: Path | None = None,
) -> None:
    """Before any work: both outputs writable, distinct, and none of them an input."""
    from musclemap.outputs import refuse_inputs, same_file

    # The predict weights' JSON too (`model_inputs`: nothing imported without --ckpt).
    named = [("input video", video), *(("model file", p) for p in inputs), *model_inputs(ckpt)]
    for option, path in (("--out", out), ("--json", json_path)):
        if path is not None:
            refuse_inputs(path, option, named)
            check_writable(path, option)
    if json_path is not None and same_file(out, json_path):
        raise MusclemapError(f"--json and --out both write {out}")


def _explain_predict(
    video: Path,
    g: int,
    out: Path,
    ckpt: Path | None,
    span: float,
    fps: float,
    cache: bool,
    estimator: PoseEstimator | str | None,
) -> dict[str, Any]:
    from rich.progress import Progress

    from musclemap.cli.predict import load_predictor
    from musclemap.explain.occlusion import occlusion_attribution, predictor_scorer

    predictor = load_predictor(ckpt, "cpu", cache, estimator)
    with Progress(transient=True, console=err_console) as bar:
        task = bar.add_task(video.name, total=1.0)

        def report(f: float, msg: str) -> None:
            bar.update(task, completed=f, description=msg)

        seq = predictor.predict(video, fps=fps, progress=report).pose
        assert seq is not None
        res = occlusion_attribution(
            predictor_scorer(predictor, g), seq, g, span_s=span, progress=report
        )
    _print_joints(res.group, res.base, res.joints, res.joint, "probability")
    if out.suffix.lower() == ".png":
        from musclemap.viz.attribution import render_occlusion_picture

        render_occlusion_picture(out, seq, res)
    else:
        from musclemap.skeleton import MEDIAPIPE33
        from musclemap.viz.attribution import write_joint_overlay

        write_joint_overlay(
            video,
            out,
            image=seq.image,
            valid=seq.valid,
            times=seq.times,
            joint_time=res.joint_time,
            edges=res.edges,
            layout=MEDIAPIPE33,
            caption=f"{res.group}: red joints drive the score, blue lower it",
        )
    return res.to_dict()


def _print_joints(
    group: str, base: float, names: tuple[str, ...], joint: np.ndarray, what: str
) -> None:
    console.print(f"{group}: {what} {base:.3f}; strongest joints:")
    for j in np.argsort(-np.abs(joint))[:5]:
        console.print(f"  {names[j]:<18} {joint[j]:+.4f}")


def _explain_research(
    video: Path,
    g: int,
    out: Path,
    config: Path,
    checkpoint: Path,
    method: str,
    fps: float,
    estimator: PoseEstimator | str | None,
) -> dict[str, Any]:
    from musclemap.config import load_config
    from musclemap.engine.checkpoint import load_checkpoint
    from musclemap.engine.train import build_experiment_model

    cfg = load_config(config, [])
    model = build_experiment_model(cfg)
    load_checkpoint(model, checkpoint, strict=True)
    if cfg.data.modality not in ("rgb", "pose"):
        raise ConfigError(
            f"explain shows RGB video or pose models; data.modality is {cfg.data.modality!r}"
        )
    from musclemap.explain.inputs import research_inputs

    inputs = research_inputs(cfg, video, fps=fps, estimator=estimator)
    if cfg.data.modality == "pose":
        return _explain_skeleton(model, cfg, inputs, g, out, method or "integrated_gradients")
    return _explain_video(model, cfg, inputs, g, out, method or "gradcam")


def _explain_video(
    model: Any, cfg: Any, clip: ResearchInputs, g: int, out: Path, method: str
) -> dict[str, Any]:
    from musclemap.explain.gradcam import METHODS, grad_cam
    from musclemap.taxonomy import GROUP_IDS
    from musclemap.viz.attribution import render_cam_frames, write_cam_video

    if method not in METHODS:
        raise ConfigError(f"--method for video models: {', '.join(METHODS)}; got {method!r}")
    assert clip.video is not None and clip.frames is not None
    try:
        res = grad_cam(model, clip.video, g, other=clip.other, method=method)  # type: ignore[arg-type]
    except ValueError as err:
        raise ConfigError(str(err)) from None
    name = GROUP_IDS[g]
    console.print(f"{name}: logit {res.score[0]:+.3f} ({method} at {res.target.module})")
    cam = res.cam[0]
    if out.suffix.lower() == ".png":
        title = f"{name}: {method} of {cfg.model.name} (logit {res.score[0]:+.2f})"
        render_cam_frames(out, clip.frames, cam, title=title, times=clip.times)
    else:
        write_cam_video(out, clip.frames, cam, fps=clip.fps)
    return {
        "group": name,
        "method": method,
        "model": cfg.model.name,
        "target_layer": res.target.module,
        "logit": float(res.score[0]),
        "frame_times_s": [round(float(t), 3) for t in clip.times],
        "frame_mass": [round(float(v), 5) for v in cam.sum((1, 2)) / max(cam.sum(), 1e-12)],
    }


def _explain_skeleton(
    model: Any, cfg: Any, clip: ResearchInputs, g: int, out: Path, method: str
) -> dict[str, Any]:
    from musclemap.explain.gradients import METHODS, pose_attribution
    from musclemap.taxonomy import GROUP_IDS
    from musclemap.viz.attribution import render_joint_attribution

    if method not in METHODS:
        raise ConfigError(f"--method for skeleton models: {', '.join(METHODS)}; got {method!r}")
    if out.suffix.lower() != ".png":
        raise MusclemapError("skeleton research models are explained as a .png")
    assert clip.pose is not None and clip.layout is not None
    res = pose_attribution(model, clip.pose, g, method=method)  # type: ignore[arg-type]
    values = res.values[0].T  # (V, T)
    joint = values.sum(1)
    name = GROUP_IDS[g]
    _print_joints(name, float(res.score[0]), clip.layout.joints, joint, "logit")
    frame = int(np.argmax(np.abs(values).sum(0)))
    render_joint_attribution(
        out,
        layout=clip.layout,
        pose_xy=clip.pose[0, 0, frame, :, :2].numpy(),
        joint=joint,
        joint_time=values,
        edges=clip.times,
        title=f"{name}: {method} of {cfg.model.name} (logit {res.score[0]:+.2f})",
        value_label="contribution to the logit",
        pose_label=f"model input at {clip.times[frame]:.1f} s (normalised); colour: sum over time",
    )
    return {
        "group": name,
        "method": method,
        "model": cfg.model.name,
        "logit": float(res.score[0]),
        "joints": list(clip.layout.joints),
        "joint": [round(float(v), 6) for v in joint],
        "span_edges_s": [round(float(t), 3) for t in clip.times],
        "joint_time": [[round(float(v), 6) for v in row] for row in values],
    }
