"""Every refusal a unit test provokes is also checked in Chinese (``chinese_refusals`` in
``tests/conftest.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _refusals_in_chinese(chinese_refusals: list[BaseException]) -> None:
    """See ``chinese_refusals``."""
