"""`flask --app app doctor`: each check's OK and FAIL against the real parts (Redis, RQ
workers, SQLite and PostgreSQL) and the local fakes (SMTP, Twilio, the model), the
command's lines and exit status, and the README's upgrade steps against its advice."""

import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest

from followup.config import PROJECT_ROOT
from followup.services import doctor
from followup.services.doctor import Verdict
from tests.fakes.local_http import closed_redis_url
from tests.fakes.smtp_server import FakeSmtp
from tests.helpers.apps import POSTGRES_ADMIN_URL, REDIS_TEST_URL, build_app
from tests.helpers.jobs import TWILIO_FROM, shared_settings, wait_for

README = PROJECT_ROOT / "README.md"
# The newest migration, by its file name ("0025_verified_identity.py"): read from the folder,
# not by the code under test.
NEWEST = max(path.name for path in (PROJECT_ROOT / "migrations" / "versions").glob("0*.py"))[:4]
PASSWORD = "hunter2-not-for-logs"


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only: the checks but the database's do not depend on it (the workers'
    test starts workers on it)."""
    return f"sqlite:///{tmp_path / 'doctor.db'}"


@contextmanager
def app_on(database_url: str, **settings):
    """An app in its context, on a database that may have no schema at all."""
    app = build_app(database_url, **settings)
    with app.app_context():
        yield app


@pytest.fixture
def doctor_app(database_url):
    """`doctor_app(**settings)`: an app on the test's SQLite file, in its context."""
    opened = []

    def make(**settings):
        context = app_on(database_url, **settings)
        opened.append(context)
        return context.__enter__()

    yield make
    for context in reversed(opened):
        context.__exit__(None, None, None)


def _closed_port() -> int:
    return int(closed_redis_url().rsplit(":", 1)[1].split("/")[0])


# --- the database and Redis ---------------------------------------------------------------------


def test_database_behind_fails_naming_the_upgrade_then_current_is_ok(database_urls):
    url = database_urls[0]
    with app_on(url):
        flask_migrate.upgrade(revision="0022")
        behind = doctor.check_database()
        assert behind.verdict is Verdict.FAIL
        assert f"at 0022, not {NEWEST}" in behind.detail
        assert behind.advice == f"Run: {doctor.UPGRADE_COMMAND}"

        flask_migrate.upgrade()
        assert doctor.check_database() == doctor.Finding(
            "Database", Verdict.OK, f"Reachable; schema current ({NEWEST})."
        )


def test_database_down_fails_without_showing_its_password(doctor_app):
    url = f"postgresql+psycopg://followup:{PASSWORD}@127.0.0.1:{_closed_port()}/followup"
    doctor_app(SQLALCHEMY_DATABASE_URI=url)
    finding = doctor.check_database()
    assert finding.verdict is Verdict.FAIL
    assert "***@127.0.0.1" in finding.detail and PASSWORD not in finding.detail
    assert "DATABASE_URL" in finding.advice


def test_redis_up_is_ok_and_down_fails_without_its_password(doctor_app):
    doctor_app(REDIS_URL=REDIS_TEST_URL)
    assert doctor.check_redis().verdict is Verdict.OK

    doctor_app(REDIS_URL=closed_redis_url().replace("//", f"//:{PASSWORD}@"))
    down = doctor.check_redis()
    assert down.verdict is Verdict.FAIL
    assert PASSWORD not in down.detail and "***@127.0.0.1" in down.detail


def test_masked_drops_user_password_and_query():
    assert doctor.masked(f"redis://:{PASSWORD}@cache:6379/0?password={PASSWORD}") == (
        "redis://***@cache:6379/0"
    )
    assert doctor.masked("https://followup.example.com") == "https://followup.example.com"


# --- the workers --------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url, jobs_redis_url, smtp, twilio, redis_db) -> dict:
    return shared_settings(database_url, jobs_redis_url, smtp, twilio)


