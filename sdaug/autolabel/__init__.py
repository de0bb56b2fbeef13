"""Auto-label: a detector proposes boxes, people confirm them.

- :mod:`.jobs`: resumable proposal jobs over a project's images (``sdaug autolabel``).

The detector itself is :mod:`sdaug.engine.detect`; proposals live in the project
(:mod:`sdaug.dataset.proposals`) and never reach an export before a person accepts them.
"""
