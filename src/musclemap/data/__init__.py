"""Datasets, manifests, video and pose files."""

# File name endings taken for videos in a folder (`predict DIR`, `data import DIR`); the file is
# then sniffed by its content (PyAV), so a wrong ending fails with its own message.
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".gif")
