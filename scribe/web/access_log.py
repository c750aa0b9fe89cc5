"""How ``scribe serve`` runs uvicorn: an access log without query strings, and no trust in
``X-Forwarded-For`` by uvicorn itself (the app decides, from ``trusted_proxies``).

Query strings carry personal data (``/api/hearings?party=张三&q=<phone>``) and credentials
(a signed download link's ``sig=``); the access log is read by whoever runs the machine, so
each logged path is cut at ``?``. The same cut is applied to uvicorn's own messages, which name
WebSocket paths with their query.
"""

from __future__ import annotations

import copy
import logging
from typing import Any


def strip_query(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0]
    return value


class NoQueryStrings(logging.Filter):
    """Cuts every path argument of a log record at ``?``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: strip_query(v) for k, v in record.args.items()}
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging config, with ``NoQueryStrings`` on both of its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query_strings"] = {"()": f"{__name__}.NoQueryStrings"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("no_query_strings")
    return config


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` beside app, host and port."""
    return {
        "log_config": log_config(),
        # uvicorn would take X-Forwarded-For from 127.0.0.1 by default: anyone on the desk PC
        # could then pose as any address. The app reads it only from trusted_proxies.
        "proxy_headers": False,
        "server_header": False,
    }
