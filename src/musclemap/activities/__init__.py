"""Activity knowledge base: exercise names -> the 20 MuscleMap muscle groups.

The data lives in `activities.yaml` beside this module (its header states the sources and the
primary/secondary conventions). Names are matched after `normalize_name` (case, hyphens, spaces,
plural "s", "push_up" vs "pushup"), then through explicit aliases, then with leading equipment
words ("dumbbell", "cable", "seated", ...) stripped, because equipment variants fold into the
base exercise. The 873 exercises of the Free Exercise DB (`library.py`, a packaged JSON) come
after the curated entries: a curated name always wins, a library exercise answers to its own
name or id, and `canonical_exercise` maps either to one key per exercise.

    >>> lookup("Push-Ups").name
    'push_up'
    >>> activity_labels("press up").shape
    (20,)
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from musclemap.errors import MusclemapError, UnknownActivityError
from musclemap.taxonomy import GROUP_IDS, to_multi_hot

__all__ = [
    "SOURCES",
    "Activity",
    "ExerciseRecord",
    "KnowledgeBaseError",
    "activity_labels",
    "canonical_exercise",
    "find_activity",
    "list_activities",
    "load_knowledge_base",
    "lookup",
    "normalize_name",
    "parse_knowledge_base",
    "suggest",
    "variants_of",
]

CURATED = "curated"
SOURCES = (CURATED, "free-exercise-db")  # the curated file, then the packaged library

_NAME_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
_FIELDS = {"category", "primary", "secondary", "aliases"}
# Words whose final "s" is not a plural (biceps is deliberately absent: "bicep curl" and
# "biceps curl" must meet; the knowledge base names use "bicep"/"tricep" like the wild labels).
_KEEP_S = ("ss", "us", "is")
_IRREGULAR = {"calves": "calf", "halves": "half", "flies": "fly", "flyes": "fly", "flye": "fly"}
# Leading words that name equipment, stance or side but not a different exercise.
_MODIFIERS: tuple[tuple[str, ...], ...] = tuple(
    tuple(words.split())
    for words in (
        "smith machine", "resistance band", "ez bar", "trap bar", "hex bar", "single arm",
        "one arm", "dumbbell", "db", "barbell", "bb", "kettlebell", "kb", "cable", "machine",
        "band", "banded", "weighted", "bodyweight", "trx", "plate", "standing", "seated", "lying",
        "alternating",
    )
)  # fmt: skip


class KnowledgeBaseError(MusclemapError):
    """The activity knowledge base file is malformed (unknown group, duplicate alias, ...)."""


@dataclass(frozen=True)
class ExerciseRecord:
    """Provenance of an exercise from an external library (the authors' fields and words)."""

    source: str
    id: str
    name: str
    category: str
    equipment: str
    force: str
    mechanic: str
    level: str
    primary_muscles: tuple[str, ...]
    secondary_muscles: tuple[str, ...]


@dataclass(frozen=True)
class Activity:
    """One activity of the knowledge base.

    Attributes:
        name: Canonical snake_case name (e.g. ``push_up``).
        primary: Prime movers, group ids in taxonomy order.
        secondary: Major synergists / stabilisers, group ids in taxonomy order.
        aliases: Other names, as written in the data file.
        category: Short movement category (e.g. ``upper push``, ``core``).
        kind: ``work``, or ``stretch`` for a library stretch: its muscles are stretched, not
            working, so it has no primary/secondary groups (curated stretches list what they
            target as primary, see activities.yaml).
        stretched: The groups a library stretch stretches, in taxonomy order.
        source: ``curated`` (activities.yaml) or the library's name (``free-exercise-db``).
        same_as: The curated activity this library exercise is the same exercise as, or "".
        record: The library's record (provenance) of a library exercise.
    """

    name: str
    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    aliases: tuple[str, ...]
    category: str
    kind: str = "work"
    stretched: tuple[str, ...] = ()
    source: str = CURATED
    same_as: str = ""
    record: ExerciseRecord | None = None

    @property
    def groups(self) -> tuple[str, ...]:
        """Every activated group (primary + secondary) in taxonomy order."""
        active = set(self.primary) | set(self.secondary)
        return tuple(gid for gid in GROUP_IDS if gid in active)

    def labels(self) -> np.ndarray:
        """Multi-hot float32 vector (20,) of `groups`."""
        return to_multi_hot(self.groups)

    def role(self, group_id: str) -> str:
        """``"primary"``, ``"secondary"``, ``"stretched"`` or ``""`` for a group id."""
        if group_id in self.primary:
            return "primary"
        if group_id in self.stretched:
            return "stretched"
        return "secondary" if group_id in self.secondary else ""


def _singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) < 3 or not word.endswith("s") or word.endswith(_KEEP_S):
        return word
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1]