def test_workers_none_fails_some_queues_unserved_fails_all_served_is_ok(
    doctor_app, settings, start_worker
):
    doctor_app(**settings)
    none = doctor.check_workers()
    assert none.verdict is Verdict.FAIL and "No worker is running" in none.detail
    assert doctor.START_WORKERS_COMMAND in none.advice and doctor.WORKER_COMMAND in none.advice

    answers_only = start_worker("answers")
    partial = wait_for(
        lambda: (finding := doctor.check_workers()).detail.startswith("1 worker") and finding,
        "the first worker's heartbeat",
        answers_only,
    )
    assert partial.verdict is Verdict.FAIL
    assert "nobody serves the queues notifications, reminders, maintenance" in partial.detail

    every_queue = start_worker()
    served = wait_for(
        lambda: (finding := doctor.check_workers()).verdict is Verdict.OK and finding,
        "every queue served and a scheduler elected",
        every_queue,
    )
    assert served.detail == "2 workers alive, serving every queue; scheduler elected."


# --- settings -----------------------------------------------------------------------------------


def test_generated_secret_key_fails_on_postgresql_only(doctor_app):
    postgres = POSTGRES_ADMIN_URL  # not connected to: the check reads the settings only
    doctor_app(SQLALCHEMY_DATABASE_URI=postgres, SECRET_KEY_GENERATED=True)
    generated = doctor.check_secret_key()
    assert generated.verdict is Verdict.FAIL
    assert "instance/secret_key" in generated.advice

    doctor_app(SQLALCHEMY_DATABASE_URI=postgres, SECRET_KEY_GENERATED=False)
    assert doctor.check_secret_key().verdict is Verdict.OK

    doctor_app(SECRET_KEY_GENERATED=True)  # SQLite: one box, the file is enough
    assert doctor.check_secret_key().verdict is Verdict.OK


def _secret_key_generated(**environment: str) -> str:
    """Config.SECRET_KEY_GENERATED as a fresh process reads it from the environment."""
    script = "from followup.config import Config; print(Config.SECRET_KEY_GENERATED)"
    env = {"PATH": "/usr/bin:/bin", "PYTHON_DOTENV_DISABLED": "1"} | environment
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_config_says_whether_the_secret_key_was_set():
    assert _secret_key_generated() == "True"
    assert _secret_key_generated(SECRET_KEY="set-by-the-operator") == "False"


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("http://127.0.0.1:5000", Verdict.OK),
        ("http://localhost", Verdict.OK),
        ("http://[::1]:8000", Verdict.OK),
        ("https://followup.example.com", Verdict.OK),
        ("http://followup.example.com", Verdict.FAIL),
        ("http://10.0.0.5:8000", Verdict.FAIL),
        ("followup.example.com", Verdict.FAIL),
    ],
)
def test_public_url_must_be_https_off_this_machine(doctor_app, url, verdict):
    doctor_app(PUBLIC_BASE_URL=url)
    assert doctor.check_public_url().verdict is verdict


def test_public_url_on_a_public_host_says_why_and_hides_credentials(doctor_app):
    doctor_app(PUBLIC_BASE_URL=f"http://admin:{PASSWORD}@followup.example.com")
    finding = doctor.check_public_url()
    assert finding.verdict is Verdict.FAIL and PASSWORD not in finding.detail
    assert "https://" in finding.advice


# --- mail ---------------------------------------------------------------------------------------


def _mail(smtp_port: int, **settings) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port, "MAIL_TIMEOUT_S": 2.0} | settings


def test_email_without_a_server_warns_that_mail_goes_to_files(doctor_app):
    doctor_app(MAIL_SERVER=None)
    finding = doctor.check_email()
    assert finding.verdict is Verdict.WARN and "saved as files" in finding.detail


def test_email_server_answering_is_ok(doctor_app, smtp):
    doctor_app(**_mail(smtp.port))
    assert doctor.check_email() == doctor.Finding(
        "Email", Verdict.OK, f"127.0.0.1:{smtp.port} answers (connect, EHLO)."
    )


def test_email_login_accepted_is_ok_and_refused_fails_without_the_password(doctor_app, smtp):
    smtp.credentials = ("followup", PASSWORD)
    doctor_app(**_mail(smtp.port, MAIL_USERNAME="followup", MAIL_PASSWORD=PASSWORD))
    assert doctor.check_email().detail.endswith("(connect, EHLO, login).")

    doctor_app(**_mail(smtp.port, MAIL_USERNAME="followup", MAIL_PASSWORD="wrong"))
    refused = doctor.check_email()
    assert refused.verdict is Verdict.FAIL and "refused the login" in refused.detail
    assert "MAIL_PASSWORD" in refused.advice and "wrong" not in refused.detail


