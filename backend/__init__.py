"""The enrollment platform's Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify

from backend.config import check_govdata, check_production, check_redis, load_settings

API_TITLE = "义务教育入学信息服务平台 API"
API_VERSION = "1.0.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding individual settings."""
    from backend import (  # noqa: F401 - models: every table
        accounts,
        admission,
        cli,
        models,
        notices,
        registrations,
        verification,
    )
    from backend.accounts.routes import bp as accounts_bp
    from backend.admission.routes import bp as admission_bp
    from backend.announcements.routes import bp as announcements_bp
    from backend.audit.routes import bp as audit_bp
    from backend.classes.routes import bp as classes_bp
    from backend.complaints.routes import bp as complaints_bp
    from backend.console.routes import bp as console_bp
    from backend.core import auth, errors, httpcache, pii, ratelimit
    from backend.core import logging as request_logging
    from backend.core.api import reject_control_characters
    from backend.core.db import db
    from backend.core.openapi import build_openapi
    from backend.core.redis import redis_store
    from backend.exports.routes import bp as exports_bp
    from backend.health.routes import bp as health_bp
    from backend.identity.routes import bp as identity_bp
    from backend.notices.routes import bp as notices_bp
    from backend.onsite.routes import bp as onsite_bp
    from backend.portal.routes import bp as portal_bp
    from backend.proxy.routes import bp as proxy_bp
    from backend.registrations.routes import bp as registrations_bp
    from backend.reviews.routes import bp as reviews_bp
    from backend.schools.admin_routes import bp as schools_admin_bp
    from backend.schools.routes import bp as schools_bp
    from backend.seasons.routes import bp as seasons_bp
    from backend.stats.routes import bp as stats_bp
    from backend.uploads.routes import bp as uploads_bp
    from backend.verification.routes import bp as verification_bp
    from backend.wechat.client import wechat
    from backend.worker.routes import bp as worker_bp

    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.config.update(load_settings())
    if config:
        app.config.update(config)
    check_production(app.config)
    check_redis(app.config)
    check_govdata(app.config)
    if app.config["TRUSTED_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind nginx the client address comes from X-Forwarded-For (login lock-out, audit).
        hops = int(app.config["TRUSTED_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    request_logging.configure_logging(app.config["LOG_LEVEL"])
    request_logging.init_app(app)
    errors.init_app(app)
    pii.init_app(app)
    auth.init_app(app)
    accounts.init_app(app)
    registrations.init_app(app)
    verification.init_app(app)
    admission.init_app(app)
    notices.init_app(app)
    app.before_request(reject_control_characters)
    db.init_app(app)
    redis_store.init_app(app)
    httpcache.init_app(app)
    wechat.init_app(app, redis_store.client, redis_store.prefix)
    ratelimit.init_app(app, redis_store.url, redis_store.prefix, redis_store.storage_options)
    cli.init_app(app)

    for blueprint in (health_bp, accounts_bp, seasons_bp, schools_bp, schools_admin_bp,
                      uploads_bp, identity_bp, audit_bp, registrations_bp, reviews_bp,
                      exports_bp, notices_bp, announcements_bp, complaints_bp, stats_bp,
                      admission_bp, onsite_bp, classes_bp, proxy_bp, worker_bp, console_bp,
                      portal_bp, verification_bp):
        app.register_blueprint(blueprint)

    @app.get("/api/v1/openapi.json")
    def openapi() -> Response:
        """The OpenAPI 3 document of this API."""
        return jsonify(build_openapi(app, title=API_TITLE, version=API_VERSION))

    return app
