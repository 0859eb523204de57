"""Configuration from the environment (12-factor). `.env` is read if present, unless
PYTHON_DOTENV_DISABLED=1 (python-dotenv's own switch; tests use it to see the defaults)."""

import os
import secrets
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
load_dotenv(PROJECT_ROOT / ".env")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in ("1", "true", "yes", "on")


class ConfigError(ValueError):
    """A setting whose value cannot be used: raised while the settings are read, so every
    process (web, worker, `make run`) stops at start-up saying which one and why."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level() -> str:
    # Checked here once: gunicorn and RQ would each refuse a bad one in their own words.
    value = _env("LOG_LEVEL", "INFO").strip()
    if value.upper() not in LOG_LEVELS:
        raise ConfigError(f'LOG_LEVEL is "{value}": it must be one of {", ".join(LOG_LEVELS)}.')
    return value.upper()


def _log_format() -> str:
    value = _env("LOG_FORMAT", "text").strip()
    if value.lower() not in ("text", "json"):
        raise ConfigError(f'LOG_FORMAT is "{value}": it must be text or json.')
    return value.lower()


def _port(name: str) -> int:
    """A TCP port number, 0 for none."""
    value = _env(name, "0").strip()
    if not value.isdigit() or int(value) > 65535:
        raise ConfigError(f'{name} is "{value}": give a port number (1 to 65535), or 0 for none.')
    return int(value)


def _instance_secret_key() -> str:
    """A random key kept in instance/ so a fresh install is safe without set-up.

    It survives restarts (sessions stay valid) and is shared by every process on
    the box; a multi-box install sets SECRET_KEY instead.
    """
    path = PROJECT_ROOT / "instance" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'followup.db'}"


def _normalize_database_url(url: str) -> str:
    # Operators paste URLs from their hosting panel; we speak psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = _env("SECRET_KEY") or _instance_secret_key()
    # True when SECRET_KEY came from instance/secret_key rather than the setting: fine
    # on one box with SQLite, not for a database that other boxes share (the doctor).
    SECRET_KEY_GENERATED = _env("SECRET_KEY") is None
    SQLALCHEMY_DATABASE_URI = _normalize_database_url(_env("DATABASE_URL", _default_database_url()))
    # Connections idle for a while are checked before use (extensions.check_idle_connections).
    # hide_parameters: a failed statement's error (logged, kept with a failed job) says
    # which statement, never the values (a customer's message, an address).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    RQ_ASYNC = True
    # The queues `python worker.py` serves when not given --queues (empty: all of them).
    WORKER_QUEUES = _env("WORKER_QUEUES", "")
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    # What the web and the worker print (DEBUG, INFO, WARNING, ERROR); `make run` sets WARNING.
    LOG_LEVEL = _log_level()
    # One line per request and per job: key=value text, or JSON lines (followup/logs.py).
    LOG_FORMAT = _log_format()

    OPENAI_API_KEY = _env("OPENAI_API_KEY")
    OPENAI_BASE_URL = _env("OPENAI_BASE_URL")
    OPENAI_MODEL = _env("OPENAI_MODEL", "gpt-4o-mini")
    LLM_TIMEOUT_S = float(_env("LLM_TIMEOUT_S", "20"))
    # The widget's voice mode on our server (llm/audio.py): speech to text, and replies read
    # aloud, through the same OpenAI-compatible endpoint.
    OPENAI_TRANSCRIPTION_MODEL = _env("OPENAI_TRANSCRIPTION_MODEL", "whisper-1")
    OPENAI_SPEECH_MODEL = _env("OPENAI_SPEECH_MODEL", "tts-1")
    OPENAI_SPEECH_VOICE = _env("OPENAI_SPEECH_VOICE", "alloy")

    # Unset: emails are written as files under instance/mail instead (notify/email.py).
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = int(_env("MAIL_PORT", "25"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "followup@localhost")
    # Seconds the mail server has to answer each step (connect, greeting, every command).
    MAIL_TIMEOUT_S = float(_env("MAIL_TIMEOUT_S", "10"))

    TWILIO_ACCOUNT_SID = _env("TWILIO_ACCOUNT_SID")
    TWILIO_AUTH_TOKEN = _env("TWILIO_AUTH_TOKEN")
    TWILIO_FROM_NUMBER = _env("TWILIO_FROM_NUMBER")
    TWILIO_API_BASE = _env("TWILIO_API_BASE", "https://api.twilio.com")
    # Seconds Twilio has to answer before the send counts as failed (and is retried).
    TWILIO_TIMEOUT_S = float(_env("TWILIO_TIMEOUT_S", "15"))

    # Gzip at its smallest, only for the responses web/static_files.py names (its own
    # hook, not the extension's, which would compress every page). Streamed too: static
    # files are sent as streams.
    COMPRESS_REGISTER = False
    COMPRESS_ALGORITHM = "gzip"
    COMPRESS_ALGORITHM_STREAMING = "gzip"
    COMPRESS_LEVEL = 9
    COMPRESS_MIMETYPES = ("text/html", "text/css", "text/javascript", "application/javascript")

    # Cookies: never readable from JS, not sent on cross-site POSTs, and HTTPS-only
    # whenever the public address is HTTPS.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # A staff login ends after this long without a request, and this long after logging
    # in whatever happens (web/auth/sessions.py).
    SESSION_IDLE_TIMEOUT_H = float(_env("SESSION_IDLE_TIMEOUT_H", "12"))
    SESSION_MAX_AGE_DAYS = float(_env("SESSION_MAX_AGE_DAYS", "30"))

    # Proxies whose X-Forwarded-* headers name the client: a count of hops or networks
    # (web/proxies.py). Empty: none, the client is whoever connects.
    TRUSTED_PROXIES = _env("TRUSTED_PROXIES", "")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", REDIS_URL)
    # No X-RateLimit-* headers: each answer would read its budget's window from Redis
    # (two round trips) before its first byte. A refusal still says when to come back
    # (Retry-After, `web.rate_limits.retry_after_s`).
    RATELIMIT_HEADERS_ENABLED = False
    # Every request checks its limits in Redis, on a connection of its own while it does:
    # redis-py's default cap of 100 per process turned the 101st request at once into a
    # 500 under gunicorn.conf.py's hundreds of threads. Connections open only as needed;
    # 1000 is gunicorn's default for the connections a worker takes at once.
    RATELIMIT_STORAGE_OPTIONS: dict = {"max_connections": 1000}
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    LOGIN_ACCOUNT_RATE_LIMIT = _env("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")
    API_RATE_LIMIT = _env("API_RATE_LIMIT", "600 per minute")
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name, not a secret

    # Notifications: a failed send is retried NOTIFY_RETRY_FIRST_S later, then after
    # twice as long each time (at most NOTIFY_RETRY_MAX_S), NOTIFY_MAX_ATTEMPTS in all.
    NOTIFY_MAX_ATTEMPTS = int(_env("NOTIFY_MAX_ATTEMPTS", "8"))
    NOTIFY_RETRY_FIRST_S = float(_env("NOTIFY_RETRY_FIRST_S", "30"))
    NOTIFY_RETRY_MAX_S = float(_env("NOTIFY_RETRY_MAX_S", "3600"))
    # RQ stops a delivery job after NOTIFY_JOB_TIMEOUT_S; a worker that vanished while
    # sending leaves its row to the sweep after NOTIFY_SEND_LEASE_S, which must be longer.
    NOTIFY_JOB_TIMEOUT_S = int(_env("NOTIFY_JOB_TIMEOUT_S", "60"))
    NOTIFY_SEND_LEASE_S = float(_env("NOTIFY_SEND_LEASE_S", "300"))
    # How often the workers look for notifications that are due but not queued.
    NOTIFY_SWEEP_INTERVAL_S = int(_env("NOTIFY_SWEEP_INTERVAL_S", "30"))
    # Anybody can ask for a follow-up with any email: at most this many confirmations go
    # to one address of one business an hour; further requests are saved, unconfirmed.
    CUSTOMER_CONFIRMATIONS_PER_HOUR = int(_env("CUSTOMER_CONFIRMATIONS_PER_HOUR", "3"))
    # Likewise for login links: anybody can ask for one with any customer's email.
    CUSTOMER_LOGIN_LINKS_PER_HOUR = int(_env("CUSTOMER_LOGIN_LINKS_PER_HOUR", "5"))

    # Auto follow-up. While a staff member has replied in the last STAFF_TAKEOVER_MINUTES
    # the AI sends no reminder (the chain waits for the end of the takeover).
    STAFF_TAKEOVER_MINUTES = int(_env("STAFF_TAKEOVER_MINUTES", "30"))
    # A wake-up is queued for each due time; it sends what is due then in batches of
    # REMINDER_BATCH, shared among the workers. The sweep (every REMINDER_SWEEP_INTERVAL_S,
    # from the worker's cron) queues what is due and unclaimed, reading REMINDER_SWEEP_BATCH
    # chains at a time. A claimed reminder not sent within REMINDER_LOST_AFTER_S counts as
    # lost (its worker died, Redis restarted) and the sweep takes it again.
    REMINDER_SWEEP_INTERVAL_S = int(_env("REMINDER_SWEEP_INTERVAL_S", "30"))
    REMINDER_SWEEP_BATCH = int(_env("REMINDER_SWEEP_BATCH", "1000"))
    REMINDER_BATCH = int(_env("REMINDER_BATCH", "20"))
    REMINDER_LOST_AFTER_S = int(_env("REMINDER_LOST_AFTER_S", "600"))
    # The model could not write a reminder: try again REMINDER_RETRY_FIRST_S later, then
    # after twice as long each time, at most REMINDER_RETRY_MAX_S apart, until it can.
    REMINDER_RETRY_FIRST_S = float(_env("REMINDER_RETRY_FIRST_S", "60"))
    REMINDER_RETRY_MAX_S = float(_env("REMINDER_RETRY_MAX_S", "3600"))
    # Per reminder (a batch gets this times its size); longer than LLM_TIMEOUT_S.
    REMINDER_JOB_TIMEOUT_S = int(_env("REMINDER_JOB_TIMEOUT_S", "120"))
    # How much of the conversation the model reads to write a reminder.
    REMINDER_HISTORY_MESSAGES = int(_env("REMINDER_HISTORY_MESSAGES", "40"))
    AUTO_FOLLOWUP_PAGE_SIZE = 50

    # Reports: the worker's cron counts the days still changing (and those of follow-ups
    # changed since) into the daily rollups every REPORT_REFRESH_INTERVAL_S; the page
    # says how fresh they are.
    REPORT_REFRESH_INTERVAL_S = int(_env("REPORT_REFRESH_INTERVAL_S", "300"))
    REPORT_JOB_TIMEOUT_S = int(_env("REPORT_JOB_TIMEOUT_S", "600"))

    # A widget session token opens its chat until the customer has not written for this long.
    WIDGET_SESSION_MAX_AGE_DAYS = int(_env("WIDGET_SESSION_MAX_AGE_DAYS", "30"))
    # Public widget endpoints: one budget per IP (offices share one) and one per chat.
    WIDGET_SESSIONS_LIMIT_PER_IP = _env("WIDGET_SESSIONS_LIMIT_PER_IP", "20 per minute")
    WIDGET_MESSAGES_LIMIT_PER_SESSION = _env("WIDGET_MESSAGES_LIMIT_PER_SESSION", "30 per minute")
    WIDGET_MESSAGES_LIMIT_PER_IP = _env("WIDGET_MESSAGES_LIMIT_PER_IP", "120 per minute")
    WIDGET_READS_LIMIT_PER_SESSION = _env("WIDGET_READS_LIMIT_PER_SESSION", "60 per minute")
    # Voice on our server: each recording transcribed, each reply read aloud, costs model time.
    WIDGET_TRANSCRIPTIONS_LIMIT_PER_SESSION = _env(
        "WIDGET_TRANSCRIPTIONS_LIMIT_PER_SESSION", "20 per minute"
    )
    WIDGET_TRANSCRIPTIONS_LIMIT_PER_IP = _env(
        "WIDGET_TRANSCRIPTIONS_LIMIT_PER_IP", "120 per minute"
    )
    WIDGET_SPEECH_LIMIT_PER_SESSION = _env("WIDGET_SPEECH_LIMIT_PER_SESSION", "20 per minute")
    WIDGET_SPEECH_LIMIT_PER_IP = _env("WIDGET_SPEECH_LIMIT_PER_IP", "120 per minute")
    WIDGET_READS_LIMIT_PER_IP = _env("WIDGET_READS_LIMIT_PER_IP", "600 per minute")
    WIDGET_FOLLOWUPS_LIMIT_PER_SESSION = _env("WIDGET_FOLLOWUPS_LIMIT_PER_SESSION", "10 per hour")
    WIDGET_FOLLOWUPS_LIMIT_PER_IP = _env("WIDGET_FOLLOWUPS_LIMIT_PER_IP", "60 per hour")
    # Each one sends an email: kept low.
    WIDGET_LOGIN_LINK_LIMIT_PER_SESSION = _env("WIDGET_LOGIN_LINK_LIMIT_PER_SESSION", "5 per hour")
    WIDGET_LOGIN_LINK_LIMIT_PER_IP = _env("WIDGET_LOGIN_LINK_LIMIT_PER_IP", "20 per hour")
    WIDGET_CONFIG_LIMIT_PER_IP = _env("WIDGET_CONFIG_LIMIT_PER_IP", "120 per minute")
    # Inbound SMS (Twilio's webhook): per sender number, and per IP for Twilio as a whole.
    SMS_WEBHOOK_LIMIT_PER_NUMBER = _env("SMS_WEBHOOK_LIMIT_PER_NUMBER", "20 per minute")
    SMS_WEBHOOK_LIMIT_PER_IP = _env("SMS_WEBHOOK_LIMIT_PER_IP", "1200 per minute")
    # An inbound text not answered this long after it was queued, or after a job took it
    # (its worker died, Redis lost the job), is queued again by the sweep, which runs
    # every NOTIFY_SWEEP_INTERVAL_S. The answer job is stopped well before (at 80%).
    SMS_ANSWER_LEASE_S = float(_env("SMS_ANSWER_LEASE_S", "300"))

    # /metrics (followup/metrics.py): on unless turned off; readable with the token, else
    # only from this machine. Each RQ worker serves its own on METRICS_WORKER_PORT (0: none).
    METRICS_ENABLED = _env_bool("METRICS_ENABLED", True)
    METRICS_TOKEN = _env("METRICS_TOKEN")
    METRICS_WORKER_PORT = _port("METRICS_WORKER_PORT")

    FOLLOWUPS_PAGE_SIZE = 25
    USERS_PAGE_SIZE = 25
    CUSTOMER_LOGIN_RATE_LIMIT = _env("CUSTOMER_LOGIN_RATE_LIMIT", "20 per minute")
    # The public "How did we do?" page, per client address (opening and rating).
    SATISFACTION_RATE_LIMIT = _env("SATISFACTION_RATE_LIMIT", "20 per minute")
    # "Send a test email" and "Send a test SMS" on the System page, per member and each.
    TEST_MESSAGE_LIMIT_PER_MEMBER = _env("TEST_MESSAGE_LIMIT_PER_MEMBER", "5 per 15 minutes")
    API_PAGE_SIZE = 50


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    SECRET_KEY_GENERATED = False
    RATELIMIT_STORAGE_URI = "memory://"
    RQ_ASYNC = False  # jobs run in the test's process; worker tests turn this back on
    MAIL_SUPPRESS_SEND = True  # Flask-Mail records messages instead of sending them
    # A server name keeps emails on Flask-Mail's path (recorded, see above) rather than
    # written to files; the tests of mail without a server unset it.
    MAIL_SERVER = "localhost"
    PUBLIC_BASE_URL = "http://localhost"
    # Deliberately slow hashes protect real passwords; tests hash hundreds of them.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105
