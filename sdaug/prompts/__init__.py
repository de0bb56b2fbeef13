"""The A1111 prompt language and infotext, pure Python (no torch)."""
