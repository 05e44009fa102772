"""ASC CDL export: the look live at the start of a take as ``.cc``, ``.cdl`` and ``.ccc`` XML.

The ASC CDL XML (namespace ``urn:ASC:CDL:v1.01``) carries one grade as a ``ColorCorrection``:
``SOPNode`` with ``Slope``, ``Offset`` and ``Power`` (three numbers each, r g b) and ``SatNode``
with ``Saturation``. stagectl writes three files per take (``<take name>.<ext>``):

* ``.cc``: one ``ColorCorrection``, the take's primary grade (:meth:`TakeData.primary_cdl`, the
  ``frustum`` zone's when there is one), ``id`` = ``<take name>_<zone>``;
* ``.cdl``: a ``ColorDecisionList`` with one ``ColorDecision`` per zone of the look;
* ``.ccc``: a ``ColorCorrectionCollection`` with every zone's ``ColorCorrection``.

Zones are written primary zone first, then the others by name. ``Description`` elements name the
look, the zone and the take. Numbers are fixed-point with up to six decimals and at least one
(:func:`format_cdl_number`), which both XML readers and the ASC_SOP regexes of ALE/EDL readers take.

This module also holds the CDL number formatting and checks the ALE and OTIO exporters share.
Values the ASC CDL cannot hold raise :class:`stagectl.takes.export.registry.ExportError`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from stagectl.core.atomic import atomic_write_text
from stagectl.core.colour import Cdl
from stagectl.takes.export.registry import ExportError
from stagectl.takes.model import TakeData

__all__ = ["CDL_NAMESPACE", "asc_sop_text", "cc_xml", "ccc_xml", "cdl_list_xml", "check_cdl",
           "export_cdl", "format_cdl_number", "ordered_zones", "skip_reason"]

CDL_NAMESPACE = "urn:ASC:CDL:v1.01"
_DECIMALS = 6
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def format_cdl_number(value: float) -> str:
    """A CDL number as fixed-point text with up to six decimals and at least one: ``1.1``, ``1.0``,
    ``-0.02``. Never an exponent (ALE/EDL ASC_SOP readers match ``-?digits.digits``), never ``-0.0``.
    """
    text = f"{value:.{_DECIMALS}f}".rstrip("0")
    if text.endswith("."):
        text += "0"
    return "0.0" if text == "-0.0" else text


def _triple(values: tuple[float, float, float]) -> str:
    return " ".join(format_cdl_number(v) for v in values)


def asc_sop_text(cdl: Cdl) -> str:
    """The ASC_SOP text of ALE columns and EDL comments: ``(sr sg sb)(or og ob)(pr pg pb)``."""
    return f"({_triple(cdl.slope)})({_triple(cdl.offset)})({_triple(cdl.power)})"


def check_cdl(cdl: Cdl, where: str) -> None:
    """Raise :class:`ExportError` unless every value is finite, slope >= 0, power > 0 and saturation >= 0
    (the ASC CDL ranges; OpenColorIO refuses anything else). ``where`` names the take and zone."""
    fields: list[tuple[str, float]] = [
        *((f"slope.{c}", v) for c, v in zip("rgb", cdl.slope, strict=True)),
        *((f"offset.{c}", v) for c, v in zip("rgb", cdl.offset, strict=True)),
        *((f"power.{c}", v) for c, v in zip("rgb", cdl.power, strict=True)),
        ("saturation", cdl.saturation),
    ]
    for name, value in fields:
        bad = not math.isfinite(value)
        bad = bad or (name.startswith(("slope", "saturation")) and value < 0.0)
        bad = bad or (name.startswith("power") and value <= 0.0)
        if bad:
            raise ExportError(f"{where}: CDL {name} = {value!r} cannot be exported; the ASC CDL needs finite "
                              "values with slope >= 0, power > 0 and saturation >= 0 (fix the look)")


def ordered_zones(take: TakeData) -> list[str]:
    """The take's CDL zones in file order: the primary zone first, then the others by name."""
    primary = take.primary_cdl()
    if primary is None:
        return []
    return [primary[0], *sorted(z for z in take.cdl_at_start if z != primary[0])]


def _take_label(take: TakeData) -> str:
    info = take.info
    tc = f" from {info.tc_in}" if info.tc_in is not None else ""
    return f"stagectl take {info.name} (id {info.take_id}){tc}"


