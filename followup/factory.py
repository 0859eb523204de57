"""The Flask application: its extensions, blueprints, error pages and commands.

`create_app()` is what `app.py` (the WSGI entry), `worker.py` and the tests call.
"""

from flask import Flask

import followup.models  # noqa: F401  (every model registered before migrations look)
from followup import metrics
from followup.cli import register_cli
from followup.config import Config
from followup.extensions import (
    babel,
    check_idle_connections,
    compress,
    csrf,
    db,
    htmx_ext,
    keep_pooled_connections,
    limiter,
    login_manager,
    mail,
    migrate,
)
from followup.services import report_rollups
from followup.web.admin import bp as admin_bp
from followup.web.api import bp as api_bp
from followup.web.auth import bp as auth_bp
from followup.web.customer_login import bp as customer_login_bp
from followup.web.errors import register_error_handlers
from followup.web.health import bp as health_bp
from followup.web.hooks import bp as hooks_bp
from followup.web.locale import request_locale
from followup.web.metrics import bp as metrics_bp
from followup.web.proxies import trust_proxies
from followup.web.request_log import install_request_log
from followup.web.requests import install_input_rule
from followup.web.satisfaction import bp as satisfaction_bp
from followup.web.static_files import install_static_files
from followup.web.templating import register_template_helpers
from followup.web.widget import bp as widget_bp
from followup.web.widget_api import bp as widget_api_bp


def create_app(config: type[Config] | dict | None = None) -> Flask:
    app = Flask(
        "followup",  # the package: its name for logs, its folder for the paths below
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    _init_extensions(app)
    install_request_log(app)
    install_input_rule(app)
    _register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    install_static_files(app)
    trust_proxies(app)
    register_cli(app)
    metrics.observe_requests(app)
    report_rollups.watch_followup_changes()
    return app


def _init_extensions(app: Flask) -> None:
    keep_pooled_connections(app)
    db.init_app(app)
    with app.app_context():
        check_idle_connections(db.engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    htmx_ext.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    # The catalogues (translations/<lang>/LC_MESSAGES) are compiled by `make install`.
    babel.init_app(
        app, default_translation_directories="../translations", locale_selector=request_locale
    )


def _register_blueprints(app: Flask) -> None:
    blueprints = (
        auth_bp,
        admin_bp,
        api_bp,
        health_bp,
        widget_bp,
        widget_api_bp,
        customer_login_bp,
        satisfaction_bp,
        hooks_bp,
        metrics_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    # Authenticated by bearer tokens or provider signatures, never by cookies: there
    # is nothing to forge.
    for blueprint in (api_bp, widget_bp, widget_api_bp, hooks_bp, metrics_bp):
        csrf.exempt(blueprint)