@pytest.fixture
def smtp_with_tls():
    server = FakeSmtp(tls=True).start()
    yield server
    server.stop()


def test_email_with_starttls_and_login_is_ok(doctor_app, smtp_with_tls):
    smtp_with_tls.credentials = ("followup", PASSWORD)
    settings = {"MAIL_USE_TLS": True, "MAIL_USERNAME": "followup", "MAIL_PASSWORD": PASSWORD}
    doctor_app(**_mail(smtp_with_tls.port, **settings))
    assert doctor.check_email().detail == (
        f"127.0.0.1:{smtp_with_tls.port} answers (connect, EHLO, STARTTLS, login)."
    )


def test_email_tls_asked_of_a_server_without_it_fails_at_starttls(doctor_app, smtp):
    doctor_app(**_mail(smtp.port, MAIL_USE_TLS=True))
    finding = doctor.check_email()
    assert finding.verdict is Verdict.FAIL
    assert "failed at STARTTLS: the server does not offer it" in finding.detail


def test_email_server_down_or_silent_fails(doctor_app, smtp, blackhole):
    smtp.stop()
    doctor_app(**_mail(smtp.port))
    down = doctor.check_email()
    assert down.verdict is Verdict.FAIL and "connect: connection refused" in down.detail

    doctor_app(**_mail(blackhole.port, MAIL_TIMEOUT_S=0.5))
    silent = doctor.check_email()
    assert silent.verdict is Verdict.FAIL
    assert "no answer within MAIL_TIMEOUT_S (0.5 s)" in silent.detail
    assert blackhole.accepted == 1


# --- Twilio -------------------------------------------------------------------------------------


def _twilio(twilio, **settings) -> dict:
    return {
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE": twilio.base_url,
        "TWILIO_TIMEOUT_S": 2.0,
    } | settings


def test_sms_good_credentials_are_ok_through_the_account_fetch(doctor_app, twilio):
    doctor_app(**_twilio(twilio))
    assert doctor.check_sms().verdict is Verdict.OK
    assert [request["path"] for request in twilio.requests] == [
        f"/2010-04-01/Accounts/{twilio.account_sid}.json"
    ]


def test_sms_wrong_token_fails_without_showing_it(doctor_app, twilio):
    doctor_app(**_twilio(twilio, TWILIO_AUTH_TOKEN=PASSWORD))
    finding = doctor.check_sms()
    assert finding.verdict is Verdict.FAIL and "(HTTP 401)" in finding.detail
    assert PASSWORD not in finding.detail + finding.advice


def test_sms_suspended_account_fails(doctor_app, twilio):
    twilio.account_status = "suspended"
    doctor_app(**_twilio(twilio))
    assert doctor.check_sms() == doctor.Finding(
        "SMS",
        Verdict.FAIL,
        "Twilio says the account is suspended.",
        "Reactivate it in the Twilio console.",
    )


def test_sms_twilio_failing_says_so_and_to_try_later(doctor_app, twilio):
    twilio.fail_next(1, status=503)
    doctor_app(**_twilio(twilio))
    finding = doctor.check_sms()
    assert finding.verdict is Verdict.FAIL
    assert finding.detail == "Twilio answered with an error (HTTP 503)."


def test_sms_twilio_silent_fails(doctor_app, twilio, blackhole):
    doctor_app(**_twilio(twilio, TWILIO_API_BASE=blackhole.base_url, TWILIO_TIMEOUT_S=0.5))
    finding = doctor.check_sms()
    assert finding.verdict is Verdict.FAIL and "Cannot reach Twilio" in finding.detail


