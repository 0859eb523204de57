import pytest
import time_machine

from tests.helpers import reports as data


@pytest.fixture
def report_clock():
    """The clock at the data set's "now" (2 April 2026 12:00 UTC), standing still."""
    with time_machine.travel(data.NOW, tick=False) as traveller:
        yield traveller
