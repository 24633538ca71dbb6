"""Is a TCP port free, and which process listens on it (for ``check`` and ``serve``).

``listener`` reads Linux's ``/proc/net/tcp{,6}`` and each process's open sockets; it
sees every process when run as root or as the listener's user, and answers None
elsewhere (other systems, or a process it may not look into).

Example::

    port_free("127.0.0.1", 7860)   # False
    listener(7860)                 # Listener(pid=4242, name="python3")
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"  # TCP state in /proc/net/tcp


@dataclass(frozen=True)
class Listener:
    pid: int
    name: str

    def describe(self) -> str:
        return f"{self.name} (pid {self.pid})"


def port_free(host: str, port: int) -> bool:
    """Whether ``host``:``port`` can be bound now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == LISTEN and int(parts[1].rsplit(":", 1)[1],
                                                              16) == port:
                inodes.add(parts[9])
    return inodes


def listener(port: int) -> Listener | None:
    """The process listening on TCP ``port`` (any address), if this system says."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in fds):
                name = Path(f"/proc/{pid}/comm").read_text().strip()
                return Listener(int(pid), name)
        except OSError:
            continue
    return None
