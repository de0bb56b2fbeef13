"""Dataset store (SQLite project), import/export formats and statistics. No torch, no gradio.

- ``store``: :class:`~sdaug.dataset.store.Project` (images, classes, boxes, review, jobs); its
  module docstring is the API reference. Its parts: ``records`` (dataclasses and checks),
  ``schema`` (SQLite migrations), ``image_files`` (reading and storing image files),
  ``job_store`` (jobs and variants).
- ``importers``: ``import_path(project, path, fmt)`` for images, YOLO, COCO, VOC and zips.
- ``exporters``: ``export_project(project, fmt, out, ...)`` for YOLO, COCO and VOC.
- ``stats``: ``project_stats(project)`` for the Dataset tab and ``sdaug stats``.
- ``yolo``, ``coco``, ``voc``: one format each (read and write); ``common``: what they share;
  ``archive``: safe zip extraction.
"""
