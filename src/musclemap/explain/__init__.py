"""Attribution maps: which pixels, frames and joints drove a muscle group's score (paper Fig. 6).

- `gradcam`: Grad-CAM (and HiResCAM) for the video models and TransM3E's RGB branch, per muscle
  group, as a `(T, H, W)` map over the input clip.
- `gradients`: gradient x input and integrated gradients over a skeleton model's pose input,
  summed to a joint x time map.
- `occlusion`: model-agnostic occlusion through `Predictor.predict_poses` (the default predict
  model, whatever it is): mask a joint, or a joint over a time span, and measure the score's drop.

Pictures are in `musclemap.viz.attribution`, the command in `musclemap.cli.explain`.
"""

from __future__ import annotations

from musclemap.errors import MusclemapError
from musclemap.taxonomy import GROUP_IDS, MUSCLE_GROUPS

_BY_NAME = {g.name: g.id for g in MUSCLE_GROUPS}


def resolve_group(name: str) -> int:
    """Index of a muscle group given by id ("inner_thigh") or name ("inner thigh").

    Raises:
        MusclemapError: Unknown group (one line listing the valid ids).
    """
    key = name.strip().lower()
    key = _BY_NAME.get(key, key).replace(" ", "_").replace("-", "_")
    if key not in GROUP_IDS:
        raise MusclemapError(f"unknown muscle group {name!r}; choose one of {', '.join(GROUP_IDS)}")
    return GROUP_IDS.index(key)
