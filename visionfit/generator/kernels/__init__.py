"""The renderer's per-pixel inner loops, compiled with Numba and cached on disk.

Each frame casts ~35 capsules and ellipsoids into their screen rectangles, shades the hits
and darkens the floor under the person's shadow. In NumPy that was thousands of small array
calls per frame; here each is one loop over the pixels it concerns (a primitive's rectangle,
the body's hits, the shadow's floor pixels). :mod:`.body` holds the body's casts, shading and
drawing, :mod:`.floor` the shadows on the floor (the person's and the furniture's), :mod:`.room`
the room's cast and shading, :mod:`.cache` where the compiled code is kept (so a fresh worker
process loads it instead of compiling) and the one decorator that compiles them.
"""

from .body import cast_primitives, channel_sums, draw_body, shade_hits
from .cache import CACHE_DIR
from .floor import (
    bilinear,
    darken_floor,
    floor_points,
    floor_rect_pixels,
    floor_window,
    furniture_fields,
    shadow_casters,
    shadow_grid,
)
from .room import cast_room, shade_room

__all__ = ["CACHE_DIR", "bilinear", "cast_primitives", "cast_room", "channel_sums", "darken_floor",
           "draw_body", "floor_points", "floor_rect_pixels", "floor_window", "furniture_fields",
           "shade_hits", "shade_room", "shadow_casters", "shadow_grid"]
