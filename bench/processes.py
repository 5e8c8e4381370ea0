"""Child processes with bounded waits and guaranteed cleanup.

Every process the benchmark starts goes through Child: it runs in its own process group (so a shell's or
qemu-img's helpers die with it), its output goes to files (so a chatty server can never block on a full
pipe), every wait has a deadline, and whatever is still alive when the benchmark ends, normally or not, is
killed by id. CPU time comes from wait4(), per process (all its threads).
"""
import atexit
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass

_live = {}  # pid -> Child, for the cleanup at exit


class BenchError(Exception):
    """A measurement that could not be taken; the message says which process and why."""


@dataclass
class Exit:
    status: int          # exit code, or -signal
    cpu_seconds: float   # user + system
    wall_seconds: float  # from spawn to exit, as the driver saw it
    stdout: str
    stderr: str


class Child:
    def __init__(self, name, argv, log_dir, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self._out_path = os.path.join(log_dir, f"{name}.out")
        self._err_path = os.path.join(log_dir, f"{name}.err")
        with open(self._out_path, "wb") as out, open(self._err_path, "wb") as err:
            self._started = time.monotonic()
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                          start_new_session=True, env=env)
        self.pid = self._proc.pid
        self._pidfd = os.pidfd_open(self.pid)
        self.exit = None
        _live[self.pid] = self

    @property
    def stderr_path(self):
        """Where the child's standard error goes: a server's log, growing while it runs."""
        return self._err_path

    def wait(self, timeout):
        """Waits at most `timeout` seconds; on expiry kills the child's group and raises."""
        if self.exit is None:
            ready, _, _ = select.select([self._pidfd], [], [], max(timeout, 0))
            if not ready:
                self.kill()
                raise BenchError(f"{self.name} did not finish within {timeout:.0f} s: {' '.join(self.argv)}")
            self._reap()
        return self.exit

    def has_exited(self):
        return self.exit is not None or bool(select.select([self._pidfd], [], [], 0)[0])

    def stop(self, timeout=10):
        """SIGTERM, as a user would stop a server; SIGKILL and an error if it does not go in time."""
        if self.exit is None:
            self._signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait_ok(self, timeout):
        exit = self.wait(timeout)
        if exit.status != 0:
            raise BenchError(f"{self.name} exited with status {exit.status}: {exit.stderr.strip()[-2000:]}")
        return exit

    def peak_rss_kib(self):
        """The high-water mark of the running process's memory (VmHWM). wait4()'s ru_maxrss would not do: it
        also counts the forked copy of this Python process before exec, a floor of some 25 MiB."""
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError as error:
            raise BenchError(f"{self.name} is gone before its memory could be read: {error}") from error
        raise BenchError(f"{self.name}: no VmHWM in /proc/{self.pid}/status")

    def kill(self):
        if self.exit is None:
            self._signal(signal.SIGKILL)
            self._reap()

    def _signal(self, number):
        try:
            os.killpg(self.pid, number)
        except ProcessLookupError:
            pass

    def _reap(self):
        _, status, usage = os.wait4(self.pid, 0)
        wall = time.monotonic() - self._started
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        os.close(self._pidfd)
        _live.pop(self.pid, None)
        with open(self._out_path, errors="replace") as out, open(self._err_path, errors="replace") as err:
            self.exit = Exit(self._proc.returncode, usage.ru_utime + usage.ru_stime, wall,
                             out.read(), err.read())


def kill_all():
    """Kills every child still alive, by its own process group id; used at exit and on a signal."""
    for child in list(_live.values()):
        child.kill()


def parse_figures(line_output):
    """The key=value line nbd-bench prints, as a dict of numbers (the first word is the operation)."""
    lines = [line for line in line_output.splitlines() if "=" in line]
    if not lines:
        raise BenchError(f"no figures in output: {line_output!r}")
    return {key: float(value) for key, value in (pair.split("=", 1) for pair in lines[-1].split()[1:])}


def wait_for_file(path, server, timeout=10):
    """A server is ready once its pidfile exists: nbdkit and nbd-streaming write it after listening."""
    deadline = time.monotonic() + timeout
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if server.has_exited():
            server.wait(1)
            raise BenchError(f"{server.name} exited before it was ready: {server.exit.stderr.strip()[-2000:]}")
        if time.monotonic() > deadline:
            raise BenchError(f"{server.name} was not ready within {timeout} s")
        time.sleep(0.002)


def _on_signal(number, _frame):
    raise SystemExit(128 + number)


def install_cleanup():
    atexit.register(kill_all)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _on_signal)
