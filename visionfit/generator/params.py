"""The VisionFit parameter schema: one table, the single source for every use.

Names, types, defaults and ranges follow the hosted VisionFit API, so clients written for
it work unchanged. The choices of ``scene`` and ``exercise`` come from the catalogue.
"""

from __future__ import annotations

from infinity_workflows.schema import Param, Schema

from .catalog import EXERCISES, SCENES

__all__ = ["SCHEMA"]

SCHEMA = Schema([
    Param("scene", "str", "BEDROOM_2",
          "Room the person exercises in; each differs in size, wall and floor colours and "
          "textures, and furniture.", choices=tuple(SCENES)),
    Param("exercise", "str", "UPPERCUT-LEFT",
          "Exercise performed, named MOVEMENT[-VARIANT][-EQUIPMENT][-LEFT/-RIGHT]; numbered "
          "movements (BURPEE_01..03, TOE_TOUCH_01..02) are variants of one category.",
          choices=tuple(EXERCISES)),
    Param("gender", "str", "MALE", "Presenting gender of the person (body proportions, "
          "hair).", choices=("MALE", "FEMALE")),
    Param("num_reps", "int", 1, "Repetitions of the exercise in the video.", min=1, max=20),
    Param("rel_baseline_speed", "float", 1.0,
          "Speed of the movement relative to a typical pace (2.0 is twice as fast).",
          min=0.33, max=3.0),
    Param("max_rel_speed_change", "float", 0.0,
          "How much each rep's speed may differ from the baseline, as a fraction; the "
          "video's total length stays fixed.", min=0.0, max=1.0),
    Param("kinematic_noise_factor", "float", 1.0,
          "Scale of small smooth random joint jitter (0 is perfectly clean motion).",
          min=0.0, max=2.0),
    Param("inter_rep_delay_avg", "float", 0.0,
          "Average pause between reps, in seconds.", min=0.0, max=5.0),
    Param("inter_rep_delay_var", "float", 0.0,
          "Variance of the pause between reps (seconds squared); delays never go below 0.",
          min=0.0, max=5.0),
    Param("add_pauses", "bool", False,
          "Hold the pose for a moment at a random point of every rep."),
    Param("camera_distance", "float", 3.0,
          "Horizontal distance from the camera to the person, in metres.", min=1.0, max=5.25),
    Param("camera_height", "float", 0.75, "Height of the camera above the floor, in metres.",
          min=0.1, max=2.75),
    Param("relative_camera_yaw_deg", "float", 0.0,
          "Turn of the camera away from the person, degrees (positive to the camera's right, "
          "so the person moves left in the image).", min=-45.0, max=45.0),
    Param("relative_camera_pitch_deg", "float", 0.0,
          "Tilt of the camera away from the person, degrees (positive up).",
          min=-45.0, max=45.0),
    Param("relative_avatar_angle_deg", "float", 0.0,
          "Direction the person faces, degrees; 0 faces the camera, 90 shows the person's "
          "right side.", min=-180.0, max=180.0),
    Param("avatar_identity", "int", 0,
          "Which of 25 people: body proportions, hair style and colour, default skin tone.",
          min=0, max=24),
    Param("relative_height", "float", 0.0,
          "Height in standard deviations from the average for the gender.", min=-4.0, max=4.0),
    Param("relative_weight", "float", 0.0,
          "Build in standard deviations from the average (thicker limbs and trunk).",
          min=-4.0, max=4.0),
    Param("randomize_skin_tone", "bool", False,
          "Draw the skin tone at random instead of using the identity's own."),
    Param("outfit", "int", 0, "Clothing: one of five outfits, or -1 for a random one.",
          min=-1, max=4),
    Param("hide_shoes", "bool", False, "Barefoot (or in socks with add_socks)."),
    Param("add_socks", "bool", False, "Visible socks above the shoes, or instead of them."),
    Param("add_wall_art", "bool", False, "Hang one to three framed pictures on the walls "
          "(labelled as wall_art)."),
    Param("wall_art_type", "str", "non_human",
          "What the pictures show: landscapes and abstracts, or drawings of people.",
          choices=("non_human", "misc_human")),
    Param("allowable_occlusion", "float", 100.0,
          "Largest mean percent_occlusion of the person by furniture over the video; "
          "furniture that would hide more is left out.", min=0.0, max=100.0),
    Param("lighting_power", "float", 100.0,
          "Brightness of the room's lamp (0 is dark, 100 normal, higher overexposes).",
          min=0.0, max=2000.0),
    Param("enable_sensor_noise", "bool", False, "Add camera sensor noise to the frames."),
    Param("enable_depth_maps", "bool", False,
          "Also write a depth map per frame (depth.zip: 16-bit PNGs, millimetres from the "
          "camera plane); off by default, as it adds to each job's size and time."),
    Param("frame_rate", "int", 24, "Frames per second of the video.",
          choices=(30, 24, 12, 8, 6)),
    Param("image_width", "int", 256, "Frame width in pixels.", min=128, max=512),
    Param("image_height", "int", 256, "Frame height in pixels.", min=128, max=512),
    Param("state", "uuid", None,
          "An earlier job of yours whose random seed this job reuses, so a rerun with a few "
          "parameters changed keeps timing, identity details and furniture."),
])
