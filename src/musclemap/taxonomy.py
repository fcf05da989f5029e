"""The 20 muscle groups of MuscleMap (paper Sec. III-B), in the paper's order.

The order is the label index used by the original release (muscle indices 0-19); `id` is the
public name of a group in every input and output of musclemap (JSON keys, CSV columns, CLI).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from musclemap.errors import UnknownMuscleTermError


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


# Muscle-term vocabulary: the words datasets and exercise libraries use for muscles -> groups.
# Every group id, group name and anatomical muscle above is a term of its own group; these are the
# other words, chosen where the region is unambiguous. Deliberately absent: "core" and "back"
# (they span several groups; a dataset using them must say which) and "legs"/"arms".
_ALIASES: dict[str, tuple[str, ...]] = {
    # The Free Exercise DB's 17 words (../shared/data/keyposes/README.md).
    "abdominals": ("upper_abdominis", "lower_abdominis"),  # rectus + transversus
    "abductors": ("outer_thigh",),
    "adductors": ("inner_thigh",),
    "biceps": ("biceps",),
    "calves": ("calves",),
    "chest": ("chest",),
    "forearms": ("forearms",),
    "glutes": ("gluteus",),
    "hamstrings": ("hamstring",),
    "lats": ("latissimus",),
    "lower back": ("lower_back",),
    "middle back": ("upper_back",),  # mid trapezius and rhomboids: the trapezius region
    "neck": ("neck_head",),
    "quadriceps": ("quadriceps",),
    "shoulders": ("shoulder",),
    "traps": ("upper_back",),
    "triceps": ("triceps",),
    # Common synonyms.
    "abs": ("upper_abdominis", "lower_abdominis"),
    "upper abs": ("upper_abdominis",),
    "lower abs": ("lower_abdominis",),
    "internal oblique": ("obliques",),
    "serratus": ("obliques",),
    "pecs": ("chest",),
    "pectorals": ("chest",),
    "delts": ("shoulder",),
    "deltoids": ("shoulder",),
    "front delts": ("shoulder",),
    "side delts": ("shoulder",),
    "rear delts": ("shoulder",),
    "rotator cuff": ("shoulder", "upper_back"),  # the knowledge base's convention
    "brachialis": ("biceps",),  # the front upper-arm elbow flexor beside the biceps
    "brachioradialis": ("forearms",),
    "grip": ("forearms",),
    "mid back": ("upper_back",),
    "rhomboids": ("upper_back",),
    "latissimus": ("latissimus",),
    "erectors": ("lower_back",),
    "spinal erectors": ("lower_back",),
    "quads": ("quadriceps",),
    "calf": ("calves",),
    "groin": ("inner_thigh",),
    "inner thighs": ("inner_thigh",),
    "outer thighs": ("outer_thigh",),
    "it band": ("outer_thigh",),
    "iliotibial band": ("outer_thigh",),
    "gluteals": ("gluteus",),
    "gluteus medius": ("gluteus",),
    "hip flexors": ("quadriceps", "lower_abdominis"),  # rectus femoris + lower abdominis
    "feet": ("feet_ankles",),
    "ankles": ("feet_ankles",),
    "tibialis anterior": ("feet_ankles",),
    "shins": ("feet_ankles",),
    "head": ("neck_head",),
}
_IRREGULAR = {"calves": "calf", "feet": "foot"}


def _term_key(term: str) -> str:
    """Case, punctuation and plural "s" folded: "Lower-Back", "lower backs" -> "lower back"."""
    words = re.findall(r"[a-z0-9]+", term.lower())
    return " ".join(
        _IRREGULAR.get(w)
        or (w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")) else w)
        for w in words
    )


def _build_terms() -> dict[str, tuple[str, ...]]:
    pairs: list[tuple[str, tuple[str, ...]]] = [(g.id, (g.id,)) for g in MUSCLE_GROUPS]
    pairs += [(g.name, (g.id,)) for g in MUSCLE_GROUPS]
    pairs += [(m, (g.id,)) for g in MUSCLE_GROUPS for m in g.muscles]
    pairs += [(t, tuple(gid for gid in GROUP_IDS if gid in gs)) for t, gs in _ALIASES.items()]
    index: dict[str, tuple[str, ...]] = {}
    for term, groups in pairs:
        if index.setdefault(_term_key(term), groups) != groups:
            raise AssertionError(f"muscle term {term!r} maps to two different group sets")
    return index


_TERMS = _build_terms()
MUSCLE_TERMS: Mapping[str, tuple[str, ...]] = MappingProxyType(_TERMS)
"""Every vocabulary term (folded spelling) -> its group ids in taxonomy order."""


@lru_cache(maxsize=4096)  # libraries repeat a few words thousands of times
def find_muscle_term(term: str) -> tuple[str, ...] | None:
    """Group ids of a muscle word ("lats", "Middle Back", "hip flexors"), or None if unknown."""
    return _TERMS.get(_term_key(term))


def close_muscle_terms(term: str, n: int = 3) -> list[str]:
    """Up to `n` vocabulary terms spelled like `term` (for "did you mean" messages)."""
    return difflib.get_close_matches(_term_key(term), list(_TERMS), n=n, cutoff=0.6)


def describe_unknown_term(term: str) -> str:
    """`'bicepz' (did you mean bicep, tricep?)`: an unknown term with its close matches."""
    close = close_muscle_terms(term)
    return f"{term!r}" + (f" (did you mean {', '.join(close)}?)" if close else "")


def groups_for_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """Union of the groups of muscle words, in taxonomy order.

    Raises:
        UnknownMuscleTermError: Naming every unknown term with up to 3 close matches, e.g.
            ``unknown muscle term 'lat dorsi' (did you mean latissimus dorsi?)``.
    """
    groups: set[str] = set()
    unknown: list[str] = []
    for term in terms:
        found = find_muscle_term(term)
        if found is None:
            unknown.append(term)
        else:
            groups.update(found)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise UnknownMuscleTermError(
            f"unknown muscle term{plural} {', '.join(describe_unknown_term(t) for t in unknown)}; "
            "see musclemap.taxonomy.MUSCLE_TERMS"
        )
    return tuple(gid for gid in GROUP_IDS if gid in groups)


# Groups that work whenever a group is an exercise's prime mover, by this taxonomy's own muscle
# lists. Exercise libraries name the prime mover (the Free Exercise DB's `primaryMuscles`) and
# often leave these out; the knowledge base's curated activities (and the wild clips' labels)
# list them. Only for working muscles: a stretch's listed muscles are stretched, not moving.
PRIME_MOVER_PARTNERS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # Plantar flexion against a load: besides gastrocnemius and soleus (calves), the peronei,
    # tibialis posterior and the long toe flexors (feet_ankles) flex the ankle.
    "calves": ("feet_ankles",),
    # Raising the arm: the deltoid (shoulder) lifts the humerus while the trapezius (upper_back)
    # rotates the scapula upward.
    "shoulder": ("upper_back",),
})


def prime_mover_partners(primary: Iterable[str]) -> tuple[str, ...]:
    """The groups `PRIME_MOVER_PARTNERS` adds to primary groups, in taxonomy order (the primary
    groups themselves excluded)."""
    primary = set(primary)
    partners = {p for g in primary for p in PRIME_MOVER_PARTNERS.get(g, ())}
    return tuple(gid for gid in GROUP_IDS if gid in partners - primary)


def working_groups(primary: Iterable[str], secondary: Iterable[str] = ()) -> tuple[str, ...]:
    """An exercise's working groups from its primary and secondary muscle words: both through
    the vocabulary (`groups_for_terms`) plus the partners of the primary groups
    (`prime_mover_partners`), in taxonomy order.

    Raises:
        UnknownMuscleTermError: As `groups_for_terms`.
    """
    first = groups_for_terms(primary)
    both = set(first) | set(groups_for_terms(secondary)) | set(prime_mover_partners(first))
    return tuple(gid for gid in GROUP_IDS if gid in both)
