"""What the Remote Control emulator starts with: the objects and presets of a small nDisplay stage level."""

from __future__ import annotations

from typing import Any

ICVFX_CAMERA = "/Game/Stage/Main.Main:PersistentLevel.nDisplay_Stage_C_0.ICVFXCamera"


SYSTEM_LIBRARY = "/Script/Engine.Default__KismetSystemLibrary"


#: A Blueprint actor applying an ASC CDL to the inner frustum (a stage's own; its shape is ours).
STAGE_GRADE = "/Game/Stage/Main.Main:PersistentLevel.BP_StageGrade_C_0"


def default_objects() -> dict[str, dict[str, Any]]:
    """Objects seeded into a fresh emulator: an nDisplay-like ICVFX camera and a function library."""
    return {
        ICVFX_CAMERA: {
            "CameraSettings": {
                "bEnable": True,
                "BufferRatio": 1.0,
                "CustomFrustum": {"bEnable": True, "FieldOfViewMultiplier": 1.0, "Mode": "Percent",
                                  "Left": 0.0, "Right": 0.0, "Top": 0.0, "Bottom": 0.0},
                "SoftEdge": {"Vertical": 0.0, "Horizontal": 0.0},
                "FrustumRotation": {"Pitch": 0.0, "Yaw": 0.0, "Roll": 0.0},
                "FrustumOffset": {"X": 0.0, "Y": 0.0, "Z": 0.0},
                "Chromakey": {"bEnable": False, "ChromakeyColor": {"R": 0.0, "G": 0.8, "B": 0.0, "A": 1.0}},
                "AllNodesColorGrading": {"bEnableInnerFrustumAllNodesColorGrading": True,
                                         "ColorGradingSettings": {"AutoExposureBias": 0.0}},
            },
            "bHiddenInGame": False,
        },
        STAGE_GRADE: {
            "Slope": {"R": 1.0, "G": 1.0, "B": 1.0, "A": 1.0},
            "Offset": {"R": 0.0, "G": 0.0, "B": 0.0, "A": 1.0},
            "Power": {"R": 1.0, "G": 1.0, "B": 1.0, "A": 1.0},
            "Saturation": 1.0,
        },
        SYSTEM_LIBRARY: {},
    }


def default_presets() -> dict[str, dict[str, Any]]:
    """The "stagectl" preset: labels the frustum cues address (see stagectl.unreal.frustum)."""
    cs = "CameraSettings."
    props = {
        "Inner Frustum": {"object": ICVFX_CAMERA, "property": cs + "bEnable", "type": "bool"},
        "Overscan": {"object": ICVFX_CAMERA, "property": cs + "CustomFrustum.FieldOfViewMultiplier",
                     "type": "float", "min": 0.05, "max": 5.0},
        # One operator control driving both soft-edge axes (as a Blueprint setter would).
        "Soft Edge": {"object": ICVFX_CAMERA,
                      "property": [cs + "SoftEdge.Horizontal", cs + "SoftEdge.Vertical"],
                      "type": "float", "min": 0.0, "max": 1.0},
        "Chroma Key": {"object": ICVFX_CAMERA, "property": cs + "Chromakey.bEnable", "type": "bool"},
        "Chroma Key Colour": {"object": ICVFX_CAMERA, "property": cs + "Chromakey.ChromakeyColor",
                              "type": "struct"},
        "Frustum Exposure": {"object": ICVFX_CAMERA,
                             "property": cs + "AllNodesColorGrading.ColorGradingSettings.AutoExposureBias",
                             "type": "float", "min": -15.0, "max": 15.0},
        "CDL Slope": {"object": STAGE_GRADE, "property": "Slope", "type": "struct"},
        "CDL Offset": {"object": STAGE_GRADE, "property": "Offset", "type": "struct"},
        "CDL Power": {"object": STAGE_GRADE, "property": "Power", "type": "struct"},
        "CDL Saturation": {"object": STAGE_GRADE, "property": "Saturation", "type": "float",
                           "min": 0.0, "max": 4.0},
    }
    functions = {"Print": {"object": SYSTEM_LIBRARY, "function": "PrintString"}}
    return {"stagectl": {"properties": props, "functions": functions}}
