"""The generator's name and version: stamped into every job's labels and its plug-in."""

__all__ = ["NAME", "VERSION"]

NAME = "visionfit-flagship-v0.1.0"
VERSION = "0.1.0"
