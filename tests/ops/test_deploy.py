"""deploy/: what a Debian or Ubuntu box needs to run Followup as services. The systemd
units pass `systemd-analyze verify`, the environment file names every setting, and the
reverse proxies pass the app's streams unbuffered and the headers it reads."""

import os
import re
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import flask_migrate
import pytest
import time_machine

from followup import config
from tests.helpers.apps import build_app
from tests.helpers.machine import unavailable
from tests.helpers.settings import README, environment_settings
from tests.helpers.tls import write_self_signed

DEPLOY = Path(config.PROJECT_ROOT, "deploy")
INSTALL_DIR = "/opt/followup"
CERTBOT_LIVE = "/etc/letsencrypt/live/followup.example.com"
SETTING_LINE = re.compile(r'^#?([A-Z][A-Z0-9_]*)=("[^"]*"|\S*)$')


def units() -> list[Path]:
    return sorted([*DEPLOY.glob("*.service"), *DEPLOY.glob("*.timer")])


def required_tool(name: str, package: str = "systemd") -> str:
    """The tool's path; without it the test is skipped, except under CI, where it fails
    (`make tools` installs them)."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian: the {package} package)")
    return path


def installed_under(prefix: Path) -> Path:
    """The units as if Followup were installed under `prefix`: verify checks that each
    command they start exists, so the install folder's programs are made there (empty
    scripts). Returns the folder of the units."""
    folder = prefix / "units"
    folder.mkdir(parents=True)
    for unit in units():
        text = unit.read_text()
        for program in set(re.findall(rf"{INSTALL_DIR}/\.venv/bin/[\w.-]+", text)):
            path = prefix / program.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/bin/sh\n")
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        (folder / unit.name).write_text(text.replace(INSTALL_DIR, f"{prefix}{INSTALL_DIR}"))
    return folder


def test_the_units_are_the_web_the_worker_template_and_the_nightly_backup():
    assert [unit.name for unit in units()] == [
        "followup-backup.service",
        "followup-backup.timer",
        "followup-web.service",
        "followup-worker@.service",
    ]


def test_systemd_analyze_verify_passes_on_every_unit(tmp_path):
    systemd_analyze = required_tool("systemd-analyze")
    folder = installed_under(tmp_path)
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", *sorted(str(path) for path in folder.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    # Any warning (an unknown key, a missing program) counts: verify prints nothing else.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_analyze_verify_sees_a_program_that_is_not_there(tmp_path):
    """The check above checks something: a unit starting a missing program fails it."""
    systemd_analyze = required_tool("systemd-analyze")
    folder = installed_under(tmp_path)
    web = folder / "followup-web.service"
    web.write_text(web.read_text().replace("/bin/gunicorn", "/bin/not-there"))
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(web)], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "not-there" in result.stderr


def backup_command(backups: Path) -> str:
    """The nightly backup's command line as its shell runs it, on this checkout's flask,
    writing into `backups`."""
    unit = (DEPLOY / "followup-backup.service").read_text()
    command = re.search(r"^ExecStart=/bin/sh -c '(.+)'$", unit, re.MULTILINE)[1]
    return (
        command.replace("%%", "%")  # systemd's escape of %
        .replace(f"{INSTALL_DIR}/.venv/bin/flask", str(Path(sys.executable).parent / "flask"))
        .replace("/var/backups/followup", str(backups))
    )


def test_the_nightly_backup_keeps_the_seven_newest(tmp_path):
    backups = tmp_path / "backups"
    url = f"sqlite:///{tmp_path / 'followup.db'}"
    app = build_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        for day in range(1, 9):
            with time_machine.travel(datetime(2000, 1, day, 3, tzinfo=UTC), tick=False):
                result = app.test_cli_runner().invoke(
                    args=["backup", str(backups / f"followup-2000-01-0{day}")]
                )
            assert result.exit_code == 0, result.output
    environment = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "x" * 48}
    nightly = subprocess.run(
        ["/bin/sh", "-c", backup_command(backups)],
        cwd=config.PROJECT_ROOT,
        env=environment | {"PYTHON_DOTENV_DISABLED": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert nightly.returncode == 0, nightly.stderr
    kept = sorted(path.name for path in backups.iterdir())
    assert kept[:6] == [f"followup-2000-01-0{day}" for day in range(3, 9)]
    assert len(kept) == 7
    assert re.fullmatch(r"followup-\d{4}-\d\d-\d\dT\d{6}Z", kept[6])
    assert (backups / kept[6] / "manifest.json").is_file()


def test_the_environment_file_names_every_setting_once():
    lines = (DEPLOY / "followup.env.example").read_text().splitlines()
    settings = [line for line in lines if line and not line.startswith("# ") and line != "#"]
    assert [line for line in settings if not SETTING_LINE.match(line)] == []
    names = [SETTING_LINE.match(line)[1] for line in settings]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(environment_settings())


def stream_pattern(proxy: str) -> re.Pattern:
    """The paths the proxy's configuration streams unbuffered."""
    text = (DEPLOY / proxy).read_text()
    found = re.findall(r"^\s*(?:location ~|@streams path_regexp) (\S+)", text, re.MULTILINE)
    assert len(found) == 1, found
    return re.compile(found[0])


