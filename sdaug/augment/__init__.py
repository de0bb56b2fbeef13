"""Augmentation: presets, classic (no-model) effects, jobs, drift check."""
