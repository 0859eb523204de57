"""The test suite. Its shared helpers (`tests.helpers`) get pytest's assert rewriting, as
test modules and conftest files do: a failed assert in a helper shows the values."""

import pytest

pytest.register_assert_rewrite("tests.helpers")