@pytest.mark.parametrize("proxy", ["Caddyfile", "nginx.conf"])
def test_the_proxies_stream_the_chat_replies_and_buffer_the_rest(proxy, tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'urls.db'}")
    with app.test_request_context():
        urls = {
            endpoint: app.url_for(endpoint, public_key="pk_AbC-12_x", chat_id=42)
            for endpoint in (
                "widget.stream_reply",
                "widget_api.post_message",  # streams with Accept: text/event-stream
                "widget.send_message",
                "widget.new_messages",
                "widget_api.customer_requests",
            )
        }
    pattern = stream_pattern(proxy)
    streamed = {endpoint for endpoint, url in urls.items() if pattern.match(urlsplit(url).path)}
    assert streamed == {"widget.stream_reply", "widget_api.post_message"}


def nginx_checks(folder: Path, http_block: str) -> subprocess.CompletedProcess:
    """`nginx -t` of `http_block` in what Debian's /etc/nginx/nginx.conf wraps a site in,
    with its paths under `folder`."""
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{http_block}\n}}\n"
    )
    nginx = required_tool("nginx", "nginx")
    command = [nginx, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")]
    return subprocess.run(command, capture_output=True, text=True)


def caddy_validates(caddyfile: Path, home: Path) -> subprocess.CompletedProcess:
    caddy = required_tool("caddy", "caddy")
    return subprocess.run(
        [caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        # Caddy keeps its state under HOME and XDG_DATA_HOME: the test's own.
        env={"PATH": os.environ["PATH"], "HOME": str(home), "XDG_DATA_HOME": str(home)},
        timeout=60,
    )


def test_nginx_accepts_the_configuration(tmp_path):
    site = (DEPLOY / "nginx.conf").read_text()
    certificate, key = write_self_signed(tmp_path, "followup.example.com")
    # certbot's paths, as the README's certbot command writes them, exist only on the box.
    site = site.replace(f"{CERTBOT_LIVE}/fullchain.pem", str(certificate))
    site = site.replace(f"{CERTBOT_LIVE}/privkey.pem", str(key))
    assert str(certificate) in site and str(key) in site
    (tmp_path / "followup.conf").write_text(site)
    result = nginx_checks(tmp_path, f"    include {tmp_path}/followup.conf;")
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_caddy_accepts_the_caddyfile(tmp_path):
    result = caddy_validates(DEPLOY / "Caddyfile", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout


def test_the_proxy_checks_see_a_broken_configuration(tmp_path):
    """The two checks above check something: a directive neither knows fails them."""
    checked_nginx = nginx_checks(tmp_path, "    proxy_buffring off;")
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text("example.com {\n\treverse_prox 127.0.0.1:8000\n}\n")
    checked_caddy = caddy_validates(caddyfile, tmp_path)
    assert checked_nginx.returncode != 0 and "proxy_buffring" in checked_nginx.stderr
    assert checked_caddy.returncode != 0 and "reverse_prox" in checked_caddy.stderr


def test_nginx_sets_the_forwarded_headers_the_readme_asks_for():
    readme_lines = re.findall(r"^\s*(proxy_set_header .+;)$", README.read_text(), re.MULTILINE)
    nginx = {" ".join(line.split()) for line in (DEPLOY / "nginx.conf").read_text().splitlines()}
    assert len(readme_lines) >= 4
    assert [line for line in readme_lines if " ".join(line.split()) not in nginx] == []


def test_the_readme_walks_through_every_file_of_deploy():
    section = README.read_text().split("\n## Install on a server\n", 1)[1].split("\n## ", 1)[0]
    files = sorted(path.name for path in DEPLOY.iterdir())
    assert [name for name in files if f"deploy/{name}" not in section] == []


METRICS_BLOCKS = {
    "Caddyfile": r"^\s*respond (\S+) 404$",
    "nginx.conf": r"^\s*location = (\S+) \{\s*return 404;\s*\}",
}


@pytest.mark.parametrize("proxy", sorted(METRICS_BLOCKS))
def test_the_proxies_answer_404_to_metrics_from_outside(proxy, tmp_path):
    """Without a token the app serves /metrics to loopback, where a proxy on the box
    connects from: the proxy must not pass it on (the app also refuses forwarded ones)."""
    text = (DEPLOY / proxy).read_text()
    blocked = re.findall(METRICS_BLOCKS[proxy], text, re.MULTILINE)
    app = build_app(f"sqlite:///{tmp_path / 'urls.db'}")
    with app.test_request_context():
        assert blocked == [app.url_for("metrics.exposition")]
    assert not stream_pattern(proxy).match(blocked[0])
