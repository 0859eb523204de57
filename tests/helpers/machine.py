"""What the tests need from this machine beyond Python: tools and servers."""

import os
from typing import NoReturn

import pytest


def unavailable(message: str) -> NoReturn:
    """Skip a test whose tool or server is missing, except under CI, where it fails:
    `make test` installs and starts everything, so a missing part there is a defect."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
