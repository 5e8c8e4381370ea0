"""The throughput targets, checked against one run's rows: (what, measured text, goal text, met or not)."""
from plan import BASELINE, COPY, NULL, READER, SAME_TLS, SPLICE, STREAMING, TLS_SHAPE, WRITER, pipe_name
from summary import find


def check(rows, extras):
    results = []

    def ratio(group, shape, contestant, peer, goal, what):
        row = find(rows, group, shape, contestant)
        if row is None:
            return  # not measured in this run (bench/run.py --only)
        value = row.ratios.get(peer)
        results.append((what, _x(value), f"≥ {goal:.2f}x", value is not None and value >= goal))

    for splice in (COPY, SPLICE):
        writer = f"{STREAMING}, {READER[splice]} reader"
        pipe = f"bare pipe {pipe_name(COPY, splice)}"
        ratio("write", "64 KiB x1", writer, NULL, 0.66, f"write 64 KiB x1, {READER[splice]} reader: × null")
        ratio("write", "1 MiB x16", writer, NULL, 0.28, f"write 1 MiB x16, {READER[splice]} reader: × null")
        ratio("write", "64 KiB x1", writer, pipe, 0.9, f"write 64 KiB x1: × {pipe}")
        ratio("write", "1 MiB x16", writer, pipe, 0.9, f"write 1 MiB x16: × {pipe}")
        ratio("write", "4 KiB x1", writer, NULL, 0.58, f"write 4 KiB x1, {READER[splice]} reader: requests/s × null")
        ratio("write", "4 KiB x64", writer, NULL, 1.0, f"write 4 KiB x64, {READER[splice]} reader: requests/s × null")
    for splice in (COPY, SPLICE):
        reader = f"{STREAMING}, {WRITER[splice]} feeder"
        pipe = f"bare pipe {pipe_name(splice, COPY)}"
        for shape in ("64 KiB x1", "1 MiB x16"):
            ratio("read", shape, reader, pipe, 0.9, f"read {shape}: × {pipe}")
    ratio("tls", f"write {TLS_SHAPE.label}", f"{STREAMING}, PSK", SAME_TLS, 1.0,
          f"TLS PSK write {TLS_SHAPE.label}: × nbdkit null with the same TLS")
    # A change must not make any shape slower than the baseline it was measured beside.
    for row in rows:
        if BASELINE in row.ratios:
            ratio(row.group, row.shape, row.contestant, BASELINE, 1.0,
                  f"{row.group} {row.shape}, {row.contestant.removeprefix(STREAMING + ', ')}: × {BASELINE}")
    rss = extras.get("rss")
    if rss:
        results.append((f"peak RSS, {rss['bytes'] >> 30 or rss['bytes'] >> 20}"
                        f" {'GiB' if rss['bytes'] >> 30 else 'MiB'} stream, 32 MiB x4",
                        f"{rss['mib']:.1f} MiB", "≤ 48 MiB", rss["mib"] <= 48))
    startup = extras.get("startup_ms", {}).get(STREAMING)
    if startup:
        results.append(("`--run true` start-up (median)", f"{startup[0]:.1f} ms", "< 30 ms", startup[0] < 30))
    return results


def _x(value):
    return "—" if value is None else f"{value:.2f}x"
