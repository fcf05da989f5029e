"""MediaPipe Pose (BlazePose, 33 landmarks) behind the `PoseEstimator` protocol.

Pinned to mediapipe==0.10.21, whose wheel carries the model_complexity=1 ("full") pose
landmark model; complexity 0 ("lite") and 2 ("heavy") are downloaded on first use, which fails
offline, so only 1 is accepted. MediaPipe Pose tracks a single person: after a detection it
follows that person's region from frame to frame and only re-detects when tracking is lost.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.data.pose_sequence import PoseFrame
from musclemap.skeleton import MEDIAPIPE33

# Quieten glog/TFLite start-up chatter before mediapipe is imported.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUPPORTED_COMPLEXITY = (1,)
# A MediaPipe graph (and its threads) was started in this process: forking it is unsafe.
GRAPH_STARTED = False


@dataclass(frozen=True)
class RoiGrid:
    """The grid the tracking region fed back from one frame to the next is snapped to.

    MediaPipe crops frame t at a region made from frame t-1's landmarks, so two trackers
    started at different frames carry their centimetre differences on forever. Snapped to a
    grid, two regions closer than a step are usually the same region, and on the same region
    the landmark model gives the same landmarks bit for bit: the trackers synchronise.

    Args:
        centre_px: Grid of the region's centre, in pixels of the frame fed to the tracker.
        size_step: Step of the region's side on a log scale (0.02: sides 2% apart).
        angle_deg: Step of the region's rotation, in degrees.
        raw_aux: Make the region from the unsmoothed auxiliary landmarks, so that the region
            is the tracker's whole state (the graph's own heavy smoothing of them carries
            state of its own that a shared region does not reset).
        hold: Keep the region fed last while the new one is at most this many steps from it
            in every coordinate (a steady crop for a still person without a filter's state;
            0: always the new one).
    """

    centre_px: float = 4.0
    size_step: float = 0.02
    angle_deg: float = 2.0
    raw_aux: bool = True
    hold: int = 0

    def __post_init__(self) -> None:
        if min(self.centre_px, self.size_step, self.angle_deg) <= 0 or self.hold < 0:
            raise ValueError(f"a RoiGrid needs positive steps and a hold >= 0, got {self}")

    def cells(self, rect: Any, width: int, height: int) -> tuple[int, int, int, int]:
        """The grid cell of a NormalizedRect of a `width` x `height` frame: centre x and y,
        log side and rotation, in steps."""
        side = max(rect.width * width, rect.height * height)
        return (
            round(rect.x_center * width / self.centre_px),
            round(rect.y_center * height / self.centre_px),
            round(np.log(side) / self.size_step) if side > 0 else 0,
            round(rect.rotation / np.deg2rad(self.angle_deg)),
        )

    def snap(self, rect: Any, width: int, height: int) -> tuple[int, int, int, int]:
        """Snap a NormalizedRect onto the grid, in place; its cell. The region is then a
        function of its cell alone (square in pixels, as the pose graph makes it: its
        `square_long` side), so two trackers in the same cell crop the same pixels."""
        cell = self.cells(rect, width, height)
        side = float(np.exp(cell[2] * self.size_step))
        rect.x_center = cell[0] * self.centre_px / width
        rect.y_center = cell[1] * self.centre_px / height
        rect.width = side / width
        rect.height = side / height
        rect.rotation = cell[3] * float(np.deg2rad(self.angle_deg))
        return cell


class MediaPipePoseEstimator:
    """One tracked person per frame with MediaPipe Pose (`static_image_mode=False`).

    Args:
        model_complexity: Must be 1 (the only model inside the wheel).
        min_detection_confidence: Person-detector threshold.
        min_tracking_confidence: Below this the tracker re-detects on the next frame.
        smooth_landmarks: MediaPipe's temporal filter over landmarks.
        roi_grid: Snap the tracking region to this grid (`RoiGrid`, a tracker that rejoins
            another started elsewhere); None (the default): MediaPipe's own tracking.

    Raises:
        ValueError: `model_complexity` other than 1.
        ImportError: mediapipe is not installed (`pip install musclemap[pose]`).
    """

    name = "mediapipe_pose"
    layout = MEDIAPIPE33

    def __init__(
        self,
        *,
        model_complexity: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
        roi_grid: RoiGrid | None = None,
    ) -> None:
        if model_complexity not in SUPPORTED_COMPLEXITY:
            raise ValueError(
                f"model_complexity={model_complexity} is not supported: mediapipe 0.10.21 ships "
                "only the complexity-1 pose model and would download the others (fails offline)"
            )
        self._version = mediapipe_version()
        self._config: dict[str, Any] = {
            "model_complexity": int(model_complexity),
            "min_detection_confidence": float(min_detection_confidence),
            "min_tracking_confidence": float(min_tracking_confidence),
            "smooth_landmarks": bool(smooth_landmarks),
        }
        self._roi_grid = roi_grid
        self._pose: Any = None
        # No person found since the graph started or was reset: the next process() may start
        # the graph (and log from C++), and the graph holds no tracking or smoothing state.
        self._fresh = True
        # The tracking graph's landmark smoothing in a graph of its own (from the first reset
        # of a graph that found someone on, see `reset`; from the start with a grid, whose
        # segments hand their smoothing inputs over, see `record`).
        self._apart = roi_grid is not None
        self._static: Any = None  # `detect`'s graph, started on its first call

    def settings(self) -> dict[str, Any]:
        grid = {} if self._roi_grid is None else {"roi_grid": asdict(self._roi_grid)}
        return {**self._config, **grid, "mediapipe": self._version}

    @property
    def exact_seams(self) -> bool:
        """Two trackers started at different frames become one (a `roi_grid`): segments of
        a video hand over where their `record`s are equal and `replay` the smoothing over the
        later segments' records (`musclemap.pose.parallel`), which gives the sequential poses
        bit for bit."""
        return self._roi_grid is not None

    def record(self) -> bytes:
        """The last `estimate`d frame as the next frames and the smoothing see it: the landmark
        smoothing's inputs (image size, region, unsmoothed image and world landmarks) and the
        region fed to the next frame, serialized (`replay` feeds them to another tracker's
        smoothing). Two trackers with equal records on a frame track on as one."""
        smoothing, feedback = self._grid_parts("records")
        return pack_record(smoothing.sent, feedback)

    def replay(self, record: bytes) -> PoseFrame | None:
        """Run this tracker's landmark smoothing on another tracker's `record` of the next
        frame (as if this tracker had tracked it: the next timestamp), without the models."""
        smoothing, feedback = self._grid_parts("replay")
        self._pose._simulated_timestamp += 33333  # as `process_frame`
        found = smoothing.replay(record, feedback.size, self._pose._simulated_timestamp)
        if found is None:
            return None
        image, world = found
        return PoseFrame(image=image[:, [0, 1, 3]], world=world)

    def _grid_parts(self, what: str) -> tuple[Smoothing, RoiFeedback]:
        """The smoothing graph and region feedback `record` and `replay` work on."""
        smoothing = smoothing_of(self._pose) if self._pose is not None else None
        feedback = roi_feedback_of(self._pose) if self._pose is not None else None
        if smoothing is None or feedback is None:
            raise RuntimeError(f"{what}: only for a tracker with a roi_grid that has estimated")
        return smoothing, feedback

    @property
    def fresh(self) -> bool:
        """No person found since the graph started or was reset: `reset()` costs nothing now."""
        return self._fresh

    def _graph(self) -> Any:
        global GRAPH_STARTED
        if self._pose is None:
            GRAPH_STARTED = True
            self._pose = new_pose(
                static_image_mode=False,
                enable_segmentation=False,
                smoothing_apart=self._apart,
                roi_grid=self._roi_grid,
                **self._config,
            )
        return self._pose

    def warm_up(self) -> None:
        """Import MediaPipe and start the graph now (pool workers do it while the caller works).

        The blank frame finds no person, so the graph stays as fresh as a new one (same
        landmarks afterwards, checked bit for bit): no reset, which would cost the next frame
        ~80 ms of model start-up again."""
        self.estimate(_BLANK)

    def reset(self) -> None:
        """Forget the tracked person and the landmark smoothing state (call between videos):
        the next frames' landmarks are a new graph's, bit for bit (tested).

        A graph that has found no person since its start (or the last reset) has no such
        state: then nothing is done. Otherwise a restart of the graph would make its next frame
        build both models' interpreters again (a reset and the next frame: ~0.10 s of CPU).
        So the first such reset replaces the graph by one whose landmark smoothing runs in a
        second graph without models (`new_pose(smoothing_apart=True)`), and every later one
        feeds the tracker a blank frame and restarts only the smoothing graph (~0.05 s with
        the next frame): finding nobody, the tracker detects afresh on the next frame, and the
        filter of its tracking region resets (it also reads the image size, so it runs on a
        frame without a person); the world and visibility filters, which nothing but a
        restart resets, are all in the smoothing graph. (The tracking region's visibility
        filter keeps its state, but nothing reads those visibilities: the region is made from
        x and y.)"""
        if self._pose is None or self._fresh:
            return
        smoothing = smoothing_of(self._pose)
        if smoothing is None:
            self._close_tracker()
            self._apart = True  # the next frame starts the graph as new, smoothing apart
        elif process_frame(self._pose, _BLANK) is None:
            smoothing.restart()
        else:  # someone in a blank frame (never seen): restart it all, as before
            self._pose.reset()
            smoothing.restart()
        self._fresh = True

    def estimate(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """Landmarks of the tracked person in an (H, W, 3) uint8 RGB frame, or None."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame_rgb.shape}")
        if self._fresh:
            # Starting the graph prints TFLite/absl notices straight to fd 2; nothing a user
            # can act on, so they are dropped (Python exceptions still propagate). The graph is
            # built inside the quiet window too: on its own executor thread its calculators
            # open (and log) after the build returns, at the latest before this frame's result.
            # The landmark model starts (and logs) only on the first frame with a person: quiet
            # until then.
            with _quiet_native_stderr():
                found = process_frame(self._graph(), np.ascontiguousarray(frame_rgb))
            self._fresh = found is None
            return found
        return process_frame(self._graph(), np.ascontiguousarray(frame_rgb))

    def detect(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """The person found afresh in one frame, as the tracking graph's first frame after a
        `reset()` finds it (the same landmarks bit for bit, tested), without changing what the
        tracker gives next: for the second-person checks.

        A tracker on a grid detects in its own tracking graph (`_detect_in_tracker`: the same
        landmarks to float rounding, tested). Otherwise a second graph in static-image mode
        (the same models and settings, detection on every frame, no tracking or smoothing
        state) is started on the first call and kept, so a check costs a detection, not a
        graph restart: a restart makes the next frame re-create both models' interpreters
        (~0.09 s of CPU, against ~0.015-0.035 s for the frame)."""
        global GRAPH_STARTED
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame_rgb.shape}")
        # Its start and its models' first use log from C++ (as `estimate`'s first frames do);
        # the few calls of the checks are kept quiet throughout.
        with _quiet_native_stderr():
            if self._roi_grid is not None and self._checks_since_frame() < _CHECKS_PER_FRAME:
                return self._detect_in_tracker(np.ascontiguousarray(frame_rgb))
            if self._static is None:
                GRAPH_STARTED = True
                self._static = new_pose(
                    static_image_mode=True, enable_segmentation=False, **self._config
                )
            return process_frame(self._static, np.ascontiguousarray(frame_rgb))

    def _checks_since_frame(self) -> int:
        """Checks `_detect_in_tracker` has run since the tracking graph's last frame."""
        if self._pose is None:
            return 0
        return max(getattr(self._pose, "check_stamp", 0) - self._pose._simulated_timestamp, 0)

    def _detect_in_tracker(self, frame_rgb: np.ndarray) -> PoseFrame | None:
        """`detect` on the tracking graph of a tracker on a grid, whose region comes from
        Python and whose smoothing is a graph apart: one frame fed without a region (the graph
        detects, as on the first frame after a reset) and never smoothed, after which the
        region feedback is put back as it was. Nothing else in that graph keeps state, so the
        tracker goes on as if no check had run (tested bit for bit). Its timestamp is 1 us
        after the last one (tracked or checked), not a frame later: the smoothing filters,
        which read the time between frames, see the tracked frames' times only. A second
        graph costs a start of both models' interpreters (~0.27 s of CPU, one per video in
        `predict`'s segment 0) against ~0.01 s for a check here."""
        pose = self._graph()
        feedback, smoothing = roi_feedback_of(pose), smoothing_of(pose)
        if feedback is None or smoothing is None:
            raise RuntimeError("a grid tracker's graph has region feedback and smoothing apart")
        saved = (feedback.last, feedback.size, feedback.fed, dict(smoothing.inputs))
        stamp = max(getattr(pose, "check_stamp", 0), pose._simulated_timestamp) + 1
        pose.check_stamp = stamp
        feedback.last = None  # no region: the graph detects
        feed_frame(pose, frame_rgb, stamp)
        image, world = _graph_landmarks(pose._graph_outputs)  # unsmoothed (`_split_smoothing`)
        pose._graph_outputs.clear()
        feedback.last, feedback.size, feedback.fed = saved[:3]
        smoothing.inputs.clear()  # this frame's image size and region: not for the filters
        smoothing.inputs.update(saved[3])
        if image is None or world is None:
            return None
        return PoseFrame(image=image[:, [0, 1, 3]], world=world)

    def _close_tracker(self) -> None:
        if self._pose is not None:
            smoothing = smoothing_of(self._pose)
            # A graph that never saw a person starts its landmark model while closing (and logs).
            with _quiet_native_stderr():
                self._pose.close()
                if smoothing is not None:
                    smoothing.close()
            self._pose = None
            self._fresh = True

    def close(self) -> None:
        self._close_tracker()
        if self._static is not None:
            with _quiet_native_stderr():
                self._static.close()
            self._static = None

    def __enter__(self) -> MediaPipePoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Checks on a tracking graph between two of its frames (`_detect_in_tracker`: 1 us apart, and
# the next frame comes 33333 us after the last); beyond, `detect` uses a graph of its own.
_CHECKS_PER_FRAME = 33332
# A frame without a person (`warm_up`, `reset`).
_BLANK = np.zeros((64, 64, 3), np.uint8)
# The executor every calculator of our pose graphs runs on: one thread per graph.
_EXECUTOR = "musclemap_pose"
_NEW_POSE = threading.Lock()
# The pose graph's landmark smoothing (the switch containers of its PoseLandmarkFiltering
# subgraph: visibility low-pass and one-euro filters of the image and world landmarks), by the
# names of its nodes in the expanded config, and the streams it smooths, named in the tracking
# graph after what that graph outputs instead of the smoothed landmarks.
_SMOOTHING = "poselandmarkfiltering__switchcontainer_"
_RAW = {
    "unfiltered_pose_landmarks": "pose_landmarks",
    "unfiltered_world_landmarks": "pose_world_landmarks",
}
_SMOOTHED = ("pose_landmarks", "pose_world_landmarks")


def new_pose(
    *, smoothing_apart: bool = False, roi_grid: RoiGrid | None = None, **options: Any
) -> Any:
    """`mediapipe.solutions.pose.Pose(**options)`, its calculators all on one thread of its
    own instead of MediaPipe's default pool of a thread per core.

    A frame's calculators run one after the other anyway; on the default pool each may land on
    another thread (and core) than the last. On one thread the same graph, with the same
    landmarks bit for bit (tested), cost 22.00 ms of CPU a frame against 22.25 with a pose
    process on each core (`benchmarks/pose_executor.py`, 4 rounds of 2 processes, quiet
    machine; 3 of the 4 rounds faster), and pose workers, one per core, do not keep a pool of
    a thread per core busy each.

    `smoothing_apart` (a tracking graph): the landmark smoothing runs in a second graph without
    models (`Smoothing`, the pose's `smoothing` attribute) that `process_frame` feeds, which
    `MediaPipePoseEstimator.reset` restarts without restarting the models' graph.

    `roi_grid` (a tracking graph): the region tracked from frame to frame goes through Python
    and is snapped to the grid (`RoiFeedback`, the pose's `roi_feedback` attribute)."""
    from mediapipe.framework import thread_pool_executor_pb2
    from mediapipe.python import solution_base

    solution = import_pose_solution()
    bindings = solution_base.calculator_graph
    apart: list[Smoothing] = []
    feedback: list[RoiFeedback] = []

    class _OneThread:
        """`calculator_graph` as `SolutionBase.__init__` uses it, the graph's config changed."""

        @staticmethod
        def CalculatorGraph(graph_config: Any) -> Any:  # noqa: N802 - the binding's name
            executor = graph_config.executor.add(name=_EXECUTOR, type="ThreadPoolExecutor")
            ext = thread_pool_executor_pb2.ThreadPoolExecutorOptions.ext
            executor.options.Extensions[ext].num_threads = 1
            for node in graph_config.node:  # subgraphs are expanded: every calculator
                if not node.executor:
                    node.executor = _EXECUTOR
            if roi_grid is not None:
                _cut_roi_loop(graph_config, raw_aux=roi_grid.raw_aux)
            config = _split_smoothing(graph_config) if smoothing_apart else None
            graph = bindings.CalculatorGraph(graph_config=graph_config)
            if config is not None:
                apart.append(Smoothing(config, graph))
            if roi_grid is not None:
                feedback.append(RoiFeedback(roi_grid, graph))
            return graph

    with _NEW_POSE:  # the module attribute is swapped while this one graph is built
        solution_base.calculator_graph = _OneThread
        try:
            pose = solution.Pose(**options)
        finally:
            solution_base.calculator_graph = bindings
    if apart:
        pose.smoothing = apart[0]
        apart[0].start(pose._input_side_packets)
    if feedback:
        pose.roi_feedback = feedback[0]
    return pose


# The tracking loop of the pose graph (MediaPipe 0.10.21): a PreviousLoopbackCalculator hands
# frame t-1's region to frame t, a GateCalculator passes it on when `use_prev_landmarks`, and
# without it the graph detects the person afresh. `_cut_roi_loop` feeds the gate from Python.
_ROI = "pose_rect_from_landmarks"
_PREV_ROI = "prev_pose_rect_from_landmarks"
_FED_ROI = "fed_pose_rect"
_FED_ALLOW = "fed_pose_rect_allowed"
_AUX_TO_ROI = "poselandmarkstoroi__LandmarksToDetectionCalculator"


def _cut_roi_loop(config: Any, *, raw_aux: bool) -> None:
    """Replace the region loopback of the expanded tracking graph `config` (in place) by two
    input streams: the region (`_FED_ROI`) and whether to use it (`_FED_ALLOW`, a bool; False:
    detect, as on a frame after no person). With `raw_aux` the region is made from the
    unsmoothed auxiliary landmarks."""

    def name(spec: str) -> str:
        return spec.rsplit(":", 1)[-1]

    loops = [n for n in config.node if [name(s) for s in n.output_stream] == [_PREV_ROI]]
    gates = [n for n in config.node if [name(s) for s in n.input_stream] == [_PREV_ROI]]
    aux = [n for n in config.node if n.name == _AUX_TO_ROI]
    if (
        len(loops) != 1
        or loops[0].calculator != "PreviousLoopbackCalculator"
        or len(gates) != 1
        or gates[0].calculator != "GateCalculator"
        or len(aux) != 1
        or list(aux[0].input_stream) != ["NORM_LANDMARKS:auxiliary_landmarks"]
    ):
        raise RuntimeError("the pose graph's tracking loop is not where MediaPipe 0.10.21 has it")
    config.node.remove(loops[0])
    gate = gates[0]
    del gate.input_stream[:]
    gate.input_stream.extend([_FED_ROI, f"ALLOW:{_FED_ALLOW}"])
    del gate.input_side_packet[:]  # ALLOW comes with each frame now
    config.input_stream.extend([_FED_ROI, _FED_ALLOW])
    if raw_aux:
        aux[0].input_stream[0] = "NORM_LANDMARKS:unfiltered_auxiliary_landmarks"


class RoiFeedback:
    """The tracking region of a pose graph cut by `_cut_roi_loop`: kept from each frame,
    snapped to the grid and fed with the next (`process_frame`)."""

    def __init__(self, grid: RoiGrid, graph: Any) -> None:
        self.grid = grid
        self.last: Any = None  # this frame's region packet, if the graph made one
        self.size = (0, 0)  # the frame's width and height
        self.fed: tuple[tuple[int, int, int, int], Any] | None = None  # cell and region fed

        def keep(_: str, packet: Any) -> None:
            self.last = packet

        graph.observe_output_stream(_ROI, keep)

    def feed(self, graph: Any, timestamp: int, width: int, height: int) -> None:
        """Hand the last frame's region, snapped, to the frame at `timestamp` (none after a
        frame without a person or of another size: the graph detects)."""
        from mediapipe.framework.formats import rect_pb2
        from mediapipe.python import packet_creator, packet_getter

        # A region with every required field, passed by no gate when not allowed.
        rect = rect_pb2.NormalizedRect(x_center=0.5, y_center=0.5, width=1.0, height=1.0)
        allow = False
        fed = None
        if self.last is not None and not self.last.is_empty() and self.size == (width, height):
            rect = packet_getter.get_proto(self.last)
            cell = self.grid.snap(rect, width, height)
            if self.grid.hold and self.fed is not None and max(
                abs(a - b) for a, b in zip(cell, self.fed[0], strict=True)
            ) <= self.grid.hold:
                cell, rect = self.fed
            fed, allow = (cell, rect), True
        self.last, self.size, self.fed = None, (width, height), fed
        graph.add_packet_to_input_stream(
            stream=_FED_ROI, packet=packet_creator.create_proto(rect).at(timestamp)
        )
        graph.add_packet_to_input_stream(
            stream=_FED_ALLOW, packet=packet_creator.create_bool(allow).at(timestamp)
        )


def roi_feedback_of(pose: Any) -> RoiFeedback | None:
    """The region feedback `new_pose(roi_grid=...)` gave `pose`, or None (MediaPipe's loop)."""
    feedback = getattr(pose, "roi_feedback", None)
    return feedback if isinstance(feedback, RoiFeedback) else None


def _split_smoothing(config: Any) -> Any:
    """Move the landmark smoothing nodes out of the expanded pose graph `config` (in place) into
    a config of their own, returned: its inputs are the streams they read (unsmoothed
    landmarks, image size, the region the image filter scales by), its outputs the smoothed
    landmarks. The tracking graph then outputs its unsmoothed landmarks under the smoothed
    ones' names (the streams `Pose` observes)."""
    from copy import deepcopy

    from mediapipe.framework import calculator_pb2

    def name(spec: str) -> str:
        return spec.rsplit(":", 1)[-1]

    moved = [deepcopy(n) for n in config.node if n.name.startswith(_SMOOTHING)]
    kept = [deepcopy(n) for n in config.node if not n.name.startswith(_SMOOTHING)]
    made = {name(s) for n in moved for s in n.output_stream}
    read = {name(s) for n in moved for s in n.input_stream}
    if not moved or set(_SMOOTHED) - made or set(_RAW) - read:
        raise RuntimeError("the pose graph's smoothing is not where MediaPipe 0.10.21 has it")
    out = calculator_pb2.CalculatorGraphConfig()
    out.node.extend(moved)
    out.input_stream.extend(sorted(read - made))
    out.output_stream.extend(_SMOOTHED)
    out.input_side_packet.extend(sorted({name(s) for n in moved for s in n.input_side_packet}))
    # No executor thread: its calculators run in the thread that waits for them
    # (`wait_until_idle`), ~0.1 ms a frame less wall time than waking a thread of its own.
    out.executor.add(type="ApplicationThreadExecutor")
    for node in out.node:
        node.ClearField("executor")
    del config.node[:]
    config.node.extend(kept)
    for node in config.node:
        for i, spec in enumerate(node.output_stream):
            if name(spec) in _RAW:
                node.output_stream[i] = spec[: len(spec) - len(name(spec))] + _RAW[name(spec)]
    return out


class Smoothing:
    """The pose graph's landmark smoothing as a graph of its own, fed the tracking graph's
    packets with their timestamps (`process_frame`).

    Each smoothing calculator gets the packets and timestamps it gets inside the whole graph,
    so it gives the same landmarks bit for bit (tested). Its filters reset themselves only when
    called without landmarks (the image filter on a frame without a person, through its image
    size input); the world and visibility filters have no other input, so inside the whole
    graph only a restart resets them, and a restart makes the next frame build the models'
    interpreters again (~0.07 s of CPU more). This graph has no models: `restart` costs
    ~0.3 ms."""

    def __init__(self, config: Any, tracker: Any) -> None:
        from mediapipe.python._framework_bindings import calculator_graph

        self.graph = calculator_graph.CalculatorGraph(graph_config=config)
        self._sides = set(config.input_side_packet)
        self._side: dict[str, Any] = {}
        # This frame's image size and region from the tracking graph (its landmarks are taken
        # from what `Pose` observes anyway: two callbacks from the graph's thread a frame less).
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.sent: dict[str, Any] = {}  # the last frame's inputs (`record`)
        self.size_packet: Any = None  # the last image size (`replay`)
        for stream in config.input_stream:
            if stream not in _RAW:
                tracker.observe_output_stream(stream, self._keep(self.inputs, stream))
        for stream in _SMOOTHED:
            self.graph.observe_output_stream(stream, self._keep(self.outputs, stream))

    @staticmethod
    def _keep(into: dict[str, Any], stream: str) -> Any:
        def keep(_: str, packet: Any) -> None:
            into[stream] = packet

        return keep

    def start(self, side_packets: dict[str, Any]) -> None:
        self._side = {k: v for k, v in side_packets.items() if k in self._sides}
        self.graph.start_run(self._side)

    def restart(self) -> None:
        """Every filter as new."""
        self.graph.close()
        self.graph.start_run(self._side)

    def smooth(self, tracked: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """The smoothed image and world landmarks of the tracking graph's last frame (its
        unsmoothed landmark packets in `tracked`, what `Pose` observes; its image size and
        region in `inputs`), or None without a person. A frame without one still hands its
        image size over (the image filter resets on it, as in the whole graph); it is
        processed once the next frame's packets settle the other inputs' timestamps. The
        packets keep their timestamps."""
        packets = self.inputs
        for stream, name in _RAW.items():
            packet = tracked.get(name)
            if packet is not None and not packet.is_empty():
                packets[stream] = packet
        found = "unfiltered_pose_landmarks" in packets
        self.outputs.clear()
        for stream, packet in packets.items():
            self.graph.add_packet_to_input_stream(stream=stream, packet=packet)
        self.sent = dict(packets)  # this frame's inputs, for `record`
        if "image_size" in packets:
            self.size_packet = packets["image_size"]
        packets.clear()
        if not found:
            return None
        self.graph.wait_until_idle()
        image = _landmarks(self.outputs.get("pose_landmarks"))
        world = _landmarks(self.outputs.get("pose_world_landmarks"))
        return None if image is None or world is None else (image, world)

    def replay(
        self, record: bytes, size: tuple[int, int], timestamp: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """`smooth` of a frame another tracker of the same video recorded (`pack_record`), at
        `timestamp`: its packets remade from their bytes, the image size (a pair, which Python
        cannot make) this graph's last one restamped; `size` is that one's frame size."""
        fields = unpack_record(record)
        if fields["image_size"] is not None and fields["image_size"] != size:
            raise RuntimeError(f"a record of a {fields['image_size']} frame, not {size}")
        from mediapipe.python._framework_bindings import _packet_creator

        packets: dict[str, Any] = {}
        if fields["image_size"] is not None:
            packets["image_size"] = self.size_packet.at(timestamp)
        for stream, type_name in _RECORD_PROTOS.items():
            data = fields[stream]
            if data is not None:
                packets[stream] = _packet_creator._create_proto(type_name, data).at(timestamp)
        self.inputs.clear()  # (the dict the tracker's observers fill)
        self.inputs.update(packets)
        return self.smooth({})

    def close(self) -> None:
        self.graph.close()


# The smoothing graph's proto inputs and their types; `_NEXT_ROI`: the region the tracker
# feeds the next frame (only compared, never replayed).
_RECORD_PROTOS = {
    "poselandmarkfiltering__roi": "mediapipe.NormalizedRect",
    "unfiltered_pose_landmarks": "mediapipe.NormalizedLandmarkList",
    "unfiltered_world_landmarks": "mediapipe.LandmarkList",
}
_NEXT_ROI = "next_roi"
_ABSENT = 0xFFFFFFFF


def pack_record(sent: dict[str, Any], feedback: RoiFeedback) -> bytes:
    """A frame's smoothing inputs (`Smoothing.sent`) and next region, as bytes: per field a
    uint32 length (`_ABSENT`: no packet) and the bytes (the image size as two int32)."""
    from mediapipe.python._framework_bindings import _packet_getter

    parts = []
    if "image_size" in sent:
        size = np.array(feedback.size, "<i4").tobytes()
        parts.append(np.uint32(len(size)).tobytes() + size)
    else:
        parts.append(np.uint32(_ABSENT).tobytes())
    nxt = feedback.last
    packets = {**sent, _NEXT_ROI: nxt if nxt is not None and not nxt.is_empty() else None}
    for stream in (*_RECORD_PROTOS, _NEXT_ROI):
        packet = packets.get(stream)
        if packet is None or packet.is_empty():
            parts.append(np.uint32(_ABSENT).tobytes())
        else:
            data = _packet_getter._get_serialized_proto(packet)
            parts.append(np.uint32(len(data)).tobytes() + data)
    return b"".join(parts)


def unpack_record(record: bytes) -> dict[str, Any]:
    """`pack_record`'s fields: image_size (width, height) and the proto streams' bytes, None
    where absent."""
    out: dict[str, Any] = {}
    at = 0
    for stream in ("image_size", *_RECORD_PROTOS, _NEXT_ROI):
        n = int(np.frombuffer(record, "<u4", 1, at)[0])
        at += 4
        if n == _ABSENT:
            out[stream] = None
            continue
        out[stream] = record[at : at + n]
        at += n
    if out["image_size"] is not None:
        w, h = np.frombuffer(out["image_size"], "<i4")
        out["image_size"] = (int(w), int(h))
    return out


def smoothing_of(pose: Any) -> Smoothing | None:
    """The smoothing graph `new_pose(smoothing_apart=True)` gave `pose`, or None (one graph)."""
    smoothing = getattr(pose, "smoothing", None)
    return smoothing if isinstance(smoothing, Smoothing) else None


@lru_cache(maxsize=1)
def mediapipe_version() -> str:
    """The installed MediaPipe's version (for the cache settings), without importing it:
    importing mediapipe takes seconds, and a cached extraction only needs the settings. Read
    from the package's `__init__.py` (one line there); importlib.metadata, the fallback, costs
    40-50 ms of imports."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        raise ImportError("MediaPipe is needed for pose estimation: pip install 'musclemap[pose]'")
    try:
        text = Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        text = ""
    found = re.search(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", text, re.MULTILINE)
    if found:
        return found.group(1)
    from importlib.metadata import version

    return version("mediapipe")


_LEAN_PARENTS = ("mediapipe", "mediapipe.python", "mediapipe.python.solutions")
_LEAN_IMPORTING = False
# The pose solution imports it only to download the complexity 0 and 2 models (never used
# here); it imports urllib.request, http.client and ssl: ~0.02-0.03 s of CPU before predict
# can fork its pose workers.
_DOWNLOADS = "mediapipe.python.solutions.download_utils"


def frame_from_result(result: Any) -> PoseFrame | None:
    """A MediaPipe Pose result -> image `(33, 3)` and world `(33, 4)` landmarks, or None when no
    person was found (shared by the video and the still-image estimators)."""
    if result.pose_landmarks is None or result.pose_world_landmarks is None:
        return None
    image = np.array(
        [(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], np.float32
    )
    world = np.array(
        [(p.x, p.y, p.z, p.visibility) for p in result.pose_world_landmarks.landmark],
        np.float32,
    )
    if image.shape[0] != MEDIAPIPE33.num_joints:
        n = MEDIAPIPE33.num_joints
        raise RuntimeError(f"MediaPipe returned {image.shape[0]} landmarks, not {n}")
    return PoseFrame(image=image, world=world)


# A serialized (Normalized)LandmarkList of the pose graph: per landmark the submessage's tag
# and length (0x0a, 25), then x, y, z, visibility and presence, each a tag byte and a float32.
_LANDMARK_WIRE = np.dtype(
    [("tag", "u1"), ("size", "u1")]
    + [(f, t) for name in ("x", "y", "z", "visibility", "presence") for f, t in
       ((f"{name}_tag", "u1"), (name, "<f4"))]
)
# Its bytes that are not floats (offsets in a landmark's 27) and what they must be.
_LANDMARK_TAG_AT = np.array([0, 1, 2, 7, 12, 17, 22])
_LANDMARK_TAGS = np.array([0x0A, 25, 0x0D, 0x15, 0x1D, 0x25, 0x2D], np.uint8)
_LANDMARK_TAG_BYTES = np.tile(_LANDMARK_TAGS, MEDIAPIPE33.num_joints).tobytes()
_LANDMARK_X_AT = 3  # x's offset in a landmark's 27 bytes; y, z, visibility follow 5 apart


def process_frame(pose: Any, frame_rgb: np.ndarray) -> PoseFrame | None:
    """`frame_from_result(pose.process(frame_rgb))` for MediaPipe 0.10.21's `Pose`, without
    what `SolutionBase.process` adds per frame: a new namedtuple class (~0.25 ms), clearing
    the 66 `presence` fields we never read and parsing the landmarks into Python messages;
    0.2-0.4 ms of ~21 ms a frame. The same graph calls with the same packets and timestamps,
    so the same landmarks bit for bit (tested); any other `Pose` goes through `process`."""
    graph = getattr(pose, "_graph", None)
    outputs = getattr(pose, "_graph_outputs", None)
    if graph is None or not isinstance(outputs, dict) or not hasattr(pose, "_simulated_timestamp"):
        if roi_feedback_of(pose) is not None:
            raise RuntimeError("a pose graph with region feedback needs process_frame's path")
        return frame_from_result(pose.process(frame_rgb))
    pose._simulated_timestamp += 33333  # as `SolutionBase.process`: a 30 fps stream
    feed_frame(pose, frame_rgb, pose._simulated_timestamp)
    smoothing = smoothing_of(pose)
    if smoothing is not None:  # `new_pose(smoothing_apart=True)`
        found = smoothing.smooth(outputs)
        image, world = found if found is not None else (None, None)
    else:
        image, world = _graph_landmarks(outputs)
    if image is None or world is None:
        return None
    return PoseFrame(image=image[:, [0, 1, 3]], world=world)


def feed_frame(pose: Any, frame_rgb: np.ndarray, timestamp: int) -> None:
    """Run `pose`'s graph on one frame at `timestamp` (its outputs cleared first), handing it
    the region its feedback holds, if it has one (`RoiFeedback.feed`)."""
    from mediapipe.python import packet_creator
    from mediapipe.python._framework_bindings import image_frame

    pose._graph_outputs.clear()
    feedback = roi_feedback_of(pose)
    if feedback is not None:
        height, width = frame_rgb.shape[:2]
        feedback.feed(pose._graph, timestamp, width, height)
    packet = packet_creator.create_image_frame(frame_rgb, image_format=image_frame.ImageFormat.SRGB)
    pose._graph.add_packet_to_input_stream(stream="image", packet=packet.at(timestamp))
    pose._graph.wait_until_idle()


def _graph_landmarks(outputs: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The image and world landmarks a pose graph output (`_landmarks` of each)."""
    image = _landmarks(outputs.get("pose_landmarks"))
    return image, _landmarks(outputs.get("pose_world_landmarks"))


def _landmarks(packet: Any) -> np.ndarray | None:
    """`(33, 4)` float32 x, y, z, visibility of a landmark-list packet (None when empty), read
    from its wire format when every field is there (always, from the pose graph), else
    parsed."""
    if packet is None or packet.is_empty():
        return None
    from mediapipe.python import packet_getter
    from mediapipe.python._framework_bindings import _packet_getter

    data = _packet_getter._get_serialized_proto(packet)
    n = MEDIAPIPE33.num_joints
    size = _LANDMARK_WIRE.itemsize
    if len(data) == n * size:
        raw = np.frombuffer(data, np.uint8).reshape(n, size)
        if raw[:, _LANDMARK_TAG_AT].tobytes() == _LANDMARK_TAG_BYTES:
            # x, y, z, visibility: 4 floats 5 bytes apart from byte 3 of each landmark, read
            # in one strided copy (0.02 ms against 0.07 for the fields one by one, stacked).
            return np.ndarray(
                (n, 4), "<f4", buffer=data, offset=_LANDMARK_X_AT, strides=(size, 5)
            ).copy()
    marks = packet_getter.get_proto(packet).landmark
    out = np.array([(p.x, p.y, p.z, p.visibility) for p in marks], np.float32)
    if out.shape[0] != n:
        raise RuntimeError(f"MediaPipe returned {out.shape[0]} landmarks, not {n}")
    return out


class _LeanPackage(types.ModuleType):
    """A mediapipe package imported without running its `__init__`; the first attribute it
    lacks runs the real `__init__` of all three (innermost first) in place, so a later
    `import mediapipe` in the same process still gets the whole package."""

    def __getattr__(self, name: str) -> Any:
        # While the pose solution itself is imported, `from pkg import sub` probes attributes
        # before importing the submodule: say "not there" and let the import system do it.
        if (name.startswith("__") and name != "__version__") or _LEAN_IMPORTING:
            raise AttributeError(name)
        _complete_lean_packages()
        return self.__dict__[name] if name in self.__dict__ else super().__getattribute__(name)


def lean_only() -> bool:
    """MediaPipe is loaded in this process only by `import_pose_solution` (nothing else of it)."""
    root = sys.modules.get("mediapipe")
    return isinstance(root, _LeanPackage) and not root.__dict__.get("_lean_done")


def _complete_lean_packages() -> None:
    for parent in reversed(_LEAN_PARENTS):
        module = sys.modules.get(parent)
        if isinstance(module, _LeanPackage) and not module.__dict__.get("_lean_done"):
            module.__dict__["_lean_done"] = True
            spec = module.__spec__
            assert spec is not None and spec.loader is not None
            spec.loader.exec_module(module)


def import_pose_solution() -> Any:
    """`mediapipe.python.solutions.pose`, without running `mediapipe/__init__.py` first.

    The package's `__init__` imports every solution and task, matplotlib (drawing utilities) and
    sounddevice (audio tasks): ~0.7-1.4 s here, against ~0.3 s for the pose solution alone
    (`python -X importtime`). The three parent packages are registered as `_LeanPackage`
    modules that run their real `__init__` only when something asks for more than the pose
    solution (a later `import mediapipe; mediapipe.solutions...` works as usual).
    """
    global _LEAN_IMPORTING
    name = "mediapipe.python.solutions.pose"
    if name in sys.modules:
        return sys.modules[name]
    previous: types.ModuleType | None = None
    for parent in _LEAN_PARENTS:
        module = sys.modules.get(parent)
        if module is None:
            spec = importlib.util.find_spec(parent)
            if spec is None or spec.submodule_search_locations is None:
                raise ImportError(parent)
            module = _LeanPackage(parent)
            module.__path__ = list(spec.submodule_search_locations)
            module.__spec__ = spec
            module.__file__ = spec.origin
            module.__package__ = parent
            sys.modules[parent] = module
            if previous is not None:  # what the import system does for a loaded submodule
                setattr(previous, parent.rsplit(".", 1)[1], module)
        previous = module
    _lazy_module(_DOWNLOADS)
    _LEAN_IMPORTING = True
    try:
        return importlib.import_module(name)
    finally:
        _LEAN_IMPORTING = False


class _LazyModule(types.ModuleType):
    """A module whose code runs on the first use of an attribute it lacks (`_lazy_module`)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("_lazy_done"):
            raise AttributeError(name)
        self.__dict__["_lazy_done"] = True
        spec = self.__spec__
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(self)
        return getattr(self, name)


def _lazy_module(name: str) -> None:
    """Register module `name` (a submodule of a lean package) to run only when one of its
    attributes is first used, unless it is imported already. (`importlib.util.LazyLoader`
    would run it at once: the import system reads `__spec__` of a module `from pkg import mod`
    finds.)"""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return  # the import that needs it says what is wrong
    parent, _, child = name.rpartition(".")
    module = _LazyModule(name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__package__ = parent
    sys.modules[name] = module
    setattr(sys.modules[parent], child, module)


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (C++ logging bypasses Python)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced, e.g. captured in tests
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
