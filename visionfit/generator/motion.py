"""Timing and animation: which pose the person holds at each frame.

The job's length depends only on its parameters, never on the seed, so :func:`frame_count`
(used by ``estimate()``) is exact without rendering. Randomness (per-rep speed changes,
inter-rep delays, pause positions, joint jitter) redistributes time inside that fixed
length: per-rep speed deviations and delay deviations are drawn, centred to sum to zero and
kept within their bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .body import BodyModel, Primitives, rot_z
from .catalog import DOFS, NON_ANGLE_DOFS, Exercise, neutral_pose

__all__ = [
    "PAUSE_SECONDS",
    "Animation",
    "Timeline",
    "animate",
    "frame_count",
    "job_seconds",
    "make_timeline",
]

PAUSE_SECONDS = 0.6  # one held pause per rep when add_pauses
_NOISE_DEG = 2.5  # joint jitter amplitude (degrees) at kinematic_noise_factor 1
_DOF = {name: i for i, name in enumerate(DOFS)}


def _rep_seconds(exercise: Exercise, params: dict[str, Any]) -> float:
    return exercise.seconds / float(params["rel_baseline_speed"])


def job_seconds(exercise: Exercise, params: dict[str, Any]) -> float:
    """Nominal length of a video job: reps, delays between them and pauses."""
    n = int(params["num_reps"])
    total = n * _rep_seconds(exercise, params) + (n - 1) * float(params["inter_rep_delay_avg"])
    if params["add_pauses"]:
        total += n * PAUSE_SECONDS
    return total


def frame_count(exercise: Exercise, params: dict[str, Any], is_preview: bool) -> int:
    """Frames rendered: one per 1/frame_rate from t=0 up to and including the end."""
    if is_preview:
        return 1
    return int(math.floor(job_seconds(exercise, params) * int(params["frame_rate"]) + 1e-6)) + 1


def _centred(rng: np.random.Generator, n: int) -> np.ndarray:
    """n deviations in [-1, 1] that sum to zero (zeros when n < 2)."""
    if n < 2:
        rng.random(max(n, 1))  # keep the stream's position independent of n
        return np.zeros(n)
    u = rng.uniform(-1.0, 1.0, n)
    u -= u.mean()
    peak = np.abs(u).max()
    return u / peak if peak > 1.0 else u


@dataclass
class Timeline:
    """Per frame: time, rep index, phase within the rep (0..1) and reps done so far."""

    times: np.ndarray
    rep: np.ndarray
    phase: np.ndarray
    rep_count: np.ndarray


def make_timeline(exercise: Exercise, params: dict[str, Any], is_preview: bool,
                  rng: np.random.Generator) -> Timeline:
    n = int(params["num_reps"])
    fps = int(params["frame_rate"])
    nominal = _rep_seconds(exercise, params)
    # Per-rep duration within +-max_rel_speed_change/2 of nominal; the sum stays fixed.
    durations = nominal * (1.0 + 0.5 * float(params["max_rel_speed_change"])
                           * _centred(rng, n))
    avg, sd = float(params["inter_rep_delay_avg"]), math.sqrt(float(params["inter_rep_delay_var"]))
    z = _centred(rng, n - 1)
    if n > 1 and sd > 0 and (z < 0).any():
        sd = min(sd, avg / -z.min()) if avg > 0 else 0.0  # delays never negative
    delays = avg + sd * z if n > 1 else np.zeros(0)
    pause_at = rng.uniform(0.15, 0.85, n)
    pause = PAUSE_SECONDS if params["add_pauses"] else 0.0

    # Segments: (start time, length, rep, phase at start, phase at end).
    starts, lengths, reps, ph0, ph1 = [], [], [], [], []
    t = 0.0
    for i in range(n):
        pieces = [(durations[i] * pause_at[i], 0.0, pause_at[i]), (pause, pause_at[i],
                                                                   pause_at[i]),
                  (durations[i] * (1 - pause_at[i]), pause_at[i], 1.0)]
        if i < n - 1:
            pieces.append((delays[i], 1.0, 1.0))
        for length, a, b in pieces:
            starts.append(t)
            lengths.append(length)
            reps.append(i)
            ph0.append(a)
            ph1.append(b)
            t += length
    starts_a, lengths_a = np.array(starts), np.array(lengths)
    count = frame_count(exercise, params, is_preview)
    times = np.arange(count) / fps
    seg = np.clip(np.searchsorted(starts_a, times, side="right") - 1, 0, len(starts) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(lengths_a[seg] > 0, (times - starts_a[seg]) / lengths_a[seg], 1.0)
    frac = np.clip(frac, 0.0, 1.0)
    phase = np.array(ph0)[seg] + (np.array(ph1)[seg] - np.array(ph0)[seg]) * frac
    rep = np.array(reps)[seg]
    return Timeline(times, rep, phase, rep + phase)


# ---------------------------------------------------------------------------------------
def _keyframe_arrays(exercise: Exercise) -> tuple[np.ndarray, np.ndarray]:
    base = neutral_pose()
    phases = np.array([p for p, _ in exercise.keyframes])
    poses = np.array([[{**base, **d}[k] for k in DOFS] for _, d in exercise.keyframes])
    return phases, poses


def exercise_poses(exercise: Exercise, phase: np.ndarray) -> np.ndarray:
    """DOFs (N, D) at each phase, eased between keyframes."""
    phases, poses = _keyframe_arrays(exercise)
    k = np.clip(np.searchsorted(phases, phase, side="right") - 1, 0, len(phases) - 2)
    s = (phase - phases[k]) / (phases[k + 1] - phases[k])
    s = np.clip(s, 0.0, 1.0)
    s = s * s * (3.0 - 2.0 * s)
    return poses[k] + (poses[k + 1] - poses[k]) * s[:, None]


def kinematic_noise(times: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth joint jitter (N, D): three random sinusoids per angle DOF."""
    freqs = rng.uniform(0.2, 1.3, (3, len(DOFS)))
    phases = rng.uniform(0.0, 2 * np.pi, (3, len(DOFS)))
    amps = rng.uniform(0.5, 1.0, (3, len(DOFS))) * (_NOISE_DEG / math.sqrt(3.0)) * factor
    angle = np.array([d not in NON_ANGLE_DOFS for d in DOFS], dtype=np.float64)
    waves = np.sin(2 * np.pi * freqs[None] * times[:, None, None] + phases[None])
    return (amps[None] * waves).sum(axis=1) * angle


