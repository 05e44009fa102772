"""The looks folder: one JSON file per look plus ``cues.json``, read strictly and written atomically.

Every problem in a file is reported with the file, the JSON path and the reason
(``night.json: zones.wall.cct_k: 25000 is out of range ...``); a JSON syntax error names the
line and column. Unknown keys are errors with a did-you-mean: a typo must not silently do
nothing. One bad file never stops the others loading (:meth:`LookStore.load_all`).

Files are written through :func:`stagectl.core.atomic.atomic_write_text` (temp file in the same folder,
fsync, ``os.replace``): a crash mid-write leaves the old file. File names are made from look
names (``Golden hour`` -> ``golden-hour.json``); the name inside the file is the look's name.
"""

from __future__ import annotations

import json
import re
import threading
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from presets.model import (
    CUES_SCHEMA,
    FRUSTUM_VALUES,
    FRUSTUM_ZONE,
    LIGHT_VALUES,
    LOOK_SCHEMA,
    NUMBER_LIMITS,
    ZONE_NAME,
    Cue,
    CueError,
    CueList,
    Look,
    LookError,
    ZoneValues,
    cdl_problems,
    check_look_name,
    limit_problem,
)
from stagectl.core.atomic import atomic_write_text
from stagectl.core.check import JSON, Checker, KeyPath, Locator
from stagectl.core.colour import Cdl
from stagectl.core.locate import JsonLocator, json_document
from stagectl.core.text import did_you_mean

CUES_FILE = "cues.json"
Names = list[str]
Paths = list[Path]


class LoadResult(NamedTuple):
    """What :meth:`LookStore.load_all` found: the looks that loaded, and one error per file that did not."""

    looks: tuple[Look, ...]
    errors: tuple[LookError, ...]


def parse_look_text(text: str, where: str | None = None) -> Look:
    """A look from its file text; LookError listing every problem (``where`` names the file)."""
    return parse_look_json(json_document(text, where, LookError), where, JsonLocator(text))


def parse_look_json(data: Any, where: str | None = None, locator: Locator | None = None) -> Look:
    """A look from decoded JSON; LookError listing every problem (``locator`` adds each one's line)."""
    c = Checker(where, locator=locator, dialect=JSON)
    if not c.schema(data, LOOK_SCHEMA, "look"):
        c.raise_errors(LookError)
    c.keys(data, (), ("schema", "name", "zones", "notes"), required=("schema", "name", "zones"))
    name = data.get("name")
    try:
        check_look_name(name)
    except LookError as exc:
        if "name" in data:
            c.error(("name",), exc.detail)
    notes = data.get("notes", "")
    c.of_type(notes, ("notes",), (str,))
    zones: dict[str, ZoneValues] = {}
    raw_zones = data.get("zones", {})
    if c.of_type(raw_zones, ("zones",), (dict,), expected="an object of zones") is None:
        raw_zones = {}
    for zone, raw in raw_zones.items():
        values = _zone(c, zone, raw)
        if values is not None:
            zones[zone] = values
    c.raise_errors(LookError)
    return Look(str(name), zones, str(notes))


def _zone(c: Checker, zone: str, raw: Any) -> ZoneValues | None:
    key: KeyPath = ("zones", zone)
    if not ZONE_NAME.fullmatch(zone):
        c.error(key, "a zone name must match [a-z0-9][a-z0-9-]* (wall, ceiling, a fixture group, frustum)")
        return None
    frustum = zone == FRUSTUM_ZONE
    allowed = FRUSTUM_VALUES if frustum else LIGHT_VALUES
    hint = " (brightness, colour and level go to wall, ceiling or fixture zones)" if frustum else \
        " (exposure_stops and cdl go in the frustum zone)"
    obj = c.obj(raw, key, (), allowed, notes=dict.fromkeys((*NUMBER_LIMITS, "cdl"), hint))
    if obj is None:
        return None
    before = len(c.errors)
    numbers: dict[str, float] = {}
    for name in allowed:
        if name == "cdl" or name not in obj:
            continue
        number = c.of_type(obj[name], (*key, name), (int, float), finite=False)
        problem = None if number is None else limit_problem(name, number)
        if problem is not None:
            c.error((*key, name), problem)
        elif number is not None:
            numbers[name] = float(number)
    cdl = _cdl(c, obj["cdl"], (*key, "cdl")) if "cdl" in obj and frustum else None
    if len(c.errors) > before:
        return None
    return ZoneValues(**numbers, cdl=cdl)


def _triple(c: Checker, value: Any, key: KeyPath) -> tuple[float, float, float] | None:
    if not isinstance(value, list) or len(value) != 3:
        c.error(key, f"expected 3 numbers [r, g, b], got {c.dialect.describe(value)}"
                     + (f" of {len(value)}" if isinstance(value, list) else ""))
        return None
    numbers = [c.of_type(v, (*key, i), (int, float), finite=False) for i, v in enumerate(value)]
    if any(n is None for n in numbers):
        return None
    r, g, b = (float(n) for n in numbers)
    return r, g, b


