"""Web settings: read from UPTAKE_* environment variables (or given in code to ``create_app``).

=============================  ===================================================================  ==========
environment variable           meaning                                                              default
=============================  ===================================================================  ==========
UPTAKE_MAX_BODY_BYTES          largest request body; a larger one answers 413 before it is read     2097152
                               (Content-Length checked first, streamed bodies counted as they       (2 MiB)
                               arrive). No route takes uploads, so one limit serves them all
UPTAKE_TRUSTED_PROXIES         comma-separated addresses or networks of reverse proxies whose       none
                               X-Forwarded-For and X-Forwarded-Proto are believed; with none, the
                               client is the socket peer
UPTAKE_SESSION_LIFETIME        seconds a sign-in lasts, however active                              28800 (8h)
UPTAKE_SESSION_IDLE_TIMEOUT    seconds without a request after which a sign-in ends                 3600 (1 h)
UPTAKE_SESSION_REFRESH_AFTER   seconds between re-issues of an active session's cookie (its idle    60
                               clock); 0 re-issues it on every request
UPTAKE_MIGRATE_ON_START        migrate the workflow database at start-up instead of refusing to     false
                               start when it is behind the code's migrations
UPTAKE_EDGE_CACHE              answer repeated anonymous GETs of public pages and API answers       true
                               before the middlewares and routing (uptake.web.edge); false sends
                               every request the full path (the load benchmark's baseline)
UPTAKE_CACHE_MB                megabytes of built pages and API answers kept for anonymous          256
                               visitors (per server process); while a new snapshot is being
                               prerendered, its answers get as much again beside the old one's
UPTAKE_PRERENDER_SECONDS       when a compute publishes new results, how long the server may spend  900
                               building the most requested anonymous pages and answers of the new
                               snapshot before it switches to it (the old one is served meanwhile);
                               0 switches at once and builds each page on its first request
UPTAKE_PRERENDER_MAX           at most this many of them, the most requested first                  3000
=============================  ===================================================================  ==========
"""

from __future__ import annotations

import ipaddress
from functools import cached_property

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UPTAKE_", extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    #: "127.0.0.1" or "10.0.0.0/8, ::1": kept as text so the environment variable can be a plain list
    trusted_proxies: str = ""
    session_lifetime: int = Field(default=8 * 3600, ge=1)
    session_idle_timeout: int = Field(default=3600, ge=1)
    session_refresh_after: int = Field(default=60, ge=0)
    migrate_on_start: bool = False
    edge_cache: bool = True
    cache_mb: int = Field(default=256, ge=1)
    prerender_seconds: float = Field(default=900.0, ge=0)
    prerender_max: int = Field(default=3000, ge=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> str:
        if isinstance(value, (list, tuple, set)):
            value = ",".join(str(v) for v in value)
        text = str(value or "")
        for item in _items(text):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"UPTAKE_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                                 "(e.g. 127.0.0.1 or 10.0.0.0/8)") from None
        return text.strip()

    @model_validator(mode="after")
    def _idle_within_lifetime(self) -> "WebSettings":
        if self.session_idle_timeout > self.session_lifetime:
            object.__setattr__(self, "session_idle_timeout", self.session_lifetime)
        return self

    @cached_property
    def proxy_networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in _items(self.trusted_proxies))


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.replace(" ", ",").split(",") if item.strip()]
