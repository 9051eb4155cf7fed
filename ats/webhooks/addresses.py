"""Where a webhook may be sent: https to public addresses only (no SSRF into the network the
app runs in), checked when a URL is given and again at every delivery, after DNS, on the very
address the delivery then connects to (so a name re-pointed between check and connect gains
nothing). WEBHOOK_ALLOW_PRIVATE_URLS also lets http and any address through (development,
tests: receivers on loopback)."""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PORTS = {"http": 80, "https": 443}


class RefusedAddress(Exception):
    """The URL may not be sent to: its scheme, or an address that is not public."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts, and the checked address to connect to."""

    scheme: str
    host: str  # as the URL names it (Host header, TLS server name)
    port: int
    address: IPAddress
    target: str  # path and query

    @property
    def url(self) -> str:
        """The URL with the checked address in place of the name (nothing left to resolve)."""
        address = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{address}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == PORTS[self.scheme] else f"{host}:{self.port}"


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address an IPv6 one carries (::ffff:10.0.0.1, 6to4, Teredo),
    which the network may route to."""
    found = [address]
    if address.version == 6:
        found += [inner for inner in (address.ipv4_mapped, address.sixtofour) if inner]
        if address.teredo:
            found += list(address.teredo)
    return found


def is_public(address: IPAddress) -> bool:
    """Globally reachable, by IANA's special-purpose registries: not loopback, private,
    link-local (169.254.169.254, the cloud metadata service, is), CGNAT, multicast, reserved,
    unspecified, documentation, nor a private address wrapped in IPv6."""
    return all(inner.is_global and not inner.is_multicast for inner in _embedded(address))


def _parts(url: str, allow_private: bool):
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 address, say
        raise RefusedAddress("The URL is not valid.") from None
    schemes = ("http", "https") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise RefusedAddress(f"The URL must be {' or '.join(schemes)}.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise RefusedAddress("The URL's port is not valid.") from None
    if not host:
        raise RefusedAddress("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("The URL must not carry a user name or password.")
    return parts, host, port or PORTS[parts.scheme]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedAddress(f"The host {host} does not resolve ({error}).") from None
    # an IPv6 answer may carry a zone (fe80::1%eth0): the address is what counts
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))


def _refused(host: str, address: IPAddress) -> RefusedAddress:
    shown = host if str(address) == host else f"{host} ({address})"
    return RefusedAddress(f"{shown} is not a public address.")


def check_url(url: str, allow_private: bool) -> None:
    """At creation and change: the scheme, and the host unless private addresses are allowed:
    a literal address must be public, `localhost` is refused, and a name must resolve, to
    public addresses only."""
    _, host, port = _parts(url, allow_private)
    if allow_private:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise RefusedAddress(f"{host} is not a public address.")
    for address in [literal] if (literal := _literal(host)) else _resolve(host, port):
        if not is_public(address):
            raise _refused(host, address)


def target_of(url: str, allow_private: bool) -> Target:
    """At delivery: the URL resolved now, every address it has checked (one private address
    among public ones refuses it all: the name is not trustworthy), the first one to connect to."""
    parts, host, port = _parts(url, allow_private)
    addresses = [literal] if (literal := _literal(host)) else _resolve(host, port)
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise _refused(host, address)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    return Target(parts.scheme, host, port, addresses[0], target)
