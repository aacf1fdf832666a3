"""One delivery attempt: resolve the subscription's host, refuse what it may not reach,
POST the body to the address checked (never resolved twice: no DNS rebinding between the
check and the connection), and read the status.

Private, loopback, link-local, multicast, reserved and unspecified addresses are refused
unless the subscription says ``allow_private: true``: a subscription must not become a way
to reach the registry's own network (request forgery). Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import urllib3

from registry.events.rules import Result

USER_AGENT = "consign-registry-webhooks"
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden(address: str) -> bool:
    """An address a subscription reaches only with ``allow_private``."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the backoff decides


class Sender:
    """POSTs with a timeout (connect and read, ``timeout`` seconds each)."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        resolver: Resolver = resolve,
        ca_file: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.resolver = resolver
        self._tls = ssl.create_default_context(cafile=ca_file or None)

    def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, allow_private: bool
    ) -> Result:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as e:
            return Result(error=f"connection: cannot resolve {host}: {e}")
        if not addresses:
            return Result(error=f"connection: {host} has no address")
        if not allow_private:
            bad = [a for a in addresses if forbidden(a)]
            if bad:
                return Result(
                    error=f"refused: {host} resolves to {bad[0]}, a private address "
                    "(allow_private: true in the webhooks file allows it)",
                    refused=True,
                )
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        all_headers = {
            "Host": parts.netloc.rpartition("@")[2],
            "User-Agent": USER_AGENT,
            **headers,
        }
        address = addresses[0]
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                ssl_context=self._tls,
                server_hostname=host,
                assert_hostname=host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        try:
            response = pool.urlopen(
                "POST",
                target,
                body=body,
                headers=all_headers,
                redirect=False,
                preload_content=True,
                assert_same_host=False,
            )
        except urllib3.exceptions.NewConnectionError as e:  # a TimeoutError subclass in urllib3 2
            return Result(error=f"connection: {e}")
        except (urllib3.exceptions.TimeoutError, TimeoutError) as e:
            return Result(error=f"timeout: no answer in {self.timeout:g}s ({type(e).__name__})")
        except (urllib3.exceptions.HTTPError, OSError) as e:
            return Result(error=f"connection: {e}")
        finally:
            pool.close()
        return Result(
            status=response.status, retry_after=_retry_after(response.headers.get("Retry-After"))
        )
