"""Camera media read back with PyAV: files built by PyAV's muxers (MOV, MP4, MXF) at 23.976, 25, 29.97 DF."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from stagectl.core.timecode import FrameRate, Timecode
from stagectl.takes.conform.model import ConformError
from stagectl.takes.conform.sources.media import camera_from_name, read_media_file, read_media_folder
from tests.support.media import write_clip

R23976 = Fraction(24000, 1001)
R2997 = Fraction(30000, 1001)
CASES = [  # (suffix, rate, start label, frames)
    (".mov", R23976, "01:00:00:00", 5),
    (".mov", Fraction(25), "10:11:12:13", 3),
    (".mov", R2997, "00:59:59;28", 4),
    (".mp4", R23976, "23:59:59:23", 6),
    (".mp4", Fraction(25), "07:00:00:24", 5),
    (".mp4", R2997, "01:09:59;29", 3),
    (".mxf", R23976, "13:24:51:12", 4),
    (".mxf", Fraction(25), "10:00:00:00", 5),
    (".mxf", R2997, "00:00:59;29", 4),
]


@pytest.mark.parametrize(("suffix", "rate", "label", "frames"), CASES)
def test_every_field_reads_back(tmp_path: Path, suffix: str, rate: Fraction, label: str, frames: int) -> None:
    path = write_clip(tmp_path / f"A001C007_0412{suffix}", rate, label, frames)
    clip = read_media_file(path)
    expected_rate = FrameRate(rate)
    assert clip.name == "A001C007_0412"
    assert clip.rate == expected_rate and clip.rate.rate == rate  # exact, never 23.976 as a float
    assert clip.start == Timecode.parse(label, expected_rate)  # frames, rate and drop-frame flag
    assert str(clip.start) == label
    assert clip.drop_frame is (";" in label)
    assert clip.frames == frames
    assert clip.camera == "A" and clip.columns["Camera from"] == "clip name"
    assert clip.source == str(path)


def test_drop_frame_label_counts_the_skipped_frames(tmp_path: Path) -> None:
    # 00:59:59;28 at 29.97 DF is frame 107890 (the tmcd sample the muxer wrote holds that count too).
    clip = read_media_file(write_clip(tmp_path / "c.mov", R2997, "00:59:59;28", 4))
    assert clip.start.frames == 107_890
    assert str(clip.end) == "01:00:00;02"  # 28, 29, then 01:00:00;00 and ;01 (minute 60 is a 10th)


def test_mov_timecode_is_on_the_tmcd_track_the_reader_finds(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "B002C003.mov", Fraction(25), "10:00:00:00", 3,
                      stream_tags={"reel_name": "B002"})
    with av.open(str(path)) as container:  # the muxer wrote a QuickTime timecode track
        tracks = [s for s in container.streams.data if s.metadata.get("timecode")]
        assert tracks and tracks[0].metadata["reel_name"] == "B002"
    clip = read_media_file(path)
    assert clip.reel == "B002"
    assert clip.columns["Timecode from"] in ("video stream", "tmcd track")


def test_mxf_material_package_timecode_and_reel(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "C003C001.mxf", R23976, "12:00:00:00", 3,
                      container_tags={"reel_name": "C003"})
    clip = read_media_file(path)
    assert (str(clip.start), clip.reel, clip.camera) == ("12:00:00:00", "C003", "C")
    # Without a reel FFmpeg's MXF demuxer puts the timecode on the container only (material package).
    bare = read_media_file(write_clip(tmp_path / "C003C002.mxf", R23976, "12:00:10:00", 3))
    assert (str(bare.start), bare.reel, bare.columns["Timecode from"]) == ("12:00:10:00", None, "container")


def test_camera_tag_wins_over_the_clip_name(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "A001C001.mp4", Fraction(25), "01:00:00:00", 2,
                      container_tags={"camera": "B"})
    clip = read_media_file(path)
    assert clip.camera == "B"
    assert clip.columns["Camera from"] == "metadata camera"


def test_tape_tag_is_the_reel(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "shot.mov", Fraction(25), "01:00:00:00", 2, container_tags={"tape": "T7"})
    clip = read_media_file(path)
    assert clip.reel == "T7"
    assert clip.camera is None and clip.columns["Camera from"] == "unknown"


@pytest.mark.parametrize(("name", "camera"), [("A001C007_0412", "A"), ("b002c013", "B"), ("A001_C007", None),
                                              ("Z999C999X", "Z"), ("shot_12", None), ("AA01C007", None)])
def test_camera_letter_from_the_clip_name(name: str, camera: str | None) -> None:
    assert camera_from_name(name) == camera


def test_folder_recurses_ignores_other_files_and_reports_bad_media(tmp_path: Path) -> None:
    card = tmp_path / "day1"
    (card / "A001" / "CLIPS").mkdir(parents=True)
    (card / "B002").mkdir()
    write_clip(card / "A001" / "CLIPS" / "A001C001.MOV", Fraction(25), "10:00:00:00", 2)
    write_clip(card / "B002" / "B002C001.mxf", Fraction(25), "10:00:01:00", 3)
    write_clip(card / "B002" / "B002C002.mp4", Fraction(25), "10:00:02:00", 4)
    (card / "A001" / "notes.txt").write_text("not media")
    (card / "A001" / "CLIPS" / "._A001C001.MOV").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (card / "B002" / "B002C003.mov").write_bytes(b"truncated copy")
    write_clip(card / "B002" / "no_tc.mov", Fraction(25), "10:00:00:00", 2)
    _strip_timecode(card / "B002" / "no_tc.mov")
    scan = read_media_folder(card)
    assert [c.name for c in scan.clips] == ["A001C001", "B002C001", "B002C002"]
    assert [c.frames for c in scan.clips] == [2, 3, 4]
    assert len(scan.problems) == 2
    assert str(card / "B002" / "B002C003.mov") in scan.problems[0]
    assert "not readable" in scan.problems[0]
    assert str(card / "B002" / "no_tc.mov") in scan.problems[1] and "no start timecode" in scan.problems[1]


def _strip_timecode(path: Path) -> None:
    """Re-write ``path`` as the same picture without any timecode (a clip from a consumer camera)."""
    plain = path.with_suffix(".tmp.mov")
    with av.open(str(path)) as source, av.open(str(plain), "w", format="mov") as out:
        video = source.streams.video[0]
        stream = out.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    plain.replace(path)


def test_not_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConformError, match="not a folder"):
        read_media_folder(tmp_path / "missing")
