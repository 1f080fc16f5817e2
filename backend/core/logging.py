"""Request ids, one access-log line per request, and a filter that masks personal data."""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

access_logger = logging.getLogger("backend.access")

# Defence in depth: even if a value slips into a log message, these shapes are masked.
_REDACTIONS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[id-number]"),
    (re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), "[phone]"),
    (
        re.compile(
            r"(?i)(\b(?:access_token|token|session_key|password|secret|js_code|code)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"
        ),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    """Mask ID numbers, phone numbers, tokens and secrets in a log line."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message through redact()."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted output, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    """One stream handler on the root logger with the redacting filter (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in root.handlers:
        if getattr(handler, "_enrollment", False):
            return
    handler = logging.StreamHandler()
    handler._enrollment = True  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    # wechatpy logs request URLs that carry access tokens: keep it quiet.
    logging.getLogger("wechatpy").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    """Give each request an id and log one line for it: id, route, status, duration."""

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        valid = incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        g.request_id = incoming if valid else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        # The route pattern, never the concrete path: paths can carry identifiers.
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        access_logger.info(
            "request_id=%s method=%s route=%s status=%s duration_ms=%.1f",
            g.get("request_id", "-"),
            request.method,
            route,
            response.status_code,
            duration_ms,
        )
        return response
