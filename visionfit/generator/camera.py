"""A pinhole camera in the OpenCV convention: x right, y down, z forward.

``K`` maps camera coordinates to pixels with pixel centres at integer coordinates (the
image's top-left pixel is centred at (0, 0)); ``RT`` maps world to camera coordinates and
``P = K @ RT``. Depth is the camera z coordinate in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["HFOV_DEG", "NEAR", "Camera", "aimed_camera"]

HFOV_DEG = 65.0  # field of view across the longer image side
NEAR = 0.05  # nothing closer than this (metres) is drawn


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal: float  # pixels
    position: np.ndarray  # world (3,)
    rotation: np.ndarray  # world -> camera (3,3); rows are the camera axes in world
    yaw_deg: float  # heading of the optical axis, clockwise from +y seen from above
    pitch_deg: float  # elevation of the optical axis, positive up

    @property
    def cx(self) -> float:
        return (self.width - 1) / 2.0

    @property
    def cy(self) -> float:
        return (self.height - 1) / 2.0

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.focal, 0.0, self.cx], [0.0, self.focal, self.cy],
                         [0.0, 0.0, 1.0]])

    @property
    def translation(self) -> np.ndarray:
        return -self.rotation @ self.position

    @property
    def RT(self) -> np.ndarray:
        return np.hstack([self.rotation, self.translation[:, None]])

    @property
    def P(self) -> np.ndarray:
        return self.K @ self.RT

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) in camera coordinates."""
        return (np.asarray(points) - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> (..., 3) of pixel x, pixel y and depth z."""
        c = self.to_camera(points)
        z = c[..., 2]
        safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
        return np.stack([self.focal * c[..., 0] / safe + self.cx,
                         self.focal * c[..., 1] / safe + self.cy, z], axis=-1)

    def scaled(self, factor: float) -> Camera:
        """The same view at a different resolution (for cheap low-resolution estimates)."""
        w = max(8, int(round(self.width * factor)))
        h = max(8, int(round(self.height * factor)))
        return Camera(w, h, self.focal * w / self.width, self.position, self.rotation,
                      self.yaw_deg, self.pitch_deg)

    def ray_steps(self, x0: int, x1: int, y0: int, y1: int, stride: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Camera-space ray slopes for pixel columns x0..x1-1 and rows y0..y1-1.

        The ray through pixel (row v, column u) is (dx[u], dy[v], 1): its parameter is the
        depth z directly.
        """
        cols = np.arange(x0, x1, stride, dtype=np.float64)
        rows = np.arange(y0, y1, stride, dtype=np.float64)
        return (cols - self.cx) / self.focal, (rows - self.cy) / self.focal


def _axes(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """World -> camera rotation for a heading and elevation (no roll)."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    forward = np.array([math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch),
                        math.sin(pitch)])
    right = np.array([math.cos(yaw), -math.sin(yaw), 0.0])
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def aimed_camera(width: int, height: int, person_xy: np.ndarray, target_height: float,
                 distance: float, camera_height: float, rel_yaw_deg: float,
                 rel_pitch_deg: float) -> Camera:
    """Camera ``distance`` m in front of the person (towards -y), aimed at the person.

    The relative yaw and pitch then turn the camera away from the person (yaw positive to
    the camera's right, pitch positive up), which moves the person off centre.
    """
    position = np.array([person_xy[0], person_xy[1] - distance, camera_height])
    to_target = np.array([person_xy[0], person_xy[1], target_height]) - position
    yaw = math.degrees(math.atan2(to_target[0], to_target[1]))
    pitch = math.degrees(math.atan2(to_target[2], math.hypot(to_target[0], to_target[1])))
    yaw += rel_yaw_deg
    pitch = float(np.clip(pitch + rel_pitch_deg, -89.0, 89.0))
    focal = 0.5 * max(width, height) / math.tan(math.radians(HFOV_DEG) / 2)
    return Camera(width, height, focal, position, _axes(yaw, pitch), yaw, pitch)
