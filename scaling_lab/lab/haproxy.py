"""HAProxy (Debian ``haproxy`` 2.6) in front of lab servers: routing policies, health checks, stickiness.

``haproxy -db -f haproxy.cfg`` stays in the foreground, so the child's PID is
the balancer's.  The configuration is written into the component's temporary
directory; the stats socket there answers ``show stat`` (per-server sessions,
status, health-check results) through :meth:`HAProxy.stats`.

Policies (HAProxy's ``balance``): ``roundrobin``; ``leastconn`` (fewest
connections in progress: join the shortest queue as the balancer sees it);
``random(2)`` (the better of two random servers, Mitzenmacher's power of two
choices); ``random(1)`` (one random server).  A bare ``random`` is *not* one
choice: its ``<draws>`` defaults to 2 (Configuration Manual §4.2), so it is
``random(2)``.  The draws are with replacement, so with four servers one
choice in four draws the same server twice and acts as one random pick.
HAProxy draws random servers from a consistent-hash ring: at ``weight 1`` four servers measured 17–30 % shares
each, so every server gets ``weight 256`` (24.5–25.6 %) unless told otherwise.

Stickiness (``sticky=True``): ``cookie SRV insert indirect nocache`` and
``cookie s<i>`` per server.  A request without a valid ``SRV`` cookie is routed
by ``balance`` and its answer carries ``Set-Cookie: SRV=s<i>``; a request with
one goes to that server, whatever the policy.  ``server_header=True`` adds
``X-Server: s<i>`` to every answer (the server that answered, for per-server
counts).  ``redispatch=True`` (``option redispatch``) sends a request whose
server refuses it to another server on the last retry, instead of answering
503; :meth:`HAProxy.set_server_port` points a server at a restarted process.

References
----------
HAProxy 2.6 Configuration Manual, §4.2 ``balance``, §5.2 ``check``/``inter``/``fall``/``rise``,
§9.3 stats socket ``show stat``.  M. Mitzenmacher, *The power of two choices in
randomized load balancing*, IEEE TPDS 12 (2001).
"""

from __future__ import annotations

import csv
import io
import shutil
import socket

from ._checks import check_choice, check_integer, check_positive
from .process import LAB_HOST, Component, realtime_prefix

__all__ = ["HAProxy", "BALANCE_POLICIES"]

BALANCE_POLICIES = ("roundrobin", "leastconn", "random(2)", "random(1)", "random")


class HAProxy(Component):
    """HAProxy on a free port, routing HTTP to ``backends`` (ports on 127.0.0.1).

    Parameters
    ----------
    backends : sequence of int
        Ports of the servers behind it, at least one.
    balance : str
        One of :data:`BALANCE_POLICIES`.
    health_check : bool
        ``option httpchk GET /health`` with ``inter``, ``fall``, ``rise``.
    inter_s : float
        Seconds between health checks of one server.
    fall, rise : int
        Failed checks before a server is marked down; passed checks before it is up again.
    sticky : bool
        Cookie stickiness (``cookie SRV insert indirect nocache``).
    weight : int
        Weight of every server, 1–256.
    server_header : bool
        Add ``X-Server: s<i>`` (the answering server's name) to every answer.
    redispatch : bool
        ``option redispatch``: the last retry of a refused request goes to another server.
    maxconn : int
        Connections HAProxy accepts at once.
    """

    name = "haproxy"
    binary = "haproxy"

    def __init__(self, backends, *, balance: str = "roundrobin", health_check: bool = False, inter_s: float = 1.0,
                 fall: int = 3, rise: int = 2, sticky: bool = False, weight: int = 256, maxconn: int = 4096,
                 timeout_s: float = 30.0, realtime: bool = True, server_header: bool = False, redispatch: bool = False):
        self.backends = [check_integer(p, "backends", minimum=1) for p in backends]
        if not self.backends:
            raise ValueError("backends must list at least one port, got []")
        self.balance = check_choice(balance, "balance", BALANCE_POLICIES)
        self.health_check = bool(health_check)
        self.inter_s = check_positive(inter_s, "inter_s")
        self.fall = check_integer(fall, "fall", minimum=1)
        self.rise = check_integer(rise, "rise", minimum=1)
        self.sticky = bool(sticky)
        self.server_header = bool(server_header)
        self.redispatch = bool(redispatch)
        self.weight = check_integer(weight, "weight", minimum=1)
        if self.weight > 256:
            raise ValueError(f"weight must be in [1, 256], got {weight!r}")
        self.maxconn = check_integer(maxconn, "maxconn", minimum=1)
        self.timeout_s = check_positive(timeout_s, "timeout_s")
        super().__init__(realtime=realtime)

    @property
    def url(self) -> str:
        return f"http://{LAB_HOST}:{self.port}/work"

    @property
    def stats_socket(self) -> str:
        """The admin socket's path (in the component's directory once started)."""
        return str(self.dir / "stats.sock") if self.dir is not None else "stats.sock"

    def config_text(self) -> str:
        """The ``haproxy.cfg`` this component runs."""
        ms = int(self.timeout_s * 1000)
        lines = ["global", f"  maxconn {self.maxconn}", f"  stats socket {self.stats_socket} mode 600 level admin",
                 "defaults", "  mode http", f"  timeout connect {ms}ms", f"  timeout client {ms}ms",
                 f"  timeout server {ms}ms", "  option http-keep-alive",
                 "frontend lab", f"  bind {LAB_HOST}:{self.port}", "  default_backend servers",
                 "backend servers", f"  balance {self.balance}"]
        if self.health_check:
            lines.append("  option httpchk GET /health")
        if self.sticky:
            lines.append("  cookie SRV insert indirect nocache")
        if self.redispatch:
            lines.append("  option redispatch")
        if self.server_header:
            lines.append("  http-response set-header X-Server %[srv_name]")
        check = f" check inter {int(self.inter_s * 1000)}ms fall {self.fall} rise {self.rise}" if self.health_check else ""
        for i, port in enumerate(self.backends):
            cookie = f" cookie s{i}" if self.sticky else ""
            lines.append(f"  server s{i} {LAB_HOST}:{port} weight {self.weight}{check}{cookie}")
        return "\n".join(lines) + "\n"

    def _prepare(self) -> None:
        (self.dir / "haproxy.cfg").write_text(self.config_text())

    def _command(self) -> list[str]:
        exe = shutil.which(self.binary) or self.binary
        return realtime_prefix(self.realtime) + [exe, "-db", "-f", str(self.dir / "haproxy.cfg")]

    def command(self, text: str) -> str:
        """Send one command to the stats socket and return the answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.stats_socket)
            s.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def set_server_port(self, server: int, port: int) -> None:
        """Point server ``s<server>`` at ``127.0.0.1:port`` (a restarted backend), through the admin socket."""
        server = check_integer(server, "server", minimum=0, maximum=len(self.backends) - 1)
        port = check_integer(port, "port", minimum=1, maximum=65535)
        answer = self.command(f"set server servers/s{server} addr {LAB_HOST} port {port}")
        if "changed" not in answer and "no need to change" not in answer:
            raise RuntimeError(f"haproxy refused to move s{server} to port {port}: {answer.strip()}")
        self.backends[server] = port

    def stats(self) -> list[dict]:
        """``show stat`` per server of the backend: name, status, stot (sessions), check_status, …"""
        text = self.command("show stat").lstrip("# ")
        rows = list(csv.DictReader(io.StringIO(text)))
        return [r for r in rows if r.get("pxname") == "servers" and r.get("svname") not in ("FRONTEND", "BACKEND")]
