"""DICOM peers as the user types them: ``AET@HOST`` (allowed callers) and ``AET@HOST:PORT``."""

from __future__ import annotations

import socket
from dataclasses import dataclass


class PeerError(ValueError):
    """A peer written in a form RadSight cannot use."""


def _check_aet(aet: str, text: str) -> str:
    aet = aet.strip()
    if not aet or len(aet) > 16 or "\\" in aet or not aet.isprintable():
        raise PeerError(f"{text!r}: an AE title is 1 to 16 printable characters")
    return aet


@dataclass(frozen=True)
class AllowedPeer:
    """A caller the node accepts: its AE title, from this host."""

    ae_title: str
    host: str

    @classmethod
    def parse(cls, text: str) -> AllowedPeer:
        aet, at, host = text.rpartition("@")
        if not at or not host.strip():
            raise PeerError(f"{text!r}: write an allowed peer as AET@HOST")
        return cls(_check_aet(aet, text), host.strip())

    def addresses(self) -> set[str]:
        """The IP addresses of ``host`` (resolved once; a name that does not resolve matches nothing)."""
        try:
            return {info[4][0] for info in socket.getaddrinfo(self.host, None)}
        except OSError:
            return set()

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}"


@dataclass(frozen=True)
class RemoteNode:
    """A node RadSight calls: AE title, host and port."""

    ae_title: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> RemoteNode:
        aet, at, address = text.rpartition("@")
        host, colon, port = address.rpartition(":")
        if not at or not colon or not host.strip() or not port.isdigit() or not 0 < int(port) < 65536:
            raise PeerError(f"{text!r}: write a DICOM node as AET@HOST:PORT")
        return cls(_check_aet(aet, text), host.strip(), int(port))

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"
