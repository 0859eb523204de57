"""Emailing a staff member's password reset link.

The "Forgot password?" page only queues this job (`services.team.request_password_reset`):
looking the member up and making the link happen here, so the page takes the same
time whether or not the address is a member's. RQ retries it a few times, soon: the
member is waiting for the email.
"""

from followup.services import team


def email_password_reset(address: str) -> None:
    team.email_password_reset(address)
