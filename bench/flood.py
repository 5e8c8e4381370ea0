#!/usr/bin/env python3
"""Floods and faults, measured on the release build (docs/hardening.md quotes the report this prints):

  idle flood      3,000 clients that connect and never send a byte, or send their flags and then nothing,
                  reconnecting as soon as they are closed (bench/idleflood.py), over a Unix socket and over TCP;
                  meanwhile a legitimate libnbd client (nbd-bench) connects, writes 1 MiB and leaves, and the
                  pipe must hold exactly its bytes.
                  Figures: its handshake and write time, the server's CPU, peak RSS and log lines a second.
  descriptors     the server under `ulimit -n 20` with 40 idle clients, as in issue 12; and every descriptor
                  held by a client in transmission (which nothing displaces) with 40 more clients waiting.
                  Figures over 10 s: the server's CPU and log lines a second; then the time until a
                  legitimate client is served once a descriptor is freed.

    bench/flood.py               # builds the release binaries (as shipped), then runs everything (~3 minutes)
    bench/flood.py --no-build    # the binaries already in .build/release
    bench/flood.py --rounds 5 --clients 3000

Python 3 standard library only; run it alone on the machine (under flock -o /tmp/swift.lock here).
"""
import argparse
import os
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import environment  # noqa: E402
from processes import BenchError, Child, install_cleanup, parse_figures, wait_for_file  # noqa: E402
from run import build  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
TICKS = os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in .build/release")
    parser.add_argument("--rounds", type=int, default=5, help="legitimate clients per transport, each with a fresh server (5)")
    parser.add_argument("--clients", type=int, default=3000, help="idle clients in the flood (3000)")
    parser.add_argument("--window", type=float, default=10, help="seconds each descriptor scenario is watched (10)")
    args = parser.parse_args()
    install_cleanup()
    work = tempfile.mkdtemp(prefix="nbd-flood-")
    bin_dir = os.path.join(REPO, ".build", "release") if args.no_build else build(work, True)
    lab = FloodLab(os.path.join(bin_dir, "nbd-streaming"), os.path.join(bin_dir, "nbd-bench"), work)
    facts = environment.describe(lab.server)
    print(f"# Floods and faults, measured\n\n{facts['date']}; {facts['machine']}; {facts['system']}; "
          f"{facts['versions']['nbd-streaming']}; load average at the start {os.getloadavg()[0]:.2f}\n")
    print(f"## {args.clients} idle clients, reconnecting as they are closed\n")
    print("| flood | transport | legitimate client: handshake + 1 MiB write, median (max) | its process, start to exit, median (max) "
          "| bytes exact | server CPU | flood: connections made / s | server peak RSS | server log lines / s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for flags in (False, True):
        for transport in ("unix", "tcp"):
            print(lab.idle_flood(transport, args.clients, args.rounds, flags), flush=True)
    print("\n## Out of descriptors\n")
    print("| scenario | server CPU over the window | log lines in the window | legitimate client served after the freeing | "
          "bytes exact |")
    print("|---|---|---|---|---|")
    print(lab.ulimit_with_idle_clients(args.window), flush=True)
    print(lab.descriptors_held_in_transmission(args.window), flush=True)
    print(f"\nLoad average at the end {os.getloadavg()[0]:.2f}.")


class FloodLab:
    def __init__(self, server, bench, work):
        self.server, self.bench, self.work = server, bench, work
        self.runs = 0

    def directory(self):
        self.runs += 1
        path = os.path.join(self.work, f"run-{self.runs}")
        os.makedirs(path)
        return path

    def start_server(self, where, transport, extra=(), wrapper=()):
        """The server writing to a FIFO that a thread drains; returns it, its URI and its address."""
        fifo = os.path.join(where, "pipe")
        os.mkfifo(fifo)
        drained = PipeDrain(fifo)
        pidfile = os.path.join(where, "pid")
        if transport == "unix":
            address = os.path.join(where, "sock")
            listen, uri, target = ["-U", address], f"nbd+unix:///?socket={address}", ["--unix", address]
        else:
            port = free_port()
            address = ("127.0.0.1", port)
            listen, uri, target = ["-i", "127.0.0.1", "-p", str(port)], f"nbd://127.0.0.1:{port}/", ["--tcp", f"127.0.0.1:{port}"]
        server = Child("server", list(wrapper) + [self.server, "-f", "-P", pidfile] + listen + list(extra)
                       + [f"write={fifo}", "size=1G"], where)
        wait_for_file(pidfile, server)
        return server, drained, uri, target, address

    def legitimate_write(self, where, uri):
        """nbd-bench: connect, handshake, one 1 MiB WRITE, disconnect. Its figures and its process's wall time."""
        client = Child("client", [self.bench, "write", "--uri", uri, "--size", "1M", "--request-size", "1M"], where)
        exit = client.wait_ok(60)
        figures = parse_figures(exit.stdout)
        return figures["connect_seconds"] + figures["seconds"], exit.wall_seconds

    def idle_flood(self, transport, clients, rounds, flags):
        """With `flags`, each flood client answers the greeting with its flags before it idles."""
        times, walls, exact, cpu, rates, rss, log_rates = [], [], [], [], [], [], []
        for _ in range(rounds):
            where = self.directory()
            server, drained, uri, target, _ = self.start_server(where, transport)
            status = os.path.join(where, "flood.status")
            flood = Child("flood", [sys.executable, os.path.join(REPO, "bench", "idleflood.py"), "--count", str(clients),
                                    "--status", status] + target + (["--flags"] if flags else []), where)
            # Every client connected and the server closing them as fast as they come: the flood is at full strength.
            wait_until(lambda: flood_figures(status).get("connected", 0) >= clients * 0.99
                       and flood_figures(status).get("closed_by_server", 0) >= clients, 60, "the flood to reach full strength")
            before = Meter(server, status)
            seconds, wall = self.legitimate_write(where, uri)
            time.sleep(2)  # the flood goes on: two seconds more of CPU, reconnections and log to measure
            figures = before.since()
            flood.stop()
            server.stop()
            times.append(seconds)
            walls.append(wall)
            exact.append(drained.contents(30) == pattern(MIB))
            cpu.append(figures["cpu"])
            rates.append(figures["made_per_second"])
            log_rates.append(figures["log_per_second"])
            rss.append(figures["peak_rss_kib"])
        return (f"| {'flags, then idle' if flags else 'silent'} | {'Unix socket' if transport == 'unix' else 'TCP'} "
                f"| {ms(statistics.median(times))} ({ms(max(times))}) "
                f"| {ms(statistics.median(walls))} ({ms(max(walls))}) | {sum(exact)} of {rounds} "
                f"| {statistics.median(cpu):.0%} of a core | {statistics.median(rates):,.0f} "
                f"| {max(rss) / 1024:.1f} MiB | {statistics.median(log_rates):.2f} |")

    def ulimit_with_idle_clients(self, window):
        """Issue 12's case: `ulimit -n 20` and 40 clients that connect and say nothing."""
        where = self.directory()
        server, drained, uri, _, address = self.start_server(where, "unix", wrapper=["prlimit", "--nofile=20:20", "--"])
        idle = [connect(address) for _ in range(40)]
        time.sleep(1)  # the server works through its queue, ending the idlest handshakes to free descriptors
        meter = Meter(server)
        time.sleep(window)
        figures = meter.since()
        started = time.monotonic()
        self.legitimate_write(where, uri)
        served = time.monotonic() - started
        for sock in idle:
            sock.close()
        server.stop()
        return (f"| `ulimit -n 20`, 40 idle clients | {figures['cpu']:.1%} of a core | {figures['log_lines']} "
                f"({figures['log_per_second']:.2f} / s) | {ms(served)} (it takes the place of the idlest handshake) "
                f"| {'yes' if drained.contents(30) == pattern(MIB) else 'NO'} |")

    def descriptors_held_in_transmission(self, window):
        """Every descriptor the limit allows is a client in transmission: nothing can be displaced, accept fails."""
        where = self.directory()
        server, drained, uri, _, address = self.start_server(where, "unix", extra=["--max-connections", "100"],
                                                             wrapper=["prlimit", "--nofile=24:24", "--"])
        holders = []
        while True:
            sock = connect(address)
            if not negotiate_go(sock, timeout=1):
                waiting = sock  # no greeting: accept fails, the client waits in the kernel's queue
                break
            holders.append(sock)
        queued = [connect(address) for _ in range(40)]
        meter = Meter(server)
        time.sleep(window)
        figures = meter.since()
        served = {}

        def write():
            self.legitimate_write(where, uri)
            served["at"] = time.monotonic()

        client = threading.Thread(target=write, daemon=True)
        client.start()
        time.sleep(0.5)  # the client connects and waits in the queue, behind the others
        freed = time.monotonic()
        holders.pop().close()
        client.join(60)
        seconds = served["at"] - freed if "at" in served else None
        for sock in holders + queued + [waiting]:
            sock.close()
        server.stop()
        return (f"| all {len(holders) + 1} client descriptors in transmission, 41 clients queued | {figures['cpu']:.1%} of a core "
                f"| {figures['log_lines']} ({figures['log_per_second']:.2f} / s) "
                f"| {ms(seconds) if seconds is not None else 'not within 60 s'} (behind the 41 queued) "
                f"| {'yes' if drained.contents(30) == pattern(MIB) else 'NO'} |")


class Meter:
    """The server's CPU time, log lines, peak RSS, and the flood's connections, from a start to now."""

    def __init__(self, server, flood_status=None):
        self.server, self.flood_status = server, flood_status
        self.start = self.sample()

    def sample(self):
        with open(f"/proc/{self.server.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open(self.server.stderr_path, errors="replace") as log:
            lines = sum(1 for _ in log)
        made = flood_figures(self.flood_status).get("made", 0) if self.flood_status else 0
        return time.monotonic(), (int(fields[11]) + int(fields[12])) / TICKS, lines, made

    def since(self):
        now, cpu, lines, made = self.sample()
        wall = now - self.start[0]
        return {"cpu": (cpu - self.start[1]) / wall, "log_lines": lines - self.start[2],
                "log_per_second": (lines - self.start[2]) / wall, "made_per_second": (made - self.start[3]) / wall,
                "peak_rss_kib": self.server.peak_rss_kib()}


class PipeDrain:
    """Reads the server's FIFO on a thread until end of file."""

    def __init__(self, path):
        self.bytes = bytearray()
        self.done = threading.Event()
        threading.Thread(target=self._drain, args=(path,), daemon=True).start()

    def _drain(self, path):
        with open(path, "rb", buffering=0) as fifo:
            while chunk := fifo.read(1 << 16):
                self.bytes += chunk
        self.done.set()

    def contents(self, timeout):
        if not self.done.wait(timeout):
            raise BenchError("the pipe did not reach end of file")
        return bytes(self.bytes)


def pattern(count):
    """What nbd-bench writes with one request in flight: byte i is i * 31 + 1."""
    return bytes((i * 31 + 1) & 0xFF for i in range(count))


def connect(address):
    sock = socket.socket(socket.AF_UNIX if isinstance(address, str) else socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(address)
    return sock


def negotiate_go(sock, timeout):
    """Fixed newstyle handshake up to NBD_OPT_GO's ACK; False if the greeting does not come within `timeout`."""
    sock.settimeout(timeout)
    try:
        receive(sock, 18)
    except socket.timeout:
        return False
    sock.settimeout(10)
    sock.sendall(struct.pack(">I", 3) + b"IHAVEOPT" + struct.pack(">II", 7, 6) + bytes(6))
    while True:
        _magic, _option, kind, length = struct.unpack(">QIII", receive(sock, 20))
        receive(sock, length)
        if kind == 1:
            return True
        if kind & 0x80000000:
            raise BenchError(f"GO refused: {kind:#x}")


def receive(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise BenchError("the server closed the connection")
        data += chunk
    return data


def flood_figures(path):
    try:
        with open(path) as status:
            return {key: int(value) for key, value in (pair.split("=") for pair in status.read().split())}
    except OSError:
        return {}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


if __name__ == "__main__":
    main()