def normalize_name(text: str) -> str:
    """Canonical spelling of an activity name: lower snake_case with singular words.

    ``"Push-Ups"``, ``"push ups"`` and ``"push_up"`` all give ``"push_up"``; ``"Farmer's
    walks"`` gives ``"farmer_walk"``; ``"clean & jerk"`` gives ``"clean_and_jerk"``.
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ").replace("'", "").replace("\u2019", "")
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    return "_".join(_singular(w) for w in words)


def _key(normalized: str) -> str:
    # Separators are dropped so that "pushup" meets "push_up" and "deadbug" meets "dead_bug".
    return normalized.replace("_", "")


def _group_list(value: Any, field: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeBaseError(f"{where}: '{field}' must be a list of group ids")
    unknown = [v for v in value if v not in GROUP_IDS]
    if unknown:
        raise KnowledgeBaseError(
            f"{where}: unknown muscle group(s) {', '.join(unknown)} in '{field}'; "
            f"valid: {', '.join(GROUP_IDS)}"
        )
    if len(set(value)) != len(value):
        raise KnowledgeBaseError(f"{where}: repeated group in '{field}'")
    return tuple(gid for gid in GROUP_IDS if gid in value)


def _parse_activity(name: Any, entry: Any, categories: set[str], source: str) -> Activity:
    where = f"{source}: activity {name!r}"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise KnowledgeBaseError(f"{where}: names must be lower snake_case")
    if not isinstance(entry, Mapping):
        raise KnowledgeBaseError(f"{where}: expected a mapping with {sorted(_FIELDS)}")
    extra = set(entry) - _FIELDS
    missing = {"category", "primary"} - set(entry)
    if extra or missing:
        raise KnowledgeBaseError(
            f"{where}: unknown field(s) {sorted(extra)}"
            if extra
            else f"{where}: missing field(s) {sorted(missing)}"
        )
    if entry["category"] not in categories:
        raise KnowledgeBaseError(
            f"{where}: unknown category {entry['category']!r}; "
            f"valid: {', '.join(sorted(categories))}"
        )
    primary = _group_list(entry["primary"], "primary", where)
    secondary = _group_list(entry.get("secondary") or [], "secondary", where)
    if not primary:
        raise KnowledgeBaseError(f"{where}: needs at least one primary group")
    both = set(primary) & set(secondary)
    if both:
        raise KnowledgeBaseError(f"{where}: {', '.join(sorted(both))} both primary and secondary")
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise KnowledgeBaseError(f"{where}: 'aliases' must be a list of names")
    return Activity(name, primary, secondary, tuple(aliases), str(entry["category"]))


def parse_knowledge_base(data: Any, *, source: str = "knowledge base") -> dict[str, Activity]:
    """Validate parsed YAML (``{"categories": [...], "activities": {name: {...}}}``).

    Args:
        data: The loaded YAML document.
        source: Name used in error messages.

    Returns:
        Activities by canonical name, in file order.

    Raises:
        KnowledgeBaseError: Unknown group ids or categories, missing fields, or a name/alias
            that (after normalisation) belongs to two activities.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("activities"), Mapping):
        raise KnowledgeBaseError(f"{source}: expected a top-level 'activities' mapping")
    categories = set(data.get("categories") or [])
    if not categories:
        raise KnowledgeBaseError(f"{source}: expected a 'categories' list")
    activities: dict[str, Activity] = {}
    owner: dict[str, str] = {}  # match key -> canonical name
    for name, entry in data["activities"].items():
        act = _parse_activity(name, entry, categories, source)
        for spelling in (name, *act.aliases):
            key = _key(normalize_name(spelling))
            if not key:
                raise KnowledgeBaseError(f"{source}: activity {name!r} has an empty alias")
            if owner.setdefault(key, name) != name:
                raise KnowledgeBaseError(
                    f"{source}: duplicate alias {spelling!r} of {name!r} "
                    f"(already names {owner[key]!r})"
                )
        activities[name] = act
    return activities


# libyaml's parser when present: the curated file loads in ~0.08 s instead of ~0.4 s.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that rejects repeated mapping keys (PyYAML keeps the last one silently)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise KnowledgeBaseError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_knowledge_base(path: Path | str | None = None) -> dict[str, Activity]:
    """Load and validate the knowledge base (parsed once per path, then cached).

    Args:
        path: A YAML file in the same format; default: the packaged ``activities.yaml``.

    Returns:
        Activities by canonical name, in file order (a fresh dict; activities are frozen).

    Raises:
        KnowledgeBaseError: The file is missing or malformed.
    """
    return dict(_load(None if path is None else str(path)))