def _cdl(c: Checker, raw: Any, key: KeyPath) -> Cdl | None:
    obj = c.obj(raw, key, (), ("slope", "offset", "power", "saturation"))
    if obj is None:
        return None
    before = len(c.errors)
    parts: dict[str, Any] = {}
    for name in ("slope", "offset", "power"):
        if name in obj:
            parts[name] = _triple(c, obj[name], (*key, name))
    if "saturation" in obj:
        saturation = c.of_type(obj["saturation"], (*key, "saturation"), (int, float), finite=False)
        parts["saturation"] = None if saturation is None else float(saturation)
    if len(c.errors) > before:
        return None
    cdl = Cdl(**parts)
    problems = cdl_problems(cdl)
    for where, problem in problems:  # each on the line of the number that is wrong
        c.error((*key, *where), problem)
    return None if problems else cdl


def parse_cues_text(text: str, where: str | None = None) -> CueList:
    """A cue list from ``cues.json`` text; LookError listing every problem."""
    return parse_cues_json(json_document(text, where, LookError), where, JsonLocator(text))


def parse_cues_json(data: Any, where: str | None = None, locator: Locator | None = None) -> CueList:
    """A cue list from decoded ``cues.json``; LookError listing every problem."""
    c = Checker(where, locator=locator, dialect=JSON)
    if not c.schema(data, CUES_SCHEMA, "cue"):
        c.raise_errors(LookError)
    c.keys(data, (), ("schema", "cues"), required=("schema", "cues"))
    raw = data.get("cues", [])
    if c.of_type(raw, ("cues",), (list,), expected="a list of cues") is None:
        raw = []
    cues: list[Cue] = []
    seen: dict[str, int] = {}
    fields = ("number", "look", "fade_s", "easing", "delay_s", "label")
    for i, item in enumerate(raw):
        key: KeyPath = ("cues", i)
        obj = c.obj(item, key, fields[:2], fields[2:])
        if obj is None:
            continue
        try:
            cue = Cue(**{name: obj[name] for name in fields if name in obj})
        except CueError as exc:  # on the line of the field that is wrong
            c.error(key if exc.field is None or exc.field not in obj else (*key, exc.field), str(exc))
            continue
        except TypeError as exc:
            c.error(key, str(exc))
            continue
        number = str(cue.key.normalize())
        if number in seen:
            c.error((*key, "number"), f"cue {cue.number} is already cues[{seen[number]}]")
            continue
        seen[number] = i
        cues.append(cue)
    c.raise_errors(LookError)
    return CueList.of(cues)


_NUMBER_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]+?)\s+\]")


def json_text(data: Any) -> str:
    """Indented JSON with lists of numbers on one line (``"slope": [1.0, 1.0, 0.9]``), newline-terminated."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    return _NUMBER_LIST.sub(lambda m: "[" + ", ".join(p.strip() for p in m.group(1).split(",")) + "]",
                            text) + "\n"


def look_text(look: Look) -> str:
    """The file text of ``look``."""
    return json_text(look.to_json())


def file_stem(name: str) -> str:
    """The file stem a look is saved under: ``Safe (house lights)`` -> ``safe-house-lights``."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:60] or "look"
    return f"{stem}-look" if stem == "cues" else stem


def factory_files() -> dict[str, str]:
    """The shipped looks: file name -> text (presets/factory/*.json)."""
    folder = resources.files("presets") / "factory"
    entries = sorted(folder.iterdir(), key=lambda e: e.name)
    return {e.name: e.read_text(encoding="utf-8") for e in entries if e.name.endswith(".json")}


def factory_looks() -> LoadResult:
    """The shipped looks, parsed (a shipped look that does not parse is a bug; tests check it)."""
    looks: list[Look] = []
    errors: list[LookError] = []
    for name, text in factory_files().items():
        try:
            looks.append(parse_look_text(text, f"factory/{name}"))
        except LookError as exc:
            errors.append(exc)
    return LoadResult(tuple(looks), tuple(errors))


