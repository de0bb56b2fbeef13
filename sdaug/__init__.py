"""sdaug: a labelled detection dataset, grown with Stable Diffusion weather and lighting variants."""

__version__ = "0.1.0"
