"""Skeleton layouts: one source of truth for joints, edges, centre and left/right pairs.

Keypoint arrays are `(..., V, C)` with C = 2 or 3 coordinates, optionally followed by a score
channel. Graphs, bones, flips and drawings all take a `SkeletonLayout`; no layout-name branching.
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch only for `adjacency`: pose features and predict run without it
    import torch


@dataclass(frozen=True)
class SkeletonLayout:
    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    center: int
    has_score: bool = True

    def __post_init__(self) -> None:
        n = len(self.joints)
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueError(f"{self.name}: bad edge ({a}, {b})")
        if len(set(self.joints)) != n:
            raise ValueError(f"{self.name}: duplicate joint names")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    @cached_property
    def flip_pairs(self) -> tuple[tuple[int, int], ...]:
        """Left/right joint pairs, found by name (left_x <-> right_x)."""
        pairs = []
        for i, name in enumerate(self.joints):
            if "left" in name:
                j = self.joints.index(name.replace("left", "right"))
                pairs.append((i, j))
        return tuple(pairs)

    @cached_property
    def flip_permutation(self) -> np.ndarray:
        perm = np.arange(self.num_joints)
        for i, j in self.flip_pairs:
            perm[i], perm[j] = j, i
        return perm

    def adjacency(self, *, normalize: bool = True, self_loops: bool = True) -> torch.Tensor:
        """Symmetric (V, V) adjacency; normalised as D^-1/2 (A + I) D^-1/2 when asked."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for i, j in self.edges:
            a[i, j] = a[j, i] = 1.0
        if self_loops:
            a += np.eye(self.num_joints, dtype=np.float32)
        if normalize:
            d = a.sum(1)
            inv = np.where(d > 0, d**-0.5, 0.0).astype(np.float32)
            a = inv[:, None] * a * inv[None, :]
        import torch

        return torch.from_numpy(a)

    @cached_property
    def hop_distance(self) -> np.ndarray:
        """(V, V) shortest-path hop counts; `inf` between disconnected joints."""
        n = self.num_joints
        nbrs: list[list[int]] = [[] for _ in range(n)]
        for i, j in self.edges:
            nbrs[i].append(j)
            nbrs[j].append(i)
        dist = np.full((n, n), np.inf)
        for s in range(n):
            dist[s, s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                for v in nbrs[u]:
                    if dist[s, v] == np.inf:
                        dist[s, v] = dist[s, u] + 1
                        queue.append(v)
        return dist

    @cached_property
    def parents(self) -> np.ndarray:
        """Parent of each joint in the breadth-first tree from the centre (centre: itself)."""
        hops = self.hop_distance[self.center]
        parent = np.arange(self.num_joints)
        for i, j in self.edges:
            if hops[i] + 1 == hops[j] and parent[j] == j:
                parent[j] = i
            elif hops[j] + 1 == hops[i] and parent[i] == i:
                parent[i] = j
        return parent

    def bones(self, keypoints: np.ndarray) -> np.ndarray:
        """Bone vectors joint - parent for the coordinate channels (score channel kept)."""
        out = keypoints.copy()
        ncoord = keypoints.shape[-1] - (1 if self.has_score else 0)
        out[..., :ncoord] = keypoints[..., :ncoord] - keypoints[..., self.parents, :ncoord]
        return out

    def flip(self, keypoints: np.ndarray) -> np.ndarray:
        """Mirror left/right: negate x (assumed centred) and swap paired joints."""
        out = keypoints[..., self.flip_permutation, :].copy()
        out[..., 0] = -out[..., 0]
        return out

    def pair(self, joint: str) -> tuple[int, ...]:
        """Indices of `left_<joint>` and `right_<joint>`; `(center,)` when the layout lacks one."""
        names = (f"left_{joint}", f"right_{joint}")
        if all(n in self.joints for n in names):
            return self.index(names[0]), self.index(names[1])
        return (self.center,)

    def midpoint(self, coords: np.ndarray, joint: str) -> np.ndarray:
        """`(..., C)` midpoint of a left/right pair of `(..., V, C)` coordinates (`pair`)."""
        idx = self.pair(joint)
        if len(idx) == 1:
            return coords[..., idx[0], :]
        return 0.5 * (coords[..., idx[0], :] + coords[..., idx[1], :])

    def torso_length(self, coords: np.ndarray) -> np.ndarray:
        """`(...)` distance from the hips' midpoint to the shoulders' midpoint: the body's unit
        of length for centring and scaling (NaN coordinates give NaN)."""
        return np.linalg.norm(self.midpoint(coords, "shoulder") - self.midpoint(coords, "hip"),
                              axis=-1)


def _edges(names: tuple[str, ...], pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((names.index(a), names.index(b)) for a, b in pairs)


def _limbs(side: str) -> list[tuple[str, str]]:
    return [
        (f"{side}_shoulder", f"{side}_elbow"),
        (f"{side}_elbow", f"{side}_wrist"),
        (f"{side}_hip", f"{side}_knee"),
        (f"{side}_knee", f"{side}_ankle"),
    ]


_COCO_JOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# The tree used by pyskl/mmaction for COCO-17 (no shoulder-shoulder or hip-hip edge).
COCO17 = SkeletonLayout(
    "coco17",
    _COCO_JOINTS,
    _edges(
        _COCO_JOINTS,
        _limbs("left")
        + _limbs("right")
        + [
            ("left_shoulder", "left_hip"),
            ("right_shoulder", "right_hip"),
            ("nose", "left_shoulder"),
            ("nose", "right_shoulder"),
            ("nose", "left_eye"),
            ("nose", "right_eye"),
            ("left_eye", "left_ear"),
            ("right_eye", "right_ear"),
        ],
    ),
    center=0,
)

_MP_JOINTS = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)


def _mp_side(s: str) -> list[tuple[str, str]]:
    return _limbs(s) + [
        (f"{s}_wrist", f"{s}_pinky"),
        (f"{s}_wrist", f"{s}_index"),
        (f"{s}_wrist", f"{s}_thumb"),
        (f"{s}_pinky", f"{s}_index"),
        (f"{s}_ankle", f"{s}_heel"),
        (f"{s}_heel", f"{s}_foot_index"),
        (f"{s}_ankle", f"{s}_foot_index"),
        (f"{s}_shoulder", f"{s}_hip"),
        (f"{s}_eye_inner", f"{s}_eye"),
        (f"{s}_eye", f"{s}_eye_outer"),
        (f"{s}_eye_outer", f"{s}_ear"),
        ("nose", f"{s}_eye_inner"),
        ("nose", f"mouth_{s}"),
        ("nose", f"{s}_shoulder"),
    ]


# MediaPipe's POSE_CONNECTIONS, plus nose-mouth and nose-shoulder edges (as COCO-17 has) so
# that the graph is connected: hop distances, partitions and hierarchies need one component.
MEDIAPIPE33 = SkeletonLayout(
    "mediapipe33",
    _MP_JOINTS,
    _edges(
        _MP_JOINTS,
        _mp_side("left")
        + _mp_side("right")
        + [
            ("mouth_left", "mouth_right"),
            ("left_shoulder", "right_shoulder"),
            ("left_hip", "right_hip"),
        ],
    ),
    center=0,
)

_NTU_JOINTS = (
    "spine_base",
    "spine_mid",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "left_hand",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "right_hand",
    "left_hip",
    "left_knee",
    "left_ankle",
    "left_foot",
    "right_hip",
    "right_knee",
    "right_ankle",
    "right_foot",
    "spine_shoulder",
    "left_hand_tip",
    "left_thumb",
    "right_hand_tip",
    "right_thumb",
)
NTU25 = SkeletonLayout(
    "ntu25",
    _NTU_JOINTS,
    tuple(
        (a - 1, b - 1)
        for a, b in [
            (1, 2),
            (2, 21),
            (3, 21),
            (4, 3),
            (5, 21),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 21),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
            (22, 23),
            (23, 8),
            (24, 25),
            (25, 12),
        ]
    ),
    center=20,
    has_score=False,
)

