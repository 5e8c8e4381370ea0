"""How one measurement is taken: which processes start, in which order, and which figures come back.

Each method starts everything a run needs, waits for it with a deadline, stops the server as a user would
(SIGTERM), checks that every byte arrived, and kills whatever is left even when something failed.
"""
import os
from dataclasses import dataclass

from processes import BenchError, Child, kill_all, parse_figures, wait_for_file

MIB = 1 << 20


@dataclass
class Sample:
    bytes: int
    seconds: float
    requests: int
    cpu_nbd: float         # server + client, CPU seconds
    cpu_pipe: float        # the pipe's other end(s); 0 when there is no pipe
    server_rss_kib: int    # 0 when there is no server

    @property
    def mib_per_s(self):
        return self.bytes / MIB / self.seconds

    @property
    def requests_per_s(self):
        return self.requests / self.seconds


@dataclass(frozen=True)
class Shape:
    request_size: int
    in_flight: int

    @property
    def label(self):
        size = f"{self.request_size // MIB} MiB" if self.request_size >= MIB else f"{self.request_size // 1024} KiB"
        return f"{size} x{self.in_flight}"


class Lab:
    def __init__(self, bench, server, work_dir, slowest_mib_per_s=4, baseline=None, keys=None):
        self.bench = bench
        self.keys = keys           # tlskeys.Keys for the TLS contestants, or None
        self.server = server
        self.baseline = baseline   # another nbd-streaming binary to compare with, or None
        self.work = work_dir
        self.logs = os.path.join(work_dir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.fifo = os.path.join(work_dir, "pipe")
        self.socket = os.path.join(work_dir, "nbd.sock")
        self.pidfile = os.path.join(work_dir, "server.pid")
        self.uri = f"nbd+unix:///?socket={self.socket}"
        self.slowest = slowest_mib_per_s

    def deadline(self, nbytes):
        """Seconds a run may take: generous for a slow contestant, but never unbounded."""
        return 60 + nbytes / MIB / self.slowest

    # The contestants ------------------------------------------------------------------------------------------

    def nbd(self, server, nbytes, shape, direction, pipe_splice=False, binary=None, tls=None):
        """nbd-bench's client against `server` ("streaming", "null" or "memory"); for "streaming" the pipe's
        other end is nbd-bench drain (write mode) or feed (read mode), copying or splicing, and `binary` may
        name another nbd-streaming than the one measured. `tls` ("PSK" or "X.509") makes the server require
        TLS and the client connect with an nbds+unix:// URI."""
        uri = self.keys.uri(tls, self.socket) if tls else self.uri
        client = [self.bench, direction, "--uri", uri, "--size", nbytes,
                  "--request-size", shape.request_size, "--in-flight", shape.in_flight]
        return self._through_server(server, nbytes, direction, client, pipe_splice, client_reports=True,
                                    binary=binary, tls=tls)

    def copy_tool(self, tool, image, nbytes, direction):
        """qemu-img or nbdcopy moving a whole image through nbd-streaming; timed by the driver, spawn to exit.
        Reads land in a null sink so the measurement is the stream, not a disk."""
        commands = {
            ("qemu-img", "write"): ["qemu-img", "convert", "-n", "-f", "raw", image, "-O", "raw", self.uri],
            ("nbdcopy", "write"): ["nbdcopy", image, self.uri],
            ("qemu-img", "read"): ["qemu-img", "convert", "-n", "-f", "raw", self.uri,
                                   "--target-image-opts", f"driver=null-co,size={nbytes}"],
            ("nbdcopy", "read"): ["nbdcopy", self.uri, "null:"],
        }
        return self._through_server("streaming", nbytes, direction, commands[(tool, direction)], False,
                                    client_reports=False)

    def bare_pipe(self, nbytes, feed_splice, drain_splice):
        """Producer, FIFO, consumer and no NBD at all: the most a pipe carries here. Timed by the consumer."""
        self._fresh_fifo()
        try:
            drain = self._drain(drain_splice)
            feed = self._feed(nbytes, feed_splice)
            fed = feed.wait_ok(self.deadline(nbytes))
            drained = drain.wait_ok(10)
            figures = self._checked(drained, nbytes, "drain")
            # The reader's system calls are no requests: the bare pipe has no request rate.
            return Sample(nbytes, figures["seconds"], 0, 0.0,
                          fed.cpu_seconds + drained.cpu_seconds, 0)
        finally:
            kill_all()

    def startup(self, argv):
        """Seconds from spawn to exit of a server that runs `--run true`, as the driver sees them."""
        try:
            return Child("startup", argv, self.logs).wait_ok(10).wall_seconds
        finally:
            kill_all()

    # The parts ------------------------------------------------------------------------------------------------

    def _through_server(self, server, nbytes, direction, client_argv, pipe_splice, client_reports, binary=None,
                        tls=None):
        self._fresh_fifo()
        for stale in (self.socket, self.pidfile):
            if os.path.exists(stale):
                os.unlink(stale)
        try:
            pipe_end = None
            if server == "streaming":
                # The pipe's other end starts first and waits in open(), as a user's reader would.
                pipe_end = self._drain(pipe_splice) if direction == "write" else self._feed(nbytes, pipe_splice)
            served = self._serve(server, nbytes, direction, binary, tls)
            client = Child("client", client_argv, self.logs).wait_ok(self.deadline(nbytes))
            peak_rss = served.peak_rss_kib()
            stopped = served.stop()
            pipe_exit = pipe_end.wait_ok(10) if pipe_end else None
            if pipe_exit and direction == "write":
                self._checked(pipe_exit, nbytes, "drain")
            if client_reports:
                figures = self._checked(client, nbytes, direction)
                seconds, requests = figures["seconds"], int(figures["requests"])
            else:
                seconds, requests = client.wall_seconds, 0
            return Sample(nbytes, seconds, requests, stopped.cpu_seconds + client.cpu_seconds,
                          pipe_exit.cpu_seconds if pipe_exit else 0.0, peak_rss)
        finally:
            kill_all()

    def _serve(self, server, nbytes, direction, binary=None, tls=None):
        listen = ["-f", "-U", self.socket, "-P", self.pidfile] + (self.keys.server_options(tls) if tls else [])
        if server == "streaming":
            argv = [binary or self.server, *listen, f"{direction}={self.fifo}", f"size={nbytes}"]
        else:
            argv = ["nbdkit", *listen, server, f"size={nbytes}"]
        child = Child("server", argv, self.logs)
        wait_for_file(self.pidfile, child)
        return child

    def _drain(self, splice):
        return Child("drain", [self.bench, "drain", self.fifo] + (["--splice"] if splice else []), self.logs)

    def _feed(self, nbytes, splice):
        return Child("feed", [self.bench, "feed", self.fifo, "--size", nbytes] + (["--splice"] if splice else []),
                     self.logs)

    def _fresh_fifo(self):
        """A new FIFO per run, so no byte of an earlier run can be read by a later one."""
        if os.path.exists(self.fifo):
            os.unlink(self.fifo)
        os.mkfifo(self.fifo, 0o600)

    @staticmethod
    def _checked(exit, nbytes, what):
        figures = parse_figures(exit.stdout)
        if int(figures["bytes"]) != nbytes:
            raise BenchError(f"{what} moved {int(figures['bytes'])} bytes, expected {nbytes}")
        return figures
