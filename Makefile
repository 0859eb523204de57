# Followup: `make run` starts the app, `make test` runs every test.
# Both work on a fresh machine: they create .venv and install what is missing.

SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
FLASK := $(VENV)/bin/flask --app app
# Two workers for the two cores; `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n 2

# Stamps: reinstall only when pyproject.toml changed since the last install.
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
# The Node.js packages the tests run examples with.
NODE_MODULES := tests/node/node_modules/.installed

# The commands that start this machine kind's services when they are down.
REDIS_START := redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
	--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log

.PHONY: run test test-clock lint format bench venv install install-dev translations admin-pot chromium \
	tools debian-tools services clean

run: install translations
	$(FLASK) db upgrade
	@# The devserver prints the login last, once it is up; errors still show.
	$(FLASK) demo --if-empty >/dev/null
	$(PYTHON) -m followup.devserver

# The lint first: CI (`make test`) fails on a style slip or an import against the layers.
test: lint translations chromium tools services
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The suite a year ahead, then in UTC+14: a test that passes only near the day it was
# written, or code that mixes the database server's clock (not moved) with ours, fails.
# tests/clock_ahead/sitecustomize.py moves the clock of every Python process of the run.
CLOCK_AHEAD_DAYS := 400
test-clock: install-dev translations chromium tools services
	PYTHONPATH=$(CURDIR)/tests/clock_ahead FOLLOWUP_TEST_CLOCK_AHEAD_DAYS=$(CLOCK_AHEAD_DAYS) \
		$(VENV)/bin/pytest $(PYTEST_ARGS)
	TZ=Pacific/Kiritimati $(VENV)/bin/pytest $(PYTEST_ARGS)

# lint-imports checks the import contracts in pyproject.toml (the one-way layers).
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Each benchmark prints its figures and PASS/FAIL against its targets.
bench: install-dev services chromium
	$(PYTHON) bench/admin_list.py
	$(PYTHON) bench/widget_latency.py
	$(PYTHON) bench/widget_load.py
	$(PYTHON) bench/widget_open.py
	$(PYTHON) bench/notifications.py
	$(PYTHON) bench/reminders.py
	$(PYTHON) bench/live_updates.py
	$(PYTHON) bench/promise_alerts.py
	$(PYTHON) bench/reports.py

venv: $(PYTHON)

$(PYTHON):
	@# Debian's python3 needs python3-venv for ensurepip; install it when we can.
	python3 -m venv $(VENV) || { \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
			&& python3 -m venv $(VENV); \
		else echo "Install python3-venv (sudo apt-get install python3-venv) and retry."; exit 1; fi; }

install: $(INSTALLED) translations

$(INSTALLED): pyproject.toml | $(PYTHON)
	$(PIP) install -e .
	touch $@

install-dev: $(INSTALLED_DEV)

$(INSTALLED_DEV): pyproject.toml | $(PYTHON)
	$(PIP) install -e '.[dev]'
	@# The dev install includes the runtime one.
	touch $@ $(INSTALLED)

# The visitor's language: each catalogue (translations/<lang>/LC_MESSAGES/messages.po,
# kept in git) compiled to the .mo file Flask-Babel reads (not kept in git), when newer.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
translations: $(CATALOGUES:.po=.mo)

translations/%.mo: translations/%.po | $(INSTALLED)
	$(VENV)/bin/pybabel compile -i $< -o $@

# The admin panel's texts (English for now) as a template for translators, apart from the
# visitor's catalogues: see babel-admin.cfg. Run after changing an admin template's text.
admin-pot: $(INSTALLED)
	$(VENV)/bin/pybabel extract -F babel-admin.cfg --no-location --sort-output \
		-o translations/admin.pot .

# Playwright drives Debian's Chromium (never `playwright install`: no downloads).
chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	else \
		echo "Chromium is missing: sudo apt-get install chromium chromium-driver"; \
		echo "(the end-to-end tests need /usr/bin/chromium)"; \
	fi

# What the operator tests run besides Chromium: systemd-analyze checks the units in
# deploy/, nginx and caddy its proxy configurations, pg_dump and pg_restore make and
# restore PostgreSQL backups, node the Settings page's Node.js examples (with the
# packages of tests/node). RUNLEVEL=1: the packages' services are not started.
tools: $(NODE_MODULES)

debian-tools:
	@missing=""; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v pg_dump >/dev/null || missing="$$missing postgresql-client"; \
	command -v nginx >/dev/null || missing="$$missing nginx"; \
	command -v caddy >/dev/null || missing="$$missing caddy"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	else \
		echo "Missing:$$missing (sudo apt-get install$$missing)"; \
	fi

$(NODE_MODULES): tests/node/package.json tests/node/package-lock.json | debian-tools
	npm ci --prefix tests/node --no-audit --no-fund
	touch $@

# Start PostgreSQL and Redis only when they do not answer; never restart them.
services:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		echo "Starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start \
			|| echo "Could not start PostgreSQL; its tests will be skipped (or fail under CI)."; \
	fi
	@if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
		echo "Starting Redis"; \
		mkdir -p /var/lib/redis /var/log/redis; \
		$(REDIS_START) || echo "Could not start Redis."; \
		for _ in $$(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info tests/node/node_modules
