"""The VisionFit catalogue as data: exercises, rooms, furniture, outfits, looks.

Everything a parameter can choose lives here, so adding a room, an exercise or an outfit is
a data edit (which is why this module is long: it is tables, not logic). Units: metres,
degrees, seconds; colours are sRGB in 0..1.

World frame of a room: x to the right (as seen from the camera side), y into the room
(the back wall is at y = depth), z up; the floor is z = 0. The room is open on the camera
side (y < 0 continues the floor, side walls and ceiling), so a camera up to 5.25 m from the
person always sees an unbroken room.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DOFS",
    "EXERCISES",
    "FLOOR_KINDS",
    "HAIR_COLOURS",
    "OUTFITS",
    "SCENES",
    "SKIN_TONES",
    "Exercise",
    "FurnitureSpec",
    "Keyframe",
    "Scene",
    "Outfit",
    "neutral_pose",
]

# ---------------------------------------------------------------------------------------
# Degrees of freedom of a pose. Angles in degrees; root_x/root_y/lift in metres.
# Sign conventions (body frame: x = the person's right, y = forward, z = up):
#   *_flex > 0 moves a hanging limb forward (shoulder, hip), bends the elbow, bends the
#   knee backward; spine/neck flex > 0 bend forward; pitch > 0 leans the whole body forward;
#   *_abd > 0 raises a limb sideways away from the body; sh_horiz > 0 swings a raised arm
#   forward; spine_twist > 0 turns the chest to the person's left; spine_side > 0 bends to
#   the right; sh_twist > 0 turns the upper arm about its own axis; ankle > 0 lifts the
#   toes; hands_anchor 0..1 blends which contact stays put on the floor (0: feet,
#   1: hands), so burpees and push-ups do not slide.
DOFS: tuple[str, ...] = (
    "root_x", "root_y", "lift", "pitch", "roll", "yaw",
    "spine_flex", "spine_side", "spine_twist", "neck_flex", "neck_twist",
    "l_sh_flex", "l_sh_abd", "l_sh_horiz", "l_sh_twist", "l_elbow", "l_wrist",
    "r_sh_flex", "r_sh_abd", "r_sh_horiz", "r_sh_twist", "r_elbow", "r_wrist",
    "l_hip_flex", "l_hip_abd", "l_hip_twist", "l_knee", "l_ankle",
    "r_hip_flex", "r_hip_abd", "r_hip_twist", "r_knee", "r_ankle",
    "hands_anchor",
)
_NEUTRAL = {"l_sh_abd": 7.0, "r_sh_abd": 7.0, "l_elbow": 12.0, "r_elbow": 12.0}
# DOFs that are lengths or weights rather than angles (kinematic noise leaves them alone).
NON_ANGLE_DOFS = frozenset({"root_x", "root_y", "lift", "hands_anchor"})


def neutral_pose() -> dict[str, float]:
    """Standing relaxed: every DOF, most of them zero."""
    return {d: _NEUTRAL.get(d, 0.0) for d in DOFS}


Keyframe = tuple[float, dict[str, float]]  # (phase in 0..1, DOFs that differ from neutral)


@dataclass(frozen=True)
class Exercise:
    """One repetition as keyframes over phase 0..1 (phase 1 equals phase 0)."""

    name: str
    seconds: float  # one rep at rel_baseline_speed 1
    keyframes: tuple[Keyframe, ...]
    dumbbells: bool = False


def _mirror_dofs(pose: dict[str, float]) -> dict[str, float]:
    """Left/right swapped: limb DOFs swap sides, sideways and turning DOFs change sign."""
    out: dict[str, float] = {}
    for k, v in pose.items():
        if k.startswith("l_"):
            out["r_" + k[2:]] = v
        elif k.startswith("r_"):
            out["l_" + k[2:]] = v
        elif k in ("root_x", "roll", "yaw", "spine_side", "spine_twist", "neck_twist"):
            out[k] = -v
        else:
            out[k] = v
    return out


def _mirror(ex: Exercise, name: str) -> Exercise:
    return Exercise(name, ex.seconds, tuple((p, _mirror_dofs(d)) for p, d in ex.keyframes),
                    ex.dumbbells)


def _cycle(*keys: Keyframe) -> tuple[Keyframe, ...]:
    """Keyframes closed into a loop: the pose at phase 1 is the pose at phase 0."""
    return (*keys, (1.0, keys[0][1]))


# A boxing guard: fists up by the chin, knees soft.
_GUARD = {"l_sh_flex": 35, "l_sh_abd": 18, "l_elbow": 125, "r_sh_flex": 35, "r_sh_abd": 18,
          "r_elbow": 125, "l_hip_flex": 12, "r_hip_flex": 12, "l_knee": 20, "r_knee": 20,
          "l_ankle": 6, "r_ankle": 6, "spine_flex": 6, "l_hip_abd": 6, "r_hip_abd": 6}
_UPPERCUT_LEFT = Exercise("UPPERCUT-LEFT", 1.1, _cycle(
    (0.0, _GUARD),
    (0.35, {**_GUARD, "spine_twist": 18, "l_sh_flex": 10, "l_elbow": 95, "l_hip_flex": 28,
            "r_hip_flex": 28, "l_knee": 45, "r_knee": 45, "l_ankle": 16, "r_ankle": 16,
            "spine_flex": 14}),
    (0.6, {**_GUARD, "spine_twist": -24, "l_sh_flex": 115, "l_sh_abd": 10, "l_elbow": 80,
           "l_hip_flex": 6, "r_hip_flex": 6, "l_knee": 8, "r_knee": 8, "spine_side": -6}),
))

_PLANK = {"pitch": 68, "l_sh_flex": 68, "r_sh_flex": 68, "l_sh_abd": 12, "r_sh_abd": 12,
          "l_elbow": 0, "r_elbow": 0, "l_wrist": -70, "r_wrist": -70, "l_ankle": -35,
          "r_ankle": -35, "neck_flex": -20, "hands_anchor": 1}
_PUSHUP_LOW = {**_PLANK, "pitch": 82, "l_sh_flex": 40, "r_sh_flex": 40, "l_sh_abd": 30,
               "r_sh_abd": 30, "l_elbow": 95, "r_elbow": 95, "l_wrist": -50, "r_wrist": -50}
_SQUAT_LOW = {"l_hip_flex": 105, "r_hip_flex": 105, "l_knee": 115, "r_knee": 115,
              "l_ankle": 28, "r_ankle": 28, "spine_flex": 28, "l_hip_abd": 12,
              "r_hip_abd": 12}
_CROUCH_HANDS_DOWN = {**_SQUAT_LOW, "spine_flex": 55, "l_sh_flex": 75, "r_sh_flex": 75,
                      "l_elbow": 0, "r_elbow": 0, "l_wrist": -60, "r_wrist": -60,
                      "l_hip_flex": 120, "r_hip_flex": 120, "l_knee": 130, "r_knee": 130}
_JUMP_UP = {"lift": 0.25, "l_sh_flex": 165, "r_sh_flex": 165, "l_elbow": 10,
            "r_elbow": 10, "l_ankle": -35, "r_ankle": -35}
_TOE_TOUCH_DOWN = {"spine_flex": 80, "l_hip_flex": 55, "r_hip_flex": 55, "l_sh_flex": 95,
                   "r_sh_flex": 95, "l_elbow": 0, "r_elbow": 0, "l_knee": 8, "r_knee": 8,
                   "neck_flex": -15, "root_y": -0.08}
_CROSSBACK_LEFT = {"r_hip_flex": 62, "r_knee": 85, "l_hip_flex": -35, "l_hip_abd": -18,
                   "l_knee": 70, "l_ankle": -30, "spine_flex": 12, "spine_twist": -8,
                   "l_sh_abd": 30, "r_sh_abd": 30, "root_x": 0.06}

_EXERCISE_LIST: list[Exercise] = [
    _UPPERCUT_LEFT,
    _mirror(_UPPERCUT_LEFT, "UPPERCUT-RIGHT"),
    Exercise("SQUAT-BODYWEIGHT", 2.2, _cycle(
        (0.0, {}),
        (0.45, {**_SQUAT_LOW, "l_sh_flex": 85, "r_sh_flex": 85, "l_elbow": 5, "r_elbow": 5}),
        (0.6, {**_SQUAT_LOW, "l_sh_flex": 85, "r_sh_flex": 85, "l_elbow": 5, "r_elbow": 5}),
    )),
    Exercise("SQUAT-GOBLET-DUMBBELL", 2.4, _cycle(
        (0.0, {"l_sh_flex": 30, "r_sh_flex": 30, "l_elbow": 140, "r_elbow": 140,
               "l_sh_abd": 10, "r_sh_abd": 10}),
        (0.5, {**_SQUAT_LOW, "l_sh_flex": 45, "r_sh_flex": 45, "l_elbow": 135,
               "r_elbow": 135, "l_sh_abd": 14, "r_sh_abd": 14, "spine_flex": 18}),
    ), dumbbells=True),
    Exercise("ARM_RAISE-DUMBBELL", 2.0, _cycle(
        (0.0, {"l_sh_flex": 5, "r_sh_flex": 5, "l_sh_abd": 4, "r_sh_abd": 4}),
        (0.45, {"l_sh_flex": 92, "r_sh_flex": 92, "l_sh_abd": 6, "r_sh_abd": 6,
                "l_elbow": 8, "r_elbow": 8}),
        (0.55, {"l_sh_flex": 92, "r_sh_flex": 92, "l_sh_abd": 6, "r_sh_abd": 6,
                "l_elbow": 8, "r_elbow": 8}),
    ), dumbbells=True),
    Exercise("LATERAL_RAISE-DUMBBELL", 2.0, _cycle(
        (0.0, {"l_sh_abd": 6, "r_sh_abd": 6}),
        (0.45, {"l_sh_abd": 88, "r_sh_abd": 88, "l_elbow": 15, "r_elbow": 15,
                "l_sh_flex": 10, "r_sh_flex": 10}),
        (0.55, {"l_sh_abd": 88, "r_sh_abd": 88, "l_elbow": 15, "r_elbow": 15,
                "l_sh_flex": 10, "r_sh_flex": 10}),
    ), dumbbells=True),
    Exercise("BICEP_CURL-ALTERNATING-DUMBBELL", 2.6, _cycle(
        (0.0, {"l_elbow": 5, "r_elbow": 5}),
        (0.25, {"l_elbow": 140, "l_sh_flex": 15, "r_elbow": 5}),
        (0.5, {"l_elbow": 5, "r_elbow": 5}),
        (0.75, {"r_elbow": 140, "r_sh_flex": 15, "l_elbow": 5}),
    ), dumbbells=True),
    Exercise("SHOULDER_PRESS-DUMBBELL", 2.0, _cycle(
        (0.0, {"l_sh_abd": 85, "r_sh_abd": 85, "l_elbow": 95, "r_elbow": 95,
               "l_sh_horiz": 20, "r_sh_horiz": 20, "l_sh_twist": 90, "r_sh_twist": 90}),
        (0.5, {"l_sh_abd": 165, "r_sh_abd": 165, "l_elbow": 10, "r_elbow": 10,
               "l_sh_horiz": 10, "r_sh_horiz": 10, "l_sh_twist": 90, "r_sh_twist": 90}),
    ), dumbbells=True),
    Exercise("LUNGE-CROSSBACK", 3.0, _cycle(
        (0.0, {}),
        (0.25, _CROSSBACK_LEFT),
        (0.5, {}),
        (0.75, _mirror_dofs(_CROSSBACK_LEFT)),
    )),
    Exercise("PUSHUP", 1.8, _cycle((0.0, _PLANK), (0.5, _PUSHUP_LOW))),
    Exercise("JUMPING_JACK", 0.9, _cycle(
        (0.0, {}),
        (0.25, {"lift": 0.12, "l_sh_abd": 95, "r_sh_abd": 95, "l_hip_abd": 14,
                "r_hip_abd": 14, "l_ankle": -30, "r_ankle": -30}),
        (0.5, {"l_sh_abd": 170, "r_sh_abd": 170, "l_elbow": 15, "r_elbow": 15,
               "l_hip_abd": 24, "r_hip_abd": 24, "l_knee": 12, "r_knee": 12,
               "l_hip_flex": 6, "r_hip_flex": 6}),
        (0.75, {"lift": 0.12, "l_sh_abd": 95, "r_sh_abd": 95, "l_hip_abd": 14,
                "r_hip_abd": 14, "l_ankle": -30, "r_ankle": -30}),
    )),
    # Three burpee variants: squat thrust; with a jump; with a push-up and a jump.
    Exercise("BURPEE_01", 2.6, _cycle(
        (0.0, {}),
        (0.25, _CROUCH_HANDS_DOWN),
        (0.45, _PLANK),
        (0.6, _PLANK),
        (0.8, _CROUCH_HANDS_DOWN),
    )),
    Exercise("BURPEE_02", 3.0, _cycle(
        (0.0, {}),
        (0.2, _CROUCH_HANDS_DOWN),
        (0.38, _PLANK),
        (0.5, _PLANK),
        (0.68, _CROUCH_HANDS_DOWN),
        (0.85, _JUMP_UP),
    )),
    Exercise("BURPEE_03", 3.6, _cycle(
        (0.0, {}),
        (0.16, _CROUCH_HANDS_DOWN),
        (0.3, _PLANK),
        (0.43, _PUSHUP_LOW),
        (0.56, _PLANK),
        (0.72, _CROUCH_HANDS_DOWN),
        (0.87, _JUMP_UP),
    )),
    # Two toe-touch variants: both hands to both feet; alternating hand to opposite foot.
    Exercise("TOE_TOUCH_01", 2.2, _cycle((0.0, {}), (0.5, _TOE_TOUCH_DOWN))),
    Exercise("TOE_TOUCH_02", 3.0, _cycle(
        (0.0, {"l_sh_abd": 85, "r_sh_abd": 85, "l_hip_abd": 16, "r_hip_abd": 16,
               "l_elbow": 0, "r_elbow": 0}),
        (0.25, {"spine_flex": 70, "spine_twist": -40, "l_sh_abd": 75, "r_sh_abd": 85,
                "l_sh_flex": 60, "r_sh_flex": -20, "l_hip_abd": 16, "r_hip_abd": 16,
                "l_hip_flex": 40, "r_hip_flex": 40, "l_elbow": 0, "r_elbow": 0}),
        (0.5, {"l_sh_abd": 85, "r_sh_abd": 85, "l_hip_abd": 16, "r_hip_abd": 16,
               "l_elbow": 0, "r_elbow": 0}),
        (0.75, {"spine_flex": 70, "spine_twist": 40, "r_sh_abd": 75, "l_sh_abd": 85,
                "r_sh_flex": 60, "l_sh_flex": -20, "l_hip_abd": 16, "r_hip_abd": 16,
                "l_hip_flex": 40, "r_hip_flex": 40, "l_elbow": 0, "r_elbow": 0}),
    )),
    Exercise("SIDE_BEND-LEFT", 2.0, _cycle(
        (0.0, {"r_sh_abd": 160, "r_elbow": 20}),
        (0.5, {"spine_side": -30, "r_sh_abd": 165, "r_elbow": 25, "l_sh_abd": 0,
               "root_x": 0.04}),
    )),
]
_EXERCISE_LIST.append(_mirror(_EXERCISE_LIST[-1], "SIDE_BEND-RIGHT"))
EXERCISES: dict[str, Exercise] = {e.name: e for e in _EXERCISE_LIST}


# ---------------------------------------------------------------------------------------
# Outfits, skin tones, hair.
@dataclass(frozen=True)
class Outfit:
    top: tuple[float, float, float]
    sleeves: str  # "none" (tank), "short", "long"
    bottom: tuple[float, float, float]
    legs: str  # "shorts", "capris", "long"
    shoes: tuple[float, float, float]
    socks: tuple[float, float, float]


OUTFITS: tuple[Outfit, ...] = (
    Outfit((0.80, 0.12, 0.14), "short", (0.10, 0.10, 0.12), "shorts", (0.95, 0.95, 0.95),
           (0.92, 0.92, 0.90)),
    Outfit((0.15, 0.35, 0.75), "none", (0.16, 0.16, 0.20), "long", (0.20, 0.20, 0.22),
           (0.90, 0.90, 0.92)),
    Outfit((0.95, 0.85, 0.20), "short", (0.25, 0.28, 0.45), "shorts", (0.85, 0.25, 0.15),
           (0.20, 0.20, 0.22)),
    Outfit((0.20, 0.55, 0.35), "long", (0.35, 0.35, 0.38), "long", (0.95, 0.95, 0.95),
           (0.92, 0.92, 0.90)),
    Outfit((0.60, 0.25, 0.60), "none", (0.08, 0.08, 0.10), "capris", (0.30, 0.55, 0.85),
           (0.95, 0.95, 0.95)),
)
SKIN_TONES: tuple[tuple[float, float, float], ...] = (
    (0.96, 0.80, 0.69), (0.91, 0.72, 0.57), (0.80, 0.60, 0.45), (0.67, 0.47, 0.32),
    (0.50, 0.33, 0.22), (0.36, 0.23, 0.15),
)
HAIR_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.08, 0.06, 0.05), (0.25, 0.15, 0.08), (0.45, 0.30, 0.15), (0.75, 0.60, 0.35),
    (0.55, 0.20, 0.08), (0.55, 0.55, 0.55), (0.15, 0.12, 0.10), (0.35, 0.22, 0.12),
)


# ---------------------------------------------------------------------------------------
# Rooms.
FLOOR_KINDS = ("boards", "tiles", "carpet", "rubber", "herringbone")


@dataclass(frozen=True)
class FurnitureSpec:
    """A piece of furniture: boxes in its own frame (x along the wall, y out of it, z up).

    ``wall`` is "back", "left", "right" (the item stands against that wall at ``along``
    metres from the wall's centre) or "free" (``along``, ``out`` give its centre in room
    coordinates relative to the person's spot). ``parts`` are (cx, cy, cz, sx, sy, sz, rgb):
    box centre and full size.
    """

    name: str
    wall: str
    along: float
    parts: tuple[tuple[float, float, float, float, float, float, tuple[float, float, float]],
                 ...]
    out: float = 0.0
    jitter: float = 0.3


@dataclass(frozen=True)
class Scene:
    name: str
    width: float  # x extent, metres
    depth: float  # y extent up to the back wall
    height: float  # ceiling
    floor: str  # one of FLOOR_KINDS
    floor_rgb: tuple[tuple[float, float, float], tuple[float, float, float]]  # base, accent
    wall_rgb: tuple[float, float, float]
    back_wall_rgb: tuple[float, float, float]
    wall_pattern: str  # "paint", "stripes", "blocks", "panels"
    ceiling_rgb: tuple[float, float, float]
    person_spot: tuple[float, float]  # (x, distance from the back wall)
    furniture: tuple[FurnitureSpec, ...] = field(default_factory=tuple)


def _box(w: float, d: float, h: float, rgb, z0: float = 0.0, x: float = 0.0, y: float = 0.0):
    """One part: a w x d x h box standing on z0, centred at (x, y) in the item's frame."""
    return (x, y, z0 + h / 2, w, d, h, rgb)


def _table(w, d, h, top_rgb, leg_rgb, leg=0.05):
    parts = [_box(w, d, 0.04, top_rgb, z0=h - 0.04)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append(_box(leg, leg, h - 0.04, leg_rgb, x=sx * (w / 2 - leg),
                              y=sy * (d / 2 - leg)))
    return tuple(parts)


def _bed(w, d, frame_rgb, sheet_rgb, pillow_rgb):
    return (
        _box(w, d, 0.32, frame_rgb),
        _box(w - 0.06, d - 0.08, 0.2, sheet_rgb, z0=0.32, y=0.02),
        _box(w, 0.08, 1.0, frame_rgb, y=-d / 2 + 0.04),
        _box(w * 0.38, 0.35, 0.12, pillow_rgb, z0=0.52, x=-w * 0.23, y=-d / 2 + 0.3),
        _box(w * 0.38, 0.35, 0.12, pillow_rgb, z0=0.52, x=w * 0.23, y=-d / 2 + 0.3),
    )


def _sofa(w, rgb, cushion_rgb):
    return (
        _box(w, 0.9, 0.42, rgb),
        _box(w, 0.22, 0.85, rgb, y=-0.34),
        _box(0.2, 0.9, 0.62, rgb, x=-w / 2 + 0.1),
        _box(0.2, 0.9, 0.62, rgb, x=w / 2 - 0.1),
        _box(w - 0.45, 0.6, 0.12, cushion_rgb, z0=0.42, y=0.08),
    )


def _shelf(w, d, h, rgb, book_rgbs, shelves=4):
    parts = [_box(w, 0.03, h, rgb, y=-d / 2 + 0.015), _box(0.03, d, h, rgb, x=-w / 2 + 0.015),
             _box(0.03, d, h, rgb, x=w / 2 - 0.015)]
    for i in range(shelves + 1):
        z = i * (h - 0.03) / shelves
        parts.append(_box(w, d, 0.03, rgb, z0=z))
        if i < shelves:
            c = book_rgbs[i % len(book_rgbs)]
            parts.append(_box(w * 0.7, d * 0.7, h / shelves * 0.65, c, z0=z + 0.03,
                              x=(i % 2 - 0.5) * w * 0.2))
    return tuple(parts)


def _chair(rgb, seat=0.45):
    return (*_table(0.45, 0.45, seat, rgb, rgb, leg=0.04),
            _box(0.45, 0.04, 0.45, rgb, z0=seat, y=-0.2))


_WOOD = (0.55, 0.38, 0.22)
_DARK_WOOD = (0.30, 0.20, 0.13)
_WHITE = (0.90, 0.90, 0.88)
_BLACK = (0.10, 0.10, 0.11)
_STEEL = (0.55, 0.57, 0.60)
_BOOKS = ((0.60, 0.15, 0.15), (0.15, 0.30, 0.55), (0.85, 0.70, 0.30), (0.25, 0.45, 0.30))

_SCENE_LIST: list[Scene] = [
    Scene("GYM_1", 9.0, 11.0, 3.8, "rubber", ((0.16, 0.16, 0.17), (0.35, 0.35, 0.37)),
          (0.78, 0.78, 0.76), (0.20, 0.32, 0.52), "blocks", (0.85, 0.85, 0.85), (0.0, 2.6),
          (
              FurnitureSpec("dumbbell_rack", "back", 2.3, (
                  _box(1.8, 0.5, 0.08, _BLACK, z0=0.5), _box(1.8, 0.5, 0.08, _BLACK, z0=0.9),
                  _box(0.06, 0.5, 1.0, _STEEL, x=-0.87), _box(0.06, 0.5, 1.0, _STEEL, x=0.87),
                  _box(1.6, 0.3, 0.14, (0.25, 0.25, 0.27), z0=0.58),
                  _box(1.6, 0.3, 0.12, (0.25, 0.25, 0.27), z0=0.98)), jitter=0.5),
              FurnitureSpec("squat_rack", "left", 1.5, (
                  _box(0.08, 0.08, 2.3, _STEEL, x=-0.6, y=-0.5),
                  _box(0.08, 0.08, 2.3, _STEEL, x=0.6, y=-0.5),
                  _box(0.08, 0.08, 2.3, _STEEL, x=-0.6, y=0.5),
                  _box(0.08, 0.08, 2.3, _STEEL, x=0.6, y=0.5),
                  _box(1.3, 1.1, 0.06, _STEEL, z0=2.24),
                  _box(1.8, 0.05, 0.05, (0.7, 0.7, 0.72), z0=1.4, y=-0.3),
                  _box(0.1, 0.45, 0.45, _BLACK, z0=1.2, x=-0.85, y=-0.3),
                  _box(0.1, 0.45, 0.45, _BLACK, z0=1.2, x=0.85, y=-0.3))),
              FurnitureSpec("treadmill", "right", 0.5, (
                  _box(0.8, 1.9, 0.2, _BLACK), _box(0.55, 1.6, 0.03, (0.2, 0.2, 0.2), z0=0.2),
                  _box(0.06, 0.06, 1.2, _STEEL, x=-0.35, y=-0.8),
                  _box(0.06, 0.06, 1.2, _STEEL, x=0.35, y=-0.8),
                  _box(0.8, 0.25, 0.3, (0.3, 0.3, 0.33), z0=1.15, y=-0.8))),
              FurnitureSpec("bench", "free", -0.9, (
                  _box(0.35, 1.2, 0.1, (0.55, 0.08, 0.08), z0=0.36),
                  _box(0.25, 0.1, 0.36, _BLACK, y=-0.45), _box(0.25, 0.1, 0.36, _BLACK, y=0.45)),
                  out=-1.6, jitter=0.6),
              FurnitureSpec("plyo_box", "free", 1.0, (
                  _box(0.6, 0.5, 0.6, (0.62, 0.45, 0.25)),), out=-2.3, jitter=0.6),
          )),
    Scene("BEDROOM_2", 4.6, 6.2, 2.8, "boards", ((0.72, 0.55, 0.36), (0.60, 0.44, 0.27)),
          (0.70, 0.80, 0.88), (0.55, 0.68, 0.80), "paint", (0.95, 0.95, 0.95), (0.0, 2.1),
          (
              FurnitureSpec("bed", "left", -0.6, _bed(1.5, 2.0, _WOOD, (0.95, 0.93, 0.88),
                                                       _WHITE)),
              FurnitureSpec("nightstand", "back", -1.7, (
                  _box(0.45, 0.4, 0.55, _WOOD), _box(0.2, 0.2, 0.35, (0.95, 0.85, 0.5),
                                                        z0=0.55)), jitter=0.15),
              FurnitureSpec("wardrobe", "right", 0.2, (
                  _box(1.2, 0.6, 2.0, _WHITE), _box(0.02, 0.02, 1.6, _STEEL, z0=0.25, x=-0.05,
                                                    y=0.31),
                  _box(0.02, 0.02, 1.6, _STEEL, z0=0.25, x=0.05, y=0.31))),
              FurnitureSpec("chair", "free", 0.8, _chair((0.35, 0.55, 0.65)), out=-1.6,
                            jitter=0.5),
          )),
    Scene("BEDROOM_4", 5.2, 6.8, 2.9, "carpet", ((0.78, 0.72, 0.62), (0.70, 0.64, 0.55)),
          (0.72, 0.80, 0.68), (0.60, 0.70, 0.55), "panels", (0.96, 0.96, 0.94), (0.3, 2.0),
          (
              FurnitureSpec("bed", "right", 0.9, _bed(1.6, 2.1, _DARK_WOOD, (0.55, 0.35, 0.45),
                                                       (0.92, 0.88, 0.80))),
              FurnitureSpec("desk", "back", -1.6, _table(1.2, 0.6, 0.75, _WHITE, _WHITE),
                            jitter=0.2),
              FurnitureSpec("dresser", "left", 0.8, (
                  _box(1.0, 0.5, 0.9, _DARK_WOOD),
                  _box(0.9, 0.02, 0.22, _WOOD, z0=0.08, y=0.25),
                  _box(0.9, 0.02, 0.22, _WOOD, z0=0.36, y=0.25),
                  _box(0.9, 0.02, 0.22, _WOOD, z0=0.64, y=0.25))),
              FurnitureSpec("chair", "free", -0.8, _chair(_WHITE), out=-1.8, jitter=0.5),
          )),
    Scene("BEDROOM_5", 4.3, 5.8, 2.8, "boards", ((0.38, 0.25, 0.16), (0.30, 0.19, 0.12)),
          (0.93, 0.88, 0.80), (0.85, 0.78, 0.70), "stripes", (0.97, 0.96, 0.93), (-0.2, 1.9),
          (
              FurnitureSpec("bed", "left", 0.4, _bed(1.4, 2.0, _WHITE, (0.45, 0.55, 0.70),
                                                      _WHITE)),
              FurnitureSpec("bookshelf", "back", 1.3, _shelf(1.0, 0.35, 1.9, _WHITE, _BOOKS),
                            jitter=0.2),
              FurnitureSpec("armchair", "free", 1.1, _sofa(0.9, (0.70, 0.35, 0.25),
                                                           (0.80, 0.45, 0.32)),
                            out=-2.0, jitter=0.5),
          )),
    Scene("BEDROOM_6", 5.6, 7.2, 3.0, "carpet", ((0.55, 0.55, 0.58), (0.48, 0.48, 0.52)),
          (0.76, 0.72, 0.85), (0.62, 0.55, 0.75), "paint", (0.95, 0.95, 0.97), (0.0, 2.3),
          (
              FurnitureSpec("bed", "back", 1.6, _bed(1.8, 2.1, (0.85, 0.85, 0.85),
                                                      (0.30, 0.30, 0.38), _WHITE), jitter=0.2),
              FurnitureSpec("dresser", "right", 0.0, (
                  _box(1.4, 0.5, 0.8, _WOOD), _box(0.5, 0.3, 0.8, (0.2, 0.2, 0.22), z0=0.8))),
              FurnitureSpec("ottoman", "free", -0.6, (_box(0.7, 0.5, 0.42, (0.85, 0.70, 0.30)),),
                            out=-1.5, jitter=0.5),
              FurnitureSpec("plant", "left", 1.8, (
                  _box(0.35, 0.35, 0.4, (0.75, 0.40, 0.25)),
                  _box(0.55, 0.55, 0.9, (0.20, 0.50, 0.22), z0=0.4)), jitter=0.4),
          )),
    Scene("LIVINGROOM_1", 6.2, 8.0, 2.9, "herringbone", ((0.66, 0.48, 0.30), (0.55, 0.38, 0.22)),
          (0.93, 0.90, 0.82), (0.88, 0.83, 0.72), "panels", (0.97, 0.97, 0.95), (0.0, 2.5),
          (
              FurnitureSpec("sofa", "left", 0.0, _sofa(2.2, (0.30, 0.38, 0.45),
                                                        (0.38, 0.46, 0.55))),
              FurnitureSpec("tv_stand", "right", 0.2, (
                  _box(1.6, 0.45, 0.5, _DARK_WOOD), _box(1.3, 0.08, 0.75, _BLACK, z0=0.55))),
              FurnitureSpec("bookshelf", "back", -2.0, _shelf(1.1, 0.35, 2.0, _WOOD, _BOOKS),
                            jitter=0.3),
              FurnitureSpec("coffee_table", "free", -0.2, _table(1.1, 0.6, 0.42, _WOOD, _WOOD),
                            out=-1.7, jitter=0.5),
          )),
    Scene("LIVINGROOM_2", 7.0, 7.6, 3.1, "tiles", ((0.88, 0.86, 0.82), (0.62, 0.60, 0.58)),
          (0.95, 0.93, 0.88), (0.80, 0.45, 0.32), "paint", (0.98, 0.98, 0.98), (-0.4, 2.6),
          (
              FurnitureSpec("sectional_sofa", "back", 1.2, _sofa(2.8, (0.55, 0.55, 0.52),
                                                                  (0.62, 0.62, 0.60)),
                            jitter=0.2),
              FurnitureSpec("armchair", "right", -0.6, _sofa(0.95, (0.20, 0.35, 0.30),
                                                              (0.25, 0.42, 0.36))),
              FurnitureSpec("side_table", "free", 0.8, _table(0.5, 0.5, 0.55, _BLACK, _BLACK),
                            out=-1.4, jitter=0.5),
              FurnitureSpec("plant", "left", -1.0, (
                  _box(0.4, 0.4, 0.45, _WHITE), _box(0.7, 0.7, 1.2, (0.18, 0.45, 0.20),
                                                     z0=0.45)), jitter=0.5),
          )),
    Scene("OFFICE_1", 5.0, 6.0, 2.8, "tiles", ((0.45, 0.47, 0.50), (0.38, 0.40, 0.43)),
          (0.92, 0.92, 0.92), (0.82, 0.84, 0.86), "paint", (0.97, 0.97, 0.97), (0.2, 1.9),
          (
              FurnitureSpec("desk", "left", 0.3, (*_table(1.6, 0.75, 0.74, _WHITE, _STEEL),
                                                  _box(0.55, 0.05, 0.38, _BLACK, z0=0.78,
                                                       y=-0.2))),
              FurnitureSpec("office_chair", "free", -0.9, _chair(_BLACK, seat=0.5), out=-1.2,
                            jitter=0.3),
              FurnitureSpec("filing_cabinet", "back", 1.5, (
                  _box(0.5, 0.6, 1.3, _STEEL), _box(0.3, 0.02, 0.03, _BLACK, z0=1.0, y=0.3),
                  _box(0.3, 0.02, 0.03, _BLACK, z0=0.6, y=0.3)), jitter=0.3),
              FurnitureSpec("shelves", "right", 0.5, _shelf(1.4, 0.4, 1.8, _STEEL, _BOOKS,
                                                            shelves=3)),
          )),
]
SCENES: dict[str, Scene] = {s.name: s for s in _SCENE_LIST}
