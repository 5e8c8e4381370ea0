"""What is measured: the shapes and contestants, as a list of cases the driver runs every round.

A case knows which rows it is compared with: the nbdkit `null` and `memory` runs of the same shape, and the
bare pipe with the same reader (write mode) or the same writer (read mode).
"""
from dataclasses import dataclass
from typing import Callable, Optional

from lab import MIB, Shape

TLS_SHAPE = Shape(MIB, 16)
TLS_KINDS = ("PSK", "X.509")
WRITE_SHAPES = [Shape(4096, 1), Shape(64 * 1024, 1), Shape(MIB, 16), Shape(4096, 64), Shape(32 * MIB, 4)]
READ_SHAPES = [Shape(64 * 1024, 1), Shape(MIB, 16)]

# The ends of a pipe, by what they do with the bytes.
COPY, SPLICE = False, True
READER = {COPY: "read()", SPLICE: "splice"}
WRITER = {COPY: "write()", SPLICE: "vmsplice"}
STREAMING = "nbd-streaming"
BASELINE = "baseline nbd-streaming"
NULL = "nbdkit null"
MEMORY = "nbdkit memory"
BARE_PIPE = "bare pipe"
PLAINTEXT = "plaintext"
SAME_TLS = "nbdkit null, same TLS"


def pipe_name(feed_splice, drain_splice):
    return f"{WRITER[feed_splice]} → {READER[drain_splice]}"


@dataclass
class Case:
    group: str                      # "write", "read", "copy" or "pipe": one table each
    shape: str
    contestant: str
    run: Callable                   # () -> lab.Sample
    pipe_reference: Optional[str]   # the bare-pipe contestant it is compared with
    has_floor: bool = False         # compared with nbdkit null and memory of the same shape
    baseline: Optional[str] = None  # the baseline contestant of the same shape it is compared with
    peers: tuple = ()               # further (ratio name, case key) comparisons

    @property
    def key(self):
        return (self.group, self.shape, self.contestant)


def cases(lab, stream_bytes, image, image_bytes):
    """With `lab.baseline` (another nbd-streaming binary), it runs the read() reader and write() feeder shapes
    too, and every such row of the measured server is compared with it."""
    result = []
    for direction, shapes, ends, pipe in (("write", WRITE_SHAPES, READER, lambda s: pipe_name(COPY, s)),
                                          ("read", READ_SHAPES, WRITER, lambda s: pipe_name(s, COPY))):
        role = "reader" if direction == "write" else "feeder"
        before = f"{BASELINE}, {ends[COPY]} {role}" if lab.baseline else None
        for shape in shapes:
            for splice in (COPY, SPLICE):
                result.append(Case(direction, shape.label, f"{STREAMING}, {ends[splice]} {role}",
                                   _bind(lab.nbd, "streaming", stream_bytes, shape, direction, splice),
                                   pipe(splice), has_floor=True, baseline=None if splice else before))
            if before:
                result.append(Case(direction, shape.label, before,
                                   _bind(lab.nbd, "streaming", stream_bytes, shape, direction, COPY, lab.baseline),
                                   pipe(COPY), has_floor=True))
            result += _floor_cases(lab, direction, shape, stream_bytes)
    for feed_splice in (COPY, SPLICE):
        for drain_splice in (COPY, SPLICE):
            result.append(Case("pipe", BARE_PIPE, pipe_name(feed_splice, drain_splice),
                               _bind(lab.bare_pipe, stream_bytes, feed_splice, drain_splice), None))
    result += tls_cases(lab, stream_bytes)
    for direction in ("write", "read"):
        for tool in ("qemu-img", "nbdcopy"):
            result.append(Case("copy", f"image, {direction} mode", "qemu-img convert" if tool == "qemu-img" else tool,
                               _bind(lab.copy_tool, tool, image, image_bytes, direction),
                               pipe_name(COPY, COPY)))
    return result


def tls_cases(lab, stream_bytes):
    """The same client through TLS (PSK and X.509) and in plaintext, against nbd-streaming and nbdkit null, each
    TLS row compared with nbdkit null under the same credentials and with the same server in plaintext."""
    result = []
    for direction in ("write", "read"):
        shape = f"{direction} {TLS_SHAPE.label}"
        for server, name in (("streaming", STREAMING), ("null", NULL)):
            for tls in (None,) + TLS_KINDS:
                contestant = f"{name}, {tls or PLAINTEXT}"
                peers = () if tls is None else ((PLAINTEXT, ("tls", shape, f"{name}, {PLAINTEXT}")),)
                if tls and server == "streaming":
                    peers += ((SAME_TLS, ("tls", shape, f"{NULL}, {tls}")),)
                result.append(Case("tls", shape, contestant,
                                   _bind(lab.nbd, server, stream_bytes, TLS_SHAPE, direction, COPY, None, tls),
                                   None, peers=peers))
    return result


def _floor_cases(lab, direction, shape, stream_bytes):
    return [Case(direction, shape.label, f"nbdkit {plugin}", _bind(lab.nbd, plugin, stream_bytes, shape, direction),
                 None) for plugin in ("null", "memory")]


def _bind(function, *args):
    return lambda: function(*args)
