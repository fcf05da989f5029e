"""`GET /api/jobs/{job_id}/explain.png?group=G`: the occlusion picture of a finished job.

A self-contained router (no change to the job machinery in this module): the app supplies
`pose_file_of(job_id)`, the path of the job's stored pose sequence (`pose.npz`, written by
`musclemap.data.pose_sequence.save_pose_file` next to the job's pictures, deleted with them) or
None when the job kept no poses (it may raise HTTPException itself, e.g. 404 for an unknown job);
and `predictor()`, the Predictor whose scoring is explained (the same model that produced the job).
The picture is computed on first request (about 33 x (1 + seconds) scorings of the pose
sequence; no video is decoded), one at a time per server, and cached beside the pose file as
`explain-<group>.png`.

Wiring (in `musclemap.web.app.create_app`): `app.include_router(explain_router(pose_file_of,
predictor))`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from musclemap.errors import MusclemapError
from musclemap.taxonomy import GROUP_IDS


def explain_picture(
    pose_file: Path, group: str, predictor: Callable[[], Any], *, span_s: float = 1.0
) -> Path:
    """Write (once) and return `explain-<group>.png` beside `pose_file`.

    `predictor()` gives the Predictor; it is only called when the picture is not cached yet.

    Raises:
        MusclemapError: Unknown group (the message lists the ids), or a pose file that cannot be
            scored (too short, no person).
    """
    from musclemap.data.pose_sequence import load_pose_file
    from musclemap.explain import resolve_group
    from musclemap.explain.occlusion import occlusion_attribution, predictor_scorer
    from musclemap.viz.attribution import render_occlusion_picture

    g = resolve_group(group)
    out = pose_file.with_name(f"explain-{GROUP_IDS[g]}.png")
    if out.is_file():
        return out
    seq = load_pose_file(pose_file)
    res = occlusion_attribution(predictor_scorer(predictor(), g), seq, g, span_s=span_s)
    tmp = out.with_name(f".{out.stem}.{threading.get_ident()}.tmp.png")
    render_occlusion_picture(tmp, seq, res)
    tmp.replace(out)  # concurrent requests for one group never serve a half-written file
    return out


def explain_router(
    pose_file_of: Callable[[str], Path | None], predictor: Callable[[], Any]
) -> APIRouter:
    """The explain endpoint over the app's jobs (see the module docstring)."""
    router = APIRouter(tags=["jobs"])
    # One computation at a time: each is seconds of CPU in the server process, and a second
    # request for the same picture then finds it cached.
    computing = threading.Lock()

    @router.get(
        "/api/jobs/{job_id}/explain.png",
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {}}}, 404: {}, 409: {}, 422: {}},
    )
    def explain_png(
        job_id: str,
        group: str = Query(description="Muscle group id, e.g. quadriceps."),
    ) -> FileResponse:
        """Which joints drove a group's score: skeleton and joint x time map (PNG)."""
        from musclemap.explain import resolve_group

        try:
            gid = GROUP_IDS[resolve_group(group)]
        except MusclemapError as err:
            raise HTTPException(422, str(err)) from None
        pose_file = pose_file_of(job_id)
        if pose_file is None or not pose_file.is_file():
            raise HTTPException(404, f"job {job_id[:40]!r} has no stored poses to explain")
        cached = pose_file.with_name(f"explain-{gid}.png")
        if cached.is_file():
            return FileResponse(cached, media_type="image/png")
        try:
            # A plain def: FastAPI runs it in its thread pool, so the event loop stays free.
            with computing:
                path = explain_picture(pose_file, gid, predictor)
        except (MusclemapError, OSError) as err:
            if not pose_file.is_file():  # the job was forgotten meanwhile (--keep-finished)
                raise HTTPException(404, f"job {job_id[:40]!r} is gone") from None
            if isinstance(err, OSError):
                raise
            raise HTTPException(409, str(err)) from None  # poses that cannot be scored
        return FileResponse(path, media_type="image/png")

    return router
