"""Reports jobs: keep the daily rollups the reports page reads (`services.report_rollups`)."""

from followup.services import report_rollups


def refresh_reports() -> int:
    """Cron job: count again every tenant's days still changing and those marked."""
    return report_rollups.refresh_once_per_interval()
