"""The store is split by concern (records, schema, image files, jobs), but ``sdaug.dataset.store``
stays the one place to import the project API from."""

from __future__ import annotations

import pytest

from sdaug.dataset import image_files, job_store, records, schema, store


@pytest.mark.parametrize("name", store.__all__)
def test_every_public_name_is_importable_from_the_store(name: str) -> None:
    assert getattr(store, name) is not None


def test_the_store_re_exports_the_same_objects() -> None:
    assert store.Box is records.Box and store.ImageFilter is records.ImageFilter
    assert store.prepare_image is image_files.prepare_image and store.SCHEMA_VERSION == schema.SCHEMA_VERSION
    assert issubclass(store.Project, job_store.JobStore)
    assert callable(store.Project.add_variant) and callable(store.Project.create_job)
