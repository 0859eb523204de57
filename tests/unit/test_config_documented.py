"""Every setting read from the environment is in the README's configuration table:
an operator finds what they can set without reading the code."""

from tests.helpers.settings import documented_settings, environment_settings


def test_every_environment_setting_is_in_the_readme():
    read = environment_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "WIDGET_SESSION_MAX_AGE_DAYS"} <= read
    assert sorted(read - documented_settings()) == []


def test_the_readme_lists_no_setting_that_is_not_read():
    assert sorted(documented_settings() - environment_settings()) == []
