"""VisionFit's sampling declarations: how each parameter is drawn, and its categories.

Keys are parameter names of :data:`~.params.SCHEMA`, or tuples of names for joint entries.
Parameters left out (scene, exercise, gender, avatar_identity, outfit, wall_art_type,
frame_rate) are drawn from their schema: uniform over the choices or range. The schema is the
law: a server offering a narrower schema clips these draws (see
:mod:`infinity_workflows.sampling`).
"""

from __future__ import annotations

from infinity_workflows.sampling import (
    Categories,
    Choice,
    ClippedNormal,
    Coin,
    Constant,
    Distributions,
    LogUniform,
    Tied,
    Uniform,
    movement_categories,
)

from .params import SCHEMA

__all__ = ["CATEGORIES", "DISTRIBUTIONS"]

DISTRIBUTIONS: Distributions = {
    # Motion: a few reps at about normal speed, small variation.
    "num_reps": Uniform(1, 10),
    "rel_baseline_speed": ClippedNormal(1.0, 0.25, lo=0.5, hi=2.0),
    "max_rel_speed_change": Uniform(0.0, 0.3),
    "kinematic_noise_factor": ClippedNormal(1.0, 0.3),
    "inter_rep_delay_avg": Uniform(0.0, 1.0),
    "inter_rep_delay_var": Uniform(0.0, 0.5),
    "add_pauses": Coin(0.2),
    # Camera: far enough to see the whole body, roughly level, roughly centred.
    "camera_distance": Uniform(2.5, 5.0),
    "camera_height": Uniform(0.4, 2.0),
    "relative_camera_yaw_deg": Uniform(-20.0, 20.0),
    "relative_camera_pitch_deg": Uniform(-15.0, 15.0),
    # Person: mostly facing the camera, body shape as in a population (in sd units).
    "relative_avatar_angle_deg": ClippedNormal(0.0, 60.0),
    "relative_height": ClippedNormal(0.0, 1.0),
    "relative_weight": ClippedNormal(0.0, 1.0),
    "randomize_skin_tone": Coin(0.5),
    "hide_shoes": Coin(0.1),
    "add_socks": Coin(0.2),
    # Room and image.
    "add_wall_art": Coin(0.5),
    "allowable_occlusion": Uniform(25.0, 100.0),
    "lighting_power": LogUniform(10.0, 1000.0),
    "enable_sensor_noise": Coin(0.3),
    "enable_depth_maps": Constant(False),  # an output switch, not a variation of the data
    ("image_width", "image_height"): Tied(Choice((256, 512))),
    "state": Constant(None),  # a fresh seed; reruns set it (infinity_workflows.seed_reruns)
}

# Exercises by movement, as Infinity's toolkit grouped them: exercise="UPPERCUT" picks
# UPPERCUT-LEFT or -RIGHT, "SQUAT" one of its variants, "BURPEE" one of BURPEE_01..03.
CATEGORIES: Categories = {"exercise": movement_categories(SCHEMA["exercise"].choices)}
