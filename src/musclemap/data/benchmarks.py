"""The paper's three benchmarks in the release's split-list format, and how each names activities.

MuscleMap136 and its two companions Muscle-UCF90 and Muscle-HMDB41 (UCF101 and HMDB51 clips of
90 and 41 of their classes with the 20 muscle-group labels; obtained from the authors under a user
agreement) ship the same five pairs of pickles (importers.RELEASE_SPLITS). They differ in how a
clip's path names its activity: MuscleMap136 by folder, UCF101 by `v_<Class>_g<group>_c<clip>`
file names (or class folders), HMDB51 by class folders (or `<title>_<class>_<meta>_<n>` names).
The companions' activities must be classes of the source benchmark; their names are written as
snake_case (`ApplyEyeMakeup` -> `apply_eye_makeup`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The source benchmarks' class lists (UCF101 classInd.txt; HMDB51's class folders).
UCF101_CLASSES: tuple[str, ...] = _names(
    """ApplyEyeMakeup ApplyLipstick Archery BabyCrawling BalanceBeam BandMarching BaseballPitch
    Basketball BasketballDunk BenchPress Biking Billiards BlowDryHair BlowingCandles
    BodyWeightSquats Bowling BoxingPunchingBag BoxingSpeedBag BreastStroke BrushingTeeth
    CleanAndJerk CliffDiving CricketBowling CricketShot CuttingInKitchen Diving Drumming Fencing
    FieldHockeyPenalty FloorGymnastics FrisbeeCatch FrontCrawl GolfSwing Haircut Hammering
    HammerThrow HandstandPushups HandstandWalking HeadMassage HighJump HorseRace HorseRiding
    HulaHoop IceDancing JavelinThrow JugglingBalls JumpingJack JumpRope Kayaking Knitting LongJump
    Lunges MilitaryParade Mixing MoppingFloor Nunchucks ParallelBars PizzaTossing PlayingCello
    PlayingDaf PlayingDhol PlayingFlute PlayingGuitar PlayingPiano PlayingSitar PlayingTabla
    PlayingViolin PoleVault PommelHorse PullUps Punch PushUps Rafting RockClimbingIndoor
    RopeClimbing Rowing SalsaSpin ShavingBeard Shotput SkateBoarding Skiing Skijet SkyDiving
    SoccerJuggling SoccerPenalty StillRings SumoWrestling Surfing Swing TableTennisShot TaiChi
    TennisSwing ThrowDiscus TrampolineJumping Typing UnevenBars VolleyballSpiking WalkingWithDog
    WallPushups WritingOnBoard YoYo"""
)
HMDB51_CLASSES: tuple[str, ...] = _names(
    """brush_hair cartwheel catch chew clap climb climb_stairs dive draw_sword dribble drink eat
    fall_floor fencing flic_flac golf handstand hit hug jump kick kick_ball kiss laugh pick pour
    pullup punch push pushup ride_bike ride_horse run shake_hands shoot_ball shoot_bow shoot_gun
    sit situp smile smoke somersault stand swing_baseball sword sword_exercise talk throw turn walk
    wave"""
)

_UCF_FILE = re.compile(r"^v_(?P<cls>[A-Za-z]+)_g\d+_c\d+$")
_UCF_BY_LOWER = {c.lower(): c for c in UCF101_CLASSES}  # file names spell "HandStandPushups"
# HMDB51 file names end with meta tags: visible body part, camera motion, number of people,
# viewpoint, quality, clip number (e.g. `..._pushup_f_nm_np1_ri_goo_0`); longest class first so
# that `kick_ball` is not read as `kick`.
_HMDB_FILE = re.compile(
    r"_(?P<cls>"
    + "|".join(sorted(HMDB51_CLASSES, key=len, reverse=True))
    + r")_[fhlu]_(?:cm|nm)_np\d+_(?:fr|ba|le|ri)_(?:bad|med|goo)_\d+$"
)


def snake_case(name: str) -> str:
    """`ApplyEyeMakeup` -> `apply_eye_makeup`, `YoYo` -> `yo_yo`, `brush_hair` unchanged."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def ucf101_class(path: str) -> str | None:
    """The UCF101 class of a clip path (file name, else class folder), or None."""
    p = PurePath(path)
    match = _UCF_FILE.match(p.stem)
    name = match["cls"] if match else p.parent.name
    return _UCF_BY_LOWER.get(name.lower())


def hmdb51_class(path: str) -> str | None:
    """The HMDB51 class of a clip path (class folder, else file name), or None."""
    p = PurePath(path)
    if p.parent.name in HMDB51_CLASSES:
        return p.parent.name
    match = _HMDB_FILE.search(p.stem)
    return match["cls"] if match else None


@dataclass(frozen=True)
class ReleaseBenchmark:
    """A benchmark shipped in the release's split-list format.

    Attributes:
        layout: Its `musclemap data import --layout` name.
        title: The paper's name.
        num_activities: Activities of the full set (None where sources disagree).
        source: The activity-recognition benchmark its clips come from ("" for MuscleMap136).
        source_class: The source class of a clip path (None: not identifiable).
    """

    layout: str
    title: str
    num_activities: int | None
    source: str = ""
    source_class: Callable[[str], str | None] | None = None


BENCHMARKS: dict[str, ReleaseBenchmark] = {
    # 135 activities in the paper's Table I, 136 in its repository's README: no count asserted.
    "release": ReleaseBenchmark("release", "MuscleMap136", None),
    "muscle-ucf90": ReleaseBenchmark("muscle-ucf90", "Muscle-UCF90", 90, "UCF101", ucf101_class),
    "muscle-hmdb41": ReleaseBenchmark("muscle-hmdb41", "Muscle-HMDB41", 41, "HMDB51", hmdb51_class),
}