class LookStore:
    """The looks of one folder, cached in memory; safe to use from the GUI thread and the I/O loop.

    ``get`` and ``list`` answer from memory (loading the folder on first use); ``save``,
    ``delete`` and ``rename`` write through to disk and the cache. Look names are unique
    regardless of case.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.RLock()
        self._looks: dict[str, Look] = {}
        self._paths: dict[str, Path] = {}
        self._loaded = False
        self.errors: tuple[LookError, ...] = ()
        """The problems the last :meth:`load_all` found."""

    # --- reading ---------------------------------------------------------------------------------

    def load_all(self) -> LoadResult:
        """(Re)read every look file; the looks that load, and one LookError per file that does not."""
        looks: dict[str, Look] = {}
        paths: dict[str, Path] = {}
        errors: list[LookError] = []
        for path in self._look_files():
            try:
                look = parse_look_text(path.read_text(encoding="utf-8"), str(path))
            except LookError as exc:
                errors.append(exc)
                continue
            except (OSError, UnicodeDecodeError) as exc:
                errors.append(LookError(f"cannot read: {exc}", path=str(path)))
                continue
            clash = next((n for n in looks if n.casefold() == look.name.casefold()), None)
            if clash is not None:
                errors.append(LookError(f"look name {look.name!r} is also used by {paths[clash].name}; "
                                        "rename one of them", path=str(path), key="name"))
                continue
            looks[look.name] = look
            paths[look.name] = path
        with self._lock:
            self._looks, self._paths, self._loaded = looks, paths, True
            self.errors = tuple(errors)
        return LoadResult(tuple(looks[n] for n in sorted(looks, key=str.casefold)), tuple(errors))

    def list(self) -> Names:
        """Every look name, sorted regardless of case."""
        with self._lock:
            self._ensure_loaded()
            return sorted(self._looks, key=str.casefold)

    def find(self, name: str) -> Look | None:
        """The look called ``name`` (exact, else regardless of case), or None."""
        with self._lock:
            self._ensure_loaded()
            key = self._key(name)
            return None if key is None else self._looks[key]

    def get(self, name: str) -> Look:
        """The look called ``name``; LookError with a did-you-mean when there is none."""
        look = self.find(name)
        if look is None:
            names = self.list()
            raise LookError(f"no look called {name!r}{did_you_mean(name, names)}", path=str(self.folder))
        return look

    # --- writing ---------------------------------------------------------------------------------

    def save(self, look: Look, *, replace: bool = True) -> Path:
        """Write ``look`` atomically (replacing the look of the same name unless ``replace`` is False)."""
        with self._lock:
            self._ensure_loaded()
            key = self._key(look.name)
            if key is not None and not replace:
                raise LookError(f"a look called {key!r} already exists", path=str(self._paths[key]))
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._paths[key] if key is not None else self._free_path(look.name)
            atomic_write_text(path, look_text(look))
            if key is not None:
                del self._looks[key], self._paths[key]
            self._looks[look.name], self._paths[look.name] = look, path
            return path

    def delete(self, name: str) -> None:
        """Remove the look called ``name`` (its file too); LookError if there is none."""
        with self._lock:
            look = self.get(name)
            self._paths[look.name].unlink(missing_ok=True)
            del self._looks[look.name], self._paths[look.name]

    def rename(self, old: str, new: str) -> Look:
        """Give look ``old`` the name ``new`` (new file, old one removed; cues follow the new name)."""
        with self._lock:
            look = self.get(old)
            check_look_name(new)
            other = self._key(new)
            if other is not None and other != look.name:
                raise LookError(f"a look called {other!r} already exists", path=str(self._paths[other]))
            renamed = look.renamed(new)
            old_path = self._paths.pop(look.name)
            del self._looks[look.name]
            same_file = old_path.name == f"{file_stem(new)}.json"  # only the case changed
            path = old_path if same_file else self._free_path(new)
            atomic_write_text(path, look_text(renamed))
            if old_path != path:
                old_path.unlink(missing_ok=True)
            self._looks[new], self._paths[new] = renamed, path
            if (self.folder / CUES_FILE).exists():
                cues = self.load_cues()
                if any(cue.look == look.name for cue in cues):
                    self.save_cues(cues.with_look_renamed(look.name, new))
            return renamed

    def ensure_factory(self) -> Names:
        """Copy the shipped looks into the folder if it has no looks yet; the names copied.

        Never overwrites a file: a folder with any look file is left alone.
        """
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            if self._look_files():
                return []
            copied: Names = []
            for file_name, text in factory_files().items():
                target = self.folder / file_name
                if target.exists():
                    continue
                atomic_write_text(target, text)
                copied.append(parse_look_text(text, str(target)).name)
            self.load_all()
            return copied

    # --- cues ------------------------------------------------------------------------------------

    def load_cues(self) -> CueList:
        """The folder's cue list (empty when there is no ``cues.json``); LookError if it is not valid."""
        path = self.folder / CUES_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return CueList()
        except (OSError, UnicodeDecodeError) as exc:
            raise LookError(f"cannot read: {exc}", path=str(path)) from None
        return parse_cues_text(text, str(path))

    def save_cues(self, cues: CueList) -> Path:
        """Write ``cues.json`` atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / CUES_FILE
        atomic_write_text(path, json_text(cues.to_json()))
        return path

    # --- helpers ---------------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.load_all()

    def _key(self, name: str) -> str | None:
        if name in self._looks:
            return name
        folded = name.casefold()
        return next((n for n in self._looks if n.casefold() == folded), None)

    def _look_files(self) -> Paths:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.json")
                      if p.name != CUES_FILE and not p.name.startswith(".") and p.is_file())

    def _free_path(self, name: str) -> Path:
        stem = file_stem(name)
        taken = set(self._paths.values())
        for n in range(1, 1000):
            path = self.folder / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
            if path not in taken and not path.exists():
                return path
        raise LookError(f"no free file name for look {name!r}", path=str(self.folder))
