"""Annotate tab (placeholder until the annotator lands)."""

from __future__ import annotations

from typing import Any


def build(ctx: Any) -> None:
    """Build the tab's components inside the current ``gr.Tab``."""
    import gradio as gr

    gr.Markdown("Annotator: coming soon.")
