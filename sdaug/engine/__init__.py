"""The generation engine: the only package that imports torch and diffusers."""
