"""Run ``lstmkit serve``: check where it may listen, build the application, hand it to uvicorn."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

import torch

from .app import ServeSettings, create_app, settings_dict

__all__ = ["ServeJobConfig", "check_exposure", "serve"]

log = logging.getLogger("lstmkit.serve")


@dataclass(frozen=True)
class ServeJobConfig:
    """Where to listen (``host``, ``port``), what to serve (``settings``) and the torch
    ``threads`` every request shares (the server is one process: its requests take turns on
    them)."""

    settings: ServeSettings
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 1


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """A host other than the loopback needs a token: anyone who reaches it could run the models."""
    if not _loopback(host) and not token:
        raise ValueError(
            f"--host: {host!r} is reachable from other machines; give --token (a bearer token) too"
        )
    if token is not None and len(token) < 16:
        raise ValueError(f"--token: expected at least 16 characters, got {len(token)}")


def serve(config: ServeJobConfig) -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn

    check_exposure(config.host, config.settings.token)
    if not 0 < config.port < 65536:
        raise ValueError(f"--port: expected 1..65535, got {config.port}")
    if config.threads < 1:
        raise ValueError(f"--threads: expected an int >= 1, got {config.threads}")
    torch.set_num_threads(config.threads)
    app = create_app(config.settings)
    log.info(
        "serving %s on http://%s:%d (docs at /docs)", settings_dict(config.settings), config.host, config.port
    )
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
