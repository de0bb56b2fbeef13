"""Augmentation: weather and lighting variants of a project's labelled images.

- :mod:`.presets`: the TOML presets (``sdaug/presets/weather``, ``sdaug/presets/lighting`` and the user's
  ``<data folder>/presets``); ``load_presets``, ``get_preset``, ``Preset.to_request``.
- :mod:`.classic`: CPU effects (rain, snow, fog, haze, sandstorm, tone curves, lamp glows);
  ``apply_classic(image, preset, seed)``.
- :mod:`.drift`: does a carried box still show its object? ``check_variant(...) -> DriftReport``.
- :mod:`.jobs`: resumable jobs (sources × presets × variants) run by a background
  ``JobRunner``; ``create_job``, ``runner_for``, ``job_report``.
- :mod:`.making`: source images -> checked, encoded variants (``make_variants``), shared by the
  in-process runner and :mod:`.ray_backend` (jobs on a Ray cluster).
- :mod:`.attach`: variants made in the Weather / Lighting tabs added to a project.
- :mod:`.reapply`: a source's boxes carried to its variants again.
- :mod:`.preview`: the chosen presets on a few samples as a grid, with a time estimate.
"""