@dataclass
class Animation:
    """Joints (N,J,3), joint frames (N,J,3,3) and surface primitives, in world coordinates."""

    joints: np.ndarray
    frames: np.ndarray
    prims: Primitives
    target_height: float  # mean joint height over a rep: where the camera aims


class _Placer:
    """Keeps the feet (or, in a plank, the hands) planted and the body on the floor."""

    def __init__(self, body: BodyModel, exercise: Exercise) -> None:
        from .body import JOINT_NAMES

        j = {n: i for i, n in enumerate(JOINT_NAMES)}
        self.body = body
        self.feet = [j["left_ankle"], j["right_ankle"]]
        self.hands = [j["left_hand"], j["right_hand"]]
        # Where the hands rest when they carry the body: measured, with the feet planted,
        # on the keyframe before the first hands-anchored one (or on that one).
        phases, poses = _keyframe_arrays(exercise)
        anchored = np.nonzero(poses[:, _DOF["hands_anchor"]] > 0.5)[0]
        self.hands_home = np.zeros(2)
        if len(anchored):
            k = anchored[0] - 1 if anchored[0] > 0 else anchored[0]
            pos, _ = body.skeleton(poses[k:k + 1])
            self.hands_home = (pos[0, self.hands, :2].mean(axis=0)
                               - pos[0, self.feet, :2].mean(axis=0))
        self.centre = np.zeros(2)
        ref = exercise_poses(exercise, np.linspace(0.0, 1.0, 33))
        pos, _, _ = self.place(ref)
        self.centre = pos[..., :2].mean(axis=(0, 1))
        self.mean_height = float(pos[..., 2].mean())

    def place(self, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, Primitives]:
        pos, rot = self.body.skeleton(pose)
        w = pose[:, _DOF["hands_anchor"]][:, None]
        feet = pos[:, self.feet, :2].mean(axis=1)
        hands = pos[:, self.hands, :2].mean(axis=1)
        shift = np.zeros((len(pose), 3))
        shift[:, :2] = (1 - w) * (-feet) + w * (self.hands_home - hands) - self.centre
        shift[:, 0] += pose[:, _DOF["root_x"]]
        shift[:, 1] += pose[:, _DOF["root_y"]]
        prims = self.body.surface(pos, rot)
        shift[:, 2] = -prims.lowest_z() + pose[:, _DOF["lift"]]
        pos = pos + shift[:, None, :]
        eye = np.broadcast_to(np.eye(3), (len(pose), 3, 3))
        return pos, rot, prims.transformed(eye, shift)


def animate(body: BodyModel, exercise: Exercise, timeline: Timeline, noise_factor: float,
            rng: np.random.Generator, location: np.ndarray, yaw_deg: float) -> Animation:
    """Pose every frame and place the person at ``location`` facing ``yaw_deg``.

    yaw is the world heading of the person's forward axis, counter-clockwise from +y.
    """
    placer = _Placer(body, exercise)
    noise = kinematic_noise(timeline.times, noise_factor, rng)
    pose = exercise_poses(exercise, timeline.phase) + noise
    pos, rot, prims = placer.place(pose)
    r = rot_z(np.radians(yaw_deg))
    loc = np.asarray(location, dtype=np.float64)
    pos = pos @ r.T + loc
    rot = np.einsum("ij,nmjk->nmik", r, rot)
    return Animation(pos, rot, prims.transformed(r, loc), placer.mean_height)