def test_sms_off_is_ok_and_half_configured_warns(doctor_app):
    doctor_app(TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None, TWILIO_FROM_NUMBER=None)
    assert doctor.check_sms() == doctor.Finding(
        "SMS", Verdict.OK, "SMS is off (no TWILIO_ACCOUNT_SID)."
    )

    doctor_app(TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN=None, TWILIO_FROM_NUMBER=None)
    half = doctor.check_sms()
    assert half.verdict is Verdict.WARN
    assert half.detail == "SMS is off: TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER not set."


# --- the model ----------------------------------------------------------------------------------


def _model(base_url: str, **settings) -> dict:
    return {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "test-key", "LLM_TIMEOUT_S": 2.0} | (
        settings
    )


def test_ai_answering_is_ok_after_a_one_token_completion(doctor_app, fake_llm):
    doctor_app(**_model(fake_llm.base_url))
    assert doctor.check_ai().verdict is Verdict.OK
    (request,) = fake_llm.requests
    assert request["max_tokens"] == 1 and not request.get("stream")


def test_ai_refusing_down_or_silent_fails(doctor_app, fake_llm, blackhole):
    fake_llm.behaviour.fail_status = 401
    doctor_app(**_model(fake_llm.base_url))
    assert doctor.check_ai().detail == "The endpoint answered with an error (HTTP 401)."

    doctor_app(**_model(f"http://127.0.0.1:{_closed_port()}/v1"))
    assert doctor.check_ai().detail == "Cannot connect to the endpoint."

    doctor_app(**_model(blackhole.base_url + "/v1", LLM_TIMEOUT_S=0.5))
    silent = doctor.check_ai()
    assert silent.verdict is Verdict.FAIL
    assert silent.detail == "No answer within LLM_TIMEOUT_S (0.5 s)."


def test_ai_off_warns(doctor_app):
    doctor_app(OPENAI_API_KEY=None, OPENAI_BASE_URL=None)
    finding = doctor.check_ai()
    assert finding.verdict is Verdict.WARN and "The AI is off" in finding.detail


# --- the disk -----------------------------------------------------------------------------------


def test_disk_space_against_the_thresholds(doctor_app, database_url, monkeypatch):
    doctor_app()
    Path(database_url.removeprefix("sqlite:///")).write_bytes(b"\0" * 4096)
    # The real disk, measured; the thresholds moved above and below what it has.
    monkeypatch.setattr(doctor, "DISK_FAIL_BYTES", 0)
    monkeypatch.setattr(doctor, "DISK_WARN_BYTES", 0)
    assert doctor.check_disk_space().verdict is Verdict.OK
    monkeypatch.setattr(doctor, "DISK_WARN_BYTES", 2**62)
    assert doctor.check_disk_space().verdict is Verdict.WARN
    monkeypatch.setattr(doctor, "DISK_FAIL_BYTES", 2**62)
    full = doctor.check_disk_space()
    assert full.verdict is Verdict.FAIL and "writes start to fail" in full.advice


def test_disk_space_is_not_ours_to_check_on_postgresql(doctor_app):
    doctor_app(SQLALCHEMY_DATABASE_URI=POSTGRES_ADMIN_URL)
    assert doctor.check_disk_space().verdict is Verdict.OK


# --- running them all ---------------------------------------------------------------------------


def _broken() -> doctor.Finding:
    raise RuntimeError(PASSWORD)


def test_a_check_that_raises_or_hangs_fails_and_the_others_still_report(
    doctor_app, blackhole, monkeypatch
):
    doctor_app(**_mail(blackhole.port, MAIL_TIMEOUT_S=30.0), PUBLIC_BASE_URL="https://x.example")
    monkeypatch.setattr(doctor, "CHECKS_DEADLINE_S", 0.5)
    broken, hung, fine = doctor.run_checks((_broken, doctor.check_email, doctor.check_public_url))
    assert (broken.verdict, broken.detail) == (
        Verdict.FAIL,
        "The check itself failed (RuntimeError).",
    )
    assert hung == doctor.Finding(
        "Email",
        Verdict.FAIL,
        "No answer within 0.5 s.",
        "Run it again; if it persists, look at the service it checks.",
    )
    assert fine.verdict is Verdict.OK


def test_workers_cannot_be_told_without_redis(doctor_app):
    doctor_app(REDIS_URL=closed_redis_url())
    assert doctor.check_workers().detail == "Cannot tell: Redis does not answer."