@lru_cache(maxsize=8)
def _load(path: str | None) -> dict[str, Activity]:
    if path is None:
        text = resources.files(__package__).joinpath("activities.yaml").read_text("utf-8")
        source = "activities.yaml"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as err:
            raise KnowledgeBaseError(f"cannot read knowledge base {path}: {err}") from None
        source = str(path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as err:
        raise KnowledgeBaseError(f"{source}: invalid YAML: {err}") from None
    except KnowledgeBaseError as err:
        raise KnowledgeBaseError(f"{source}: {err}") from None
    return parse_knowledge_base(data, source=source)


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Match key -> canonical name for every name and alias of the packaged knowledge base."""
    index: dict[str, str] = {}
    for act in _load(None).values():
        for spelling in (act.name, *act.aliases):
            index[_key(normalize_name(spelling))] = act.name
    return index


def preload() -> None:
    """Read the packaged knowledge base and exercise library now (both are kept): ahead of the
    lookups, e.g. in a thread while predict's poses are estimated."""
    _index()
    _library_index()


def _strip_modifier(words: list[str]) -> list[str] | None:
    for mod in _MODIFIERS:
        if len(words) > len(mod) and tuple(words[: len(mod)]) == mod:
            return words[len(mod) :]
    return None


def _check_source(source: str | None) -> None:
    if source is not None and source not in SOURCES:
        raise UnknownActivityError(f"unknown source {source!r}; valid: {', '.join(SOURCES)}")


def _library() -> dict[str, Activity]:
    from musclemap.activities.library import load_library  # the packaged JSON, loaded once

    return load_library()


@lru_cache(maxsize=1)
def _library_index() -> dict[str, str]:
    """Match key -> library key for every library exercise's key, name and id."""
    index: dict[str, str] = {}
    for act in _library().values():
        for spelling in (act.name, *act.aliases):
            index.setdefault(_key(normalize_name(spelling)), act.name)
    return index


def find_activity(name: str, *, source: str | None = None) -> Activity | None:
    """The activity called `name` (any alias or spelling variant), or None if unknown.

    Args:
        name: Any spelling of a curated name or alias, or of a library exercise's name or id.
        source: Only this source (see SOURCES); default: curated first (a curated name wins,
            with equipment words stripped), then the library's exact names and ids.
    """
    _check_source(source)
    if source in (None, CURATED):
        kb, index = _load(None), _index()
        words: list[str] | None = normalize_name(name).split("_")
        while words and words != [""]:
            hit = index.get("".join(words))
            if hit is not None:
                return kb[hit]
            # Equipment variants fold into the base exercise: "dumbbell bench press" -> bench_press.
            words = _strip_modifier(words)
    if source != CURATED:
        library = _library()
        if name in library:  # a library key as written in a manifest, even if two normalise alike
            return library[name]
        key = _library_index().get(_key(normalize_name(name)))
        if key is not None:
            return library[key]
    return None


def suggest(name: str, n: int = 3) -> list[str]:
    """Up to `n` names close to `name` (for "did you mean" messages), closest first."""
    index = {**_library_index(), **_index()}  # a curated spelling wins over a library one
    out: list[str] = []
    for match in difflib.get_close_matches(_key(normalize_name(name)), list(index), 4 * n, 0.6):
        if index[match] not in out:
            out.append(index[match])
    return out[:n]


def lookup(name: str, *, source: str | None = None) -> Activity:
    """The activity called `name` (see `find_activity`).

    Raises:
        UnknownActivityError: Not in the knowledge base; the message names up to 3 close
            matches, e.g. ``unknown activity 'pushupz'; did you mean push_up, ...?``.
    """
    act = find_activity(name, source=source)
    if act is not None:
        return act
    close = suggest(name)
    hint = f"did you mean {', '.join(close)}?" if close else "see `musclemap activities --list`"
    raise UnknownActivityError(f"unknown activity {name!r}; {hint}")


def canonical_exercise(name: str, *, source: str | None = None) -> str:
    """One key per exercise, for grouping "the same exercise" across datasets.

    A curated activity is its own key; a library exercise maps to the curated activity it is
    the same exercise as (`same_as`), else to its own key: ``"barbell_full_squat"`` and
    ``"Barbell Squat"`` -> ``"squat"``, ``"3_4_sit_up"`` -> ``"sit_up"``. Pass
    ``source="free-exercise-db"`` for the activities of a library manifest (its `source`
    column) so that a library name that is also a curated name (``butterfly``, the machine fly)
    resolves inside the library.

    Raises:
        UnknownActivityError: `name` is not in the knowledge base (with close matches).
    """
    act = lookup(name, source=source)
    return act.same_as or act.name


def list_activities(category: str | None = None, *, source: str | None = None) -> list[Activity]:
    """All activities (curated, then library) sorted by name, optionally one category/source."""
    _check_source(source)
    acts = [
        *(_load(None).values() if source in (None, CURATED) else ()),
        *(_library().values() if source != CURATED else ()),
    ]
    acts.sort(key=lambda a: (a.name, SOURCES.index(a.source)))
    return [a for a in acts if category is None or a.category == category]


def variants_of(name: str) -> list[Activity]:
    """The library exercises that are the same exercise as the curated activity `name`."""
    return sorted((a for a in _library().values() if a.same_as == name), key=lambda a: a.name)


def activity_labels(name: str) -> np.ndarray:
    """Multi-hot float32 vector (20,) of the activity called `name` (raises if unknown)."""
    return lookup(name).labels()
