"""Dataset tab (placeholder until the dataset statistics land)."""

from __future__ import annotations

from typing import Any


def build(ctx: Any) -> None:
    """Build the tab's components inside the current ``gr.Tab``."""
    import gradio as gr

    gr.Markdown("Dataset statistics: coming soon.")
