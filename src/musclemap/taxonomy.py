"""The 20 muscle groups of MuscleMap (paper Sec. III-B), in the paper's order.

The order is the label index used by the original release (muscle indices 0-19); `id` is the
public name of a group in every input and output of musclemap (JSON keys, CSV columns, CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MuscleGroup:
    index: int
    id: str
    name: str
    region: str  # "front", "back" or "both": where the body map draws it
    muscles: tuple[str, ...]


_ROWS: tuple[tuple[str, str, str, str], ...] = (
    (
        "neck_head",
        "neck and head",
        "both",
        "occipitofrontalis; temporoparietalis; levator labii superioris; masticatory muscles; "
        "sternocleidomastoid",
    ),
    ("chest", "chest", "front", "pectoralis major"),
    ("shoulder", "shoulder", "both", "deltoid"),
    ("biceps", "biceps", "front", "biceps brachii"),
    ("triceps", "triceps", "back", "triceps brachii"),
    (
        "forearms",
        "forearms",
        "both",
        "flexor carpi radialis; palmaris longus; abductor pollicis longus",
    ),
    ("upper_back", "upper back", "back", "trapezius"),
    ("latissimus", "latissimus", "back", "latissimus dorsi"),
    ("obliques", "obliques", "front", "external oblique; serratus anterior"),
    ("upper_abdominis", "upper abdominis", "front", "rectus abdominis; quadratus lumborum"),
    ("lower_abdominis", "lower abdominis", "front", "transversus abdominis; pyramidalis"),
    ("lower_back", "lower back", "back", "erector spinae"),
    ("hamstring", "hamstring", "back", "biceps femoris; semimembranosus; semitendinosus"),
    ("quadriceps", "quadriceps", "front", "rectus femoris; vastus medialis"),
    ("calves", "calves", "back", "gastrocnemius; soleus"),
    ("inner_thigh", "inner thigh", "front", "adductor longus; sartorius; gracilis"),
    ("outer_thigh", "outer thigh", "both", "iliotibial tract"),
    ("gluteus", "gluteus", "back", "gluteus maximus"),
    (
        "feet_ankles",
        "feet and ankles",
        "both",
        "peroneus longus and brevis; extensor digitorum longus; flexor hallucis longus; "
        "flexor digitorum longus; peroneus tertius; tibialis posterior",
    ),
    (
        "wrists",
        "wrists",
        "both",
        "extensor pollicis; first dorsal interosseous; pronator quadratus",
    ),
)

MUSCLE_GROUPS: tuple[MuscleGroup, ...] = tuple(
    MuscleGroup(i, gid, name, region, tuple(m.strip() for m in muscles.split(";")))
    for i, (gid, name, region, muscles) in enumerate(_ROWS)
)
GROUP_IDS: tuple[str, ...] = tuple(g.id for g in MUSCLE_GROUPS)
NUM_GROUPS = len(GROUP_IDS)
_INDEX = {gid: i for i, gid in enumerate(GROUP_IDS)}


def group_index(group_id: str) -> int:
    """Index (0-19) of a group id; raises KeyError naming the valid ids."""
    try:
        return _INDEX[group_id]
    except KeyError:
        raise KeyError(
            f"unknown muscle group {group_id!r}; valid: {', '.join(GROUP_IDS)}"
        ) from None


def to_multi_hot(group_ids: list[str] | tuple[str, ...]) -> np.ndarray:
    """Multi-hot float32 vector (20,) from group ids."""
    out = np.zeros(NUM_GROUPS, dtype=np.float32)
    for gid in group_ids:
        out[group_index(gid)] = 1.0
    return out


def from_multi_hot(vector: np.ndarray) -> list[str]:
    """Group ids (in taxonomy order) whose entry is positive."""
    return [GROUP_IDS[i] for i in np.flatnonzero(np.asarray(vector) > 0)]
