"""Dataset store (SQLite project), import/export formats and statistics. No torch, no gradio."""