_OPENPOSE_JOINTS = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)
OPENPOSE18 = SkeletonLayout(
    "openpose18",
    _OPENPOSE_JOINTS,
    (
        (4, 3),
        (3, 2),
        (7, 6),
        (6, 5),
        (13, 12),
        (12, 11),
        (10, 9),
        (9, 8),
        (11, 5),
        (8, 2),
        (5, 1),
        (2, 1),
        (0, 1),
        (15, 0),
        (14, 0),
        (17, 15),
        (16, 14),
    ),
    center=1,
)

LAYOUTS: dict[str, SkeletonLayout] = {
    lay.name: lay for lay in (COCO17, MEDIAPIPE33, NTU25, OPENPOSE18)
}


def get_layout(name: str) -> SkeletonLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton layout {name!r}; known: {', '.join(LAYOUTS)}") from None


def as_layout(layout: SkeletonLayout | str) -> SkeletonLayout:
    """A layout given as itself or by name ("coco17", "mediapipe33", "ntu25", "openpose18")."""
    if isinstance(layout, SkeletonLayout):
        return layout
    if isinstance(layout, str):
        return get_layout(layout)
    kind = type(layout).__name__
    raise TypeError(f"layout must be a SkeletonLayout or a layout name, got {kind}")


def median_torso_length(
    coords: np.ndarray, layout: SkeletonLayout, *, min_length: float, default: float
) -> float:
    """One body scale per sequence: the median over frames of `layout.torso_length` of
    `(T, V, C)` coordinates, ignoring NaN frames; `default` when it is not above `min_length`
    (no torso seen, or a degenerate one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: no frame shows a torso
        scale = float(np.nanmedian(layout.torso_length(coords)))
    return scale if np.isfinite(scale) and scale > min_length else default


def convert_keypoints(kp: np.ndarray, src: SkeletonLayout, dst: SkeletonLayout) -> np.ndarray:
    """Re-index `(..., V_src, C)` keypoints to `dst` by joint name.

    Joints `dst` has and `src` lacks become NaN, with score 0 when the last channel is a score.
    """
    if kp.shape[-2] != src.num_joints:
        raise ValueError(f"expected {src.num_joints} joints for {src.name}, got {kp.shape[-2]}")
    out = np.full((*kp.shape[:-2], dst.num_joints, kp.shape[-1]), np.nan, dtype=np.float32)
    for j, name in enumerate(dst.joints):
        if name in src.joints:
            out[..., j, :] = kp[..., src.index(name), :]
        elif src.has_score and dst.has_score:
            out[..., j, -1] = 0.0
    return out
