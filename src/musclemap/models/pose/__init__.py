"""The predict command's pose model: `keypose_mlp` on key-pose features (pose/keypose.py)."""