# --- the command --------------------------------------------------------------------------------

LINE = re.compile(r"^(OK|WARN|FAIL) +(\S.*?) {2,}(\S.*)$")


def _sections(output: str) -> list[tuple[str, str, str, str]]:
    """(verdict, check, detail, advice) for each finding the command printed."""
    found = []
    for line in output.splitlines():
        matched = LINE.match(line)
        if matched:
            found.append([*matched.groups(), ""])
        else:
            assert line.startswith(" " * 8), line  # advice, under the detail
            found[-1][3] = line.strip()
    return [tuple(finding) for finding in found]


def test_doctor_exits_0_when_nothing_fails_and_1_with_a_failure(
    database_url, settings, start_worker, fake_llm
):
    every_part = settings | _model(fake_llm.base_url) | {"PUBLIC_BASE_URL": "http://127.0.0.1:5000"}
    with app_on(database_url, **every_part) as app:
        flask_migrate.upgrade()
        worker = start_worker()
        wait_for(
            lambda: doctor.check_workers().verdict is Verdict.OK, "the worker's heartbeat", worker
        )
        healthy = app.test_cli_runner().invoke(args=["doctor"])
    assert healthy.exit_code == 0, healthy.output
    printed = _sections(healthy.output)
    assert [finding[:2] for finding in printed] == [
        (Verdict.OK, "Database"),
        (Verdict.OK, "Redis"),
        (Verdict.OK, "Workers"),
        (Verdict.OK, "Secret key"),
        (Verdict.OK, "Public URL"),
        (Verdict.OK, "Email"),
        (Verdict.OK, "SMS"),
        (Verdict.OK, "AI model"),
        (Verdict.OK, "Disk space"),
    ]
    assert f"OK    Database    Reachable; schema current ({NEWEST})." in healthy.output

    public_http = every_part | {"PUBLIC_BASE_URL": "http://followup.example.com"}
    with app_on(database_url, **public_http) as app:
        failing = app.test_cli_runner().invoke(args=["doctor"])
    assert failing.exit_code == 1
    (public_url,) = [finding for finding in _sections(failing.output) if finding[0] == "FAIL"]
    assert public_url[1] == "Public URL" and "https://" in public_url[3]


# --- the README ---------------------------------------------------------------------------------

# The README's server install runs `flask --app app …` through this shell function.
WRAPPER = "followup_flask"


def _upgrade_steps() -> list[str]:
    """The commands of the README's "Upgrading" steps, `followup_flask` spelled out."""
    text = README.read_text()
    assert '/opt/followup/.venv/bin/flask --app app "$@"' in text  # what the wrapper runs
    block = text.split("**Upgrading**", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.replace(WRAPPER, "flask --app app") for line in block.splitlines()]


def _position(steps: list[str], command: str) -> int:
    (index,) = [index for index, line in enumerate(steps) if command in line]
    return index


def test_readme_upgrade_steps_are_backup_stop_upgrade_start_doctor():
    steps = _upgrade_steps()
    order = [
        "flask --app app backup",
        "systemctl stop 'followup-worker@*'",
        doctor.UPGRADE_COMMAND,
        doctor.START_WORKERS_COMMAND,
        doctor.DOCTOR_COMMAND,
    ]
    positions = [_position(steps, command) for command in order]
    assert positions == sorted(positions), steps


def test_every_command_doctor_advises_is_one_the_readme_runs():
    text = README.read_text().replace(WRAPPER, "flask --app app")
    server_commands = (doctor.UPGRADE_COMMAND, doctor.START_WORKERS_COMMAND)
    for command in server_commands:
        assert command in "\n".join(_upgrade_steps())
    for command in doctor.ADVICE_COMMANDS:
        assert command in text


def test_readme_checking_an_installation_lists_every_check(doctor_app):
    doctor_app()
    section = README.read_text().split("## Checking an installation", 1)[1].split("\n## ", 1)[0]
    labels = {finding.check for finding in doctor.run_checks()}
    listed = set(re.findall(r"^\| ([A-Z][A-Za-z ]+?) \|", section, flags=re.MULTILINE))
    assert labels <= listed, labels - listed