def _look_label(take: TakeData) -> str:
    return f"look {take.info.look_at_start}" if take.info.look_at_start else "unnamed look"


def _color_correction(parent: ET.Element | None, take: TakeData, zone: str) -> ET.Element:
    cdl = take.cdl_at_start[zone]
    check_cdl(cdl, f"take {take.info.name}, zone {zone!r}")
    attrs = {"id": f"{take.info.name}_{zone}"}
    if parent is None:
        cc = ET.Element("ColorCorrection", attrs)
    else:
        cc = ET.SubElement(parent, "ColorCorrection", attrs)
    ET.SubElement(cc, "Description").text = f"{_look_label(take)}, zone {zone}, {_take_label(take)}"
    sop = ET.SubElement(cc, "SOPNode")
    ET.SubElement(sop, "Slope").text = _triple(cdl.slope)
    ET.SubElement(sop, "Offset").text = _triple(cdl.offset)
    ET.SubElement(sop, "Power").text = _triple(cdl.power)
    sat = ET.SubElement(cc, "SatNode")
    ET.SubElement(sat, "Saturation").text = format_cdl_number(cdl.saturation)
    return cc


def _to_text(root: ET.Element) -> str:
    # Elements are built with plain names and the root carries xmlns itself: ElementTree's
    # default_namespace option refuses the unqualified ``id`` attribute, and register_namespace
    # would change a process-wide table.
    root.set("xmlns", CDL_NAMESPACE)
    ET.indent(root, space="  ")
    return _XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _require_cdl(take: TakeData) -> None:
    if not take.cdl_at_start:
        raise ExportError(f"take {take.info.name} has no CDL (no look with a CDL was live at its start)")


def cc_xml(take: TakeData) -> str:
    """The ``.cc`` text: the primary zone's ``ColorCorrection``. ExportError when the take has no CDL."""
    _require_cdl(take)
    return _to_text(_color_correction(None, take, ordered_zones(take)[0]))


def cdl_list_xml(take: TakeData) -> str:
    """The ``.cdl`` text: a ``ColorDecisionList`` with a ``ColorDecision`` per zone."""
    _require_cdl(take)
    root = ET.Element("ColorDecisionList")
    ET.SubElement(root, "Description").text = f"{_take_label(take)}, {_look_label(take)}"
    for zone in ordered_zones(take):
        _color_correction(ET.SubElement(root, "ColorDecision"), take, zone)
    return _to_text(root)


def ccc_xml(take: TakeData) -> str:
    """The ``.ccc`` text: a ``ColorCorrectionCollection`` with every zone's ``ColorCorrection``."""
    _require_cdl(take)
    root = ET.Element("ColorCorrectionCollection")
    ET.SubElement(root, "Description").text = f"{_take_label(take)}, {_look_label(take)}"
    for zone in ordered_zones(take):
        _color_correction(root, take, zone)
    return _to_text(root)


def skip_reason(take: TakeData) -> str | None:
    """Why :func:`export_cdl` writes nothing for ``take`` (None when it writes its files)."""
    if take.cdl_at_start:
        return None
    label = f"take {take.info.take_id} ({take.info.name})"
    if take.info.look_at_start:
        return f"{label}: its look {take.info.look_at_start!r} holds no CDL: no CDL written"
    return f"{label} has no look (none was live at its start): no CDL written"


def export_cdl(take: TakeData, out_dir: Path, *,
               progress: Callable[[float], None] | None = None) -> list[Path]:
    """Write ``<take name>.cc``, ``.cdl`` and ``.ccc`` (atomically) into ``out_dir``; return the paths.

    A take with no CDL at its start (no look held one) writes nothing and returns ``[]``
    (:func:`skip_reason` says why).
    Raises :class:`ExportError` for a CDL value the ASC CDL cannot hold (nothing is written then).
    """
    if not take.cdl_at_start:
        if progress is not None:
            progress(1.0)
        return []
    # Build all three before writing any, so a bad value leaves no partial set of files.
    texts = {".cc": cc_xml(take), ".cdl": cdl_list_xml(take), ".ccc": ccc_xml(take)}
    written: list[Path] = []
    for i, (ext, text) in enumerate(texts.items()):
        if progress is not None:
            progress(i / len(texts))
        path = Path(out_dir) / f"{take.info.name}{ext}"
        atomic_write_text(path, text)
        written.append(path)
    if progress is not None:
        progress(1.0)
    return written
