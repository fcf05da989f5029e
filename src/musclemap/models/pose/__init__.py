"""Compact pose models for the predict command: window features (MLP) and joint sequences (TCN)."""
