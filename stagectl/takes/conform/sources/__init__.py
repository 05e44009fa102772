"""What conform is given: camera media folders, the DIT's ALE, a clip CSV, the editor's cut.

:func:`read_sources` decides by what each path is: a folder is camera media (:mod:`.media`, PyAV), an
``.ale`` the DIT's log (:mod:`.ale`, strict, cross-checked by otio-ale-adapter), a ``.csv`` a clip
list (:mod:`.csv_clips`). :func:`read_cut` reads a cut (:mod:`.cut`) and :func:`write_enriched_ale`
writes the ALE back with stagectl's columns (:mod:`.ale_write`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stagectl.takes.conform.model import Clip, ConformError
from stagectl.takes.conform.sources.ale import AleDocument, read_ale
from stagectl.takes.conform.sources.ale_write import ENRICHED_COLUMNS, EnrichedAle, write_enriched_ale
from stagectl.takes.conform.sources.csv_clips import read_clip_csv
from stagectl.takes.conform.sources.cut import read_cut
from stagectl.takes.conform.sources.media import read_media_file, read_media_folder

__all__ = ["ENRICHED_COLUMNS", "AleDocument", "EnrichedAle", "SourceSet", "read_ale", "read_clip_csv",
           "read_cut", "read_media_file", "read_media_folder", "read_sources", "write_enriched_ale"]


@dataclass(frozen=True, slots=True)
class SourceSet:
    """The clips of every SOURCE in the order given, the ALE to enrich (when one was given), and warnings
    (media that could not be read, clips listed twice, an ALE read as Windows-1252)."""

    clips: list[Clip] = field(default_factory=list)
    ale: AleDocument | None = None
    warnings: list[str] = field(default_factory=list)


def _kind(path: Path) -> str:
    if path.is_dir():
        return "media"
    if not path.exists():
        raise ConformError(f"SOURCE {path} does not exist; give a folder of camera media, an .ale or a .csv")
    suffix = path.suffix.lower()
    if suffix in (".ale", ".csv"):
        return suffix[1:]
    raise ConformError(f"SOURCE {path} is not a kind stagectl reads: give a folder of camera media "
                       "(MOV, MXF, MP4), the DIT's .ale or a .csv (clip, camera, start TC, end TC, fps); "
                       "for one media file, give its folder")


def read_sources(paths: Sequence[Path]) -> SourceSet:
    """Read every SOURCE into one :class:`SourceSet`.

    A clip name seen twice keeps its first reading (a warning names both places). Raises
    :class:`ConformError` for an unknown kind, a missing path, a bad ALE / CSV, or two ALEs (the
    enriched ALE is written from one).
    """
    if not paths:
        raise ConformError("no SOURCE given; give a folder of camera media, an .ale or a .csv")
    result = SourceSet()
    ale: AleDocument | None = None
    seen: dict[str, Clip] = {}
    for path in paths:
        kind = _kind(Path(path))
        clips: Sequence[Clip]
        if kind == "media":
            scan = read_media_folder(Path(path))
            clips = scan.clips
            result.warnings.extend(scan.problems)
            if not scan.clips and not scan.problems:
                result.warnings.append(f"{path}: no MOV, MXF or MP4 media in this folder")
        elif kind == "ale":
            if ale is not None:
                raise ConformError(f"two ALEs given ({ale.path} and {path}); give one ALE per run (the "
                                   "enriched ALE is written from it)")
            ale = read_ale(Path(path))
            clips = ale.clips
            result.warnings.extend(ale.warnings)
        else:
            clips = read_clip_csv(Path(path))
        for clip in clips:
            first = seen.get(clip.name)
            if first is not None:
                same = (first.start, first.frames) == (clip.start, clip.frames)
                other = "" if same else f" with another range ({clip.start} + {clip.frames})"
                result.warnings.append(f"clip {clip.name!r} is listed again at {clip.source}{other}; "
                                       f"kept the first ({first.source})")
                continue
            seen[clip.name] = clip
            result.clips.append(clip)
    return SourceSet(clips=result.clips, ale=ale, warnings=result.warnings)
