"""Which proxies' X-Forwarded-* headers to believe (TRUSTED_PROXIES): the one place that
decides the client's address, which every per-address rate limit counts by.

Trusting nothing (the default) is right when clients reach gunicorn directly: then
anyone could write X-Forwarded-For. Behind a proxy, every request comes from the proxy's
address, so without this all clients share one budget.
"""

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from werkzeug.middleware.proxy_fix import ProxyFix

from followup.config import ConfigError

Networks = tuple[IPv4Network | IPv6Network, ...]

_ADVICE = (
    "give the number of proxies in front of the app (e.g. 1), or their addresses and "
    "networks separated by commas (e.g. 10.0.0.0/8,127.0.0.1), or leave it empty."
)


def parse_trusted_proxies(setting: str | int | None) -> int | Networks:
    """A count of proxy hops, or the networks proxies speak to us from (0: trust none)."""
    text = str(setting or "").strip()
    if text.isdigit():
        return int(text)
    if not text:
        return 0
    try:
        return tuple(ip_network(part.strip(), strict=False) for part in text.split(","))
    except ValueError:
        raise ConfigError(f'TRUSTED_PROXIES is "{text}": {_ADVICE}') from None


class TrustedProxies:
    """WSGI middleware: Werkzeug's ProxyFix with as many hops as are trusted.

    With a count, always that many. With networks, decided per request: none unless the
    peer is in them; then X-Forwarded-For is read from the right, and the client is the
    first address not in them (the leftmost, if every one is). The nearest proxy's
    X-Forwarded-Proto and X-Forwarded-Host are believed (one value each)."""

    def __init__(self, wsgi_app, trusted: int | Networks):
        self.wsgi_app = wsgi_app
        self.trusted = trusted
        self._fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ, start_response):
        hops = self._hops(environ)
        if hops == 0:
            return self.wsgi_app(environ, start_response)
        return self._fix(hops)(environ, start_response)

    def _fix(self, hops: int) -> ProxyFix:
        fix = self._fixes.get(hops)
        if fix is None:
            fix = self._fixes[hops] = ProxyFix(self.wsgi_app, x_for=hops, x_proto=1, x_host=1)
        return fix

    def _hops(self, environ) -> int:
        if isinstance(self.trusted, int):
            return self.trusted
        if not self._is_proxy(environ.get("REMOTE_ADDR", "")):
            return 0
        forwarded = [part.strip() for part in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = 1
        while hops < len(forwarded) and self._is_proxy(forwarded[-hops]):
            hops += 1
        return hops

    def _is_proxy(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.trusted)


def trust_proxies(app) -> None:
    """Install the middleware that TRUSTED_PROXIES asks for (none when it is empty)."""
    trusted = parse_trusted_proxies(app.config["TRUSTED_PROXIES"])
    if trusted:
        app.wsgi_app = TrustedProxies(app.wsgi_app, trusted)
