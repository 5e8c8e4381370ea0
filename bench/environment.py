"""The facts a reader needs to judge the figures: machine, load, date and the versions of every contestant."""
import datetime
import os
import platform
import subprocess
import time


def _first_line(argv, pattern=""):
    """One line of a tool's version output; bounded, and 'not found' rather than a failed benchmark."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if pattern in line]
    return lines[0] if lines else "unknown"


def _proc_field(path, name):
    try:
        with open(path) as source:
            for line in source:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _os_name():
    try:
        with open("/etc/os-release") as source:
            for line in source:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def describe(server):
    # The checkout the server binary was built in (its .build lies inside it), which may not be this one.
    commit = _first_line(["git", "-C", os.path.dirname(os.path.realpath(server)), "describe", "--always", "--dirty"])
    memory_kib = _proc_field("/proc/meminfo", "MemTotal").split()[0]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{_proc_field('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores, "
                   f"{int(memory_kib) // (1 << 20)} GiB",
        "system": f"{_os_name()}, Linux {platform.release()}",
        "cores": os.cpu_count(),
        "versions": {
            "nbd-streaming": f"{_first_line([server, '--version'])} (commit {commit}, {server})",
            "Swift": _first_line(["swift", "--version"], "Swift version"),
            "nbdkit": _first_line(["nbdkit", "--version"]),
            "libnbd (client, nbdcopy)": _first_line(["nbdcopy", "--version"], "libnbd"),
            "qemu-img": _first_line(["qemu-img", "--version"]),
            "GnuTLS (psktool)": _first_line(["psktool", "--version"], "psktool"),
            "kernel TLS": _kernel_tls(),
            "Python": platform.python_version(),
        },
    }


def _kernel_tls():
    """Whether the kernel offers GnuTLS the `tls` upper-layer protocol; without it, TLS rows are encrypted in
    user space and the server copies payloads (it says which path served under -v)."""
    try:
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as source:
            layers = source.read().split()
    except OSError:
        return "unknown"
    return "offered (tls in tcp_available_ulp)" if "tls" in layers else \
        f"not offered (tcp_available_ulp: {' '.join(layers) or 'empty'}): records encrypted by GnuTLS, payloads copied"


class CompetitionMeter:
    """How much CPU processes other than the benchmark's used while it ran: the machine's busy time (/proc/stat)
    less this driver's and its children's. The load average cannot tell this, as the benchmark's own client,
    server and pipe end keep two or three tasks runnable."""

    def __init__(self):
        self._start = self._sample()

    @staticmethod
    def _sample():
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        own = os.times()
        return time.monotonic(), busy, own.user + own.system + own.children_user + own.children_system

    def others_share(self):
        """CPU used by others as a share of all cores' time since the start (0.0 to 1.0)."""
        wall, busy, own = (end - start for end, start in zip(self._sample(), self._start))
        return max(0.0, busy - own) / (wall * os.cpu_count()) if wall > 0 else 0.0
