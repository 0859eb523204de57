"""Two-factor sign-in (services/two_factor.py and the login's second step): the right
code, a wrong one, a code used twice, recovery codes (each once), the owner's rule."""

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine

from followup import sealing
from followup.clock import utcnow
from followup.errors import ValidationFailed
from followup.extensions import db, mail
from followup.models import StaffUser, Tenant
from followup.services import staff_accounts, team, two_factor
from tests.helpers.staff import PASSWORD, StaffBrowser, as_a_new_request

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_now(secret: str = SECRET, later_s: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=later_s))


def reloaded(member: StaffUser) -> StaffUser:
    db.session.expire_all()
    return db.session.get(StaffUser, member.id)


@pytest.fixture
def with_2fa(staff) -> list[str]:
    """The owner turned two-factor sign-in on; their recovery codes."""
    return two_factor.enable(staff, SECRET, code_now())


def test_enabling_needs_a_right_code_and_gives_ten_recovery_codes(staff):
    with pytest.raises(ValidationFailed) as refused:
        two_factor.enable(staff, SECRET, "000000" if code_now() != "000000" else "111111")
    assert "That code is not right" in refused.value.fields["code"]
    assert not reloaded(staff).has_two_factor
    codes = two_factor.enable(staff, SECRET, code_now())
    assert len(codes) == len(set(codes)) == 10
    assert reloaded(staff).has_two_factor
    assert two_factor.recovery_codes_left(staff) == 10


def test_the_right_code_signs_in_once_and_a_wrong_one_never(staff, with_2fa):
    with time_machine.travel(utcnow() + timedelta(seconds=30)):
        right = code_now()
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        assert not two_factor.verify(reloaded(staff), wrong)
        assert two_factor.verify(reloaded(staff), right)
        assert not two_factor.verify(reloaded(staff), right)  # the same code again


def test_the_secret_is_kept_sealed_and_opens_with_this_secret_key_only(app, staff, with_2fa):
    stored = reloaded(staff).totp_secret
    assert SECRET not in stored
    assert sealing.unseal(stored, sealing.TOTP_SECRET) == SECRET
    app.config["SECRET_KEY"] = "another secret key"
    with time_machine.travel(utcnow() + timedelta(seconds=30)):
        assert not two_factor.verify(reloaded(staff), code_now())  # the app's code: unusable
    assert two_factor.verify(reloaded(staff), with_2fa[0])  # a recovery code still signs in


def test_a_secret_kept_in_clear_before_sealing_works_and_is_sealed_then(app, staff):
    staff.totp_secret = SECRET  # as stored before secrets were sealed (migration 0023)
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(seconds=30)):
        assert two_factor.verify(reloaded(staff), code_now())
    stored = reloaded(staff).totp_secret
    assert stored != SECRET
    assert sealing.unseal(stored, sealing.TOTP_SECRET) == SECRET


def test_a_recovery_code_works_once(staff, with_2fa):
    code = with_2fa[0]
    assert two_factor.verify(reloaded(staff), code.upper())
    assert not two_factor.verify(reloaded(staff), code)
    assert two_factor.recovery_codes_left(staff) == 9
    assert not two_factor.verify(reloaded(staff), "abcdef-123456")


def test_turning_it_off_needs_the_password(staff, with_2fa):
    with pytest.raises(ValidationFailed):
        two_factor.disable(staff, "wrong")
    two_factor.disable(staff, PASSWORD)
    assert not reloaded(staff).has_two_factor
    assert two_factor.recovery_codes_left(staff) == 0


def test_only_the_owner_requires_it_of_the_team(staff, tenant):
    admin = staff_accounts.create_staff_user("acme", "ada@acme.example", PASSWORD)
    with pytest.raises(team.NotAllowed):
        two_factor.set_required(admin, True)
    assert two_factor.set_required(staff, True).require_two_factor
    with_codes = two_factor.enable(staff, SECRET, code_now())
    assert with_codes
    with pytest.raises(team.NotAllowed):
        two_factor.disable(reloaded(staff), PASSWORD)


# --- signing in ----------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(app, staff, with_2fa):
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    response = browser.login(staff.email)
    assert response.status_code == 303
    assert "/login/code" in response.headers["Location"]
    assert browser.get("/admin/followups").status_code == 302  # not signed in yet
    with time_machine.travel(utcnow() + timedelta(seconds=30)):
        as_a_new_request()
        wrong = browser.post("/login/code", {"code": "12345"})
        assert wrong.status_code == 401
        assert two_factor.WRONG_CODE in wrong.get_data(as_text=True)
        as_a_new_request()
        right = browser.post("/login/code", {"code": code_now()})
        assert right.status_code == 303
        as_a_new_request()
        assert browser.get("/admin/followups").status_code == 200


def test_a_password_reset_link_still_asks_for_the_code(app, staff, with_2fa):
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    browser.refresh_csrf("/login")
    with mail.record_messages() as outbox:
        browser.post("/forgot-password", {"email": staff.email})
    path = re.search(r"(/reset-password/\S+)", outbox[0].body).group(1)
    as_a_new_request()
    reset = browser.post(path, {"password": "a brand new passphrase"})
    assert reset.status_code == 303
    assert reset.headers["Location"].endswith("/login/code")
    as_a_new_request()
    assert browser.get("/admin/followups").status_code == 302  # not signed in without it


def test_a_password_change_between_password_and_code_cancels_the_sign_in(app, staff, with_2fa):
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    browser.login(staff.email)
    staff_accounts.set_staff_password(staff.email, "a brand new passphrase")  # elsewhere
    with time_machine.travel(utcnow() + timedelta(seconds=30)):
        as_a_new_request()
        refused = browser.post("/login/code", {"code": code_now()})
    assert refused.status_code == 302  # back to the password
    as_a_new_request()
    assert browser.get("/admin/followups").status_code == 302


def test_five_wrong_codes_and_the_password_is_asked_again(app, staff, with_2fa):
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    browser.login(staff.email)
    for _ in range(4):
        assert browser.post("/login/code", {"code": "abc"}).status_code == 401
    last = browser.post("/login/code", {"code": "abc"})
    assert "Too many wrong codes" in last.get_data(as_text=True)
    assert browser.get("/login/code").status_code == 302  # back to the password


def test_a_recovery_code_signs_in(app, staff, with_2fa):
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    browser.login(staff.email)
    assert browser.post("/login/code", {"code": with_2fa[3]}).status_code == 303


def test_when_the_team_requires_it_members_without_it_set_it_up_first(app, staff, tenant):
    two_factor.set_required(staff, True)
    as_a_new_request()
    browser = StaffBrowser(app.test_client())
    assert browser.login(staff.email).status_code == 303
    response = browser.get("/admin/followups")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/two-factor")
    browser.refresh_csrf("/account/two-factor")
    page = browser.get("/account/two-factor").get_data(as_text=True)
    assert "Your team requires two-factor sign-in" in page and "<svg" in page
    secret = page.split('id="totp-secret" class="secret-key">')[1].split("<")[0]
    done = browser.post("/account/two-factor", {"code": code_now(secret)})
    assert "Your recovery codes" in done.get_data(as_text=True)
    as_a_new_request()
    assert browser.get("/admin/followups").status_code == 200
    assert db.session.get(Tenant, tenant.id).require_two_factor
