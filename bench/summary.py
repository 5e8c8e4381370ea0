"""From the samples of all rounds to one row per case: medians, the server's peak RSS, and ratios to peers."""
from dataclasses import dataclass, field
from statistics import median
from typing import Optional

from plan import BASELINE, MEMORY, NULL


@dataclass
class Row:
    group: str
    shape: str
    contestant: str
    rounds: int
    mib_per_s: Optional[float] = None
    mib_range: Optional[tuple] = None   # (slowest, fastest) round: the spread behind the median
    requests_per_s: Optional[float] = None
    cpu_nbd: Optional[float] = None
    cpu_pipe: Optional[float] = None
    server_rss_mib: Optional[float] = None
    ratios: dict = field(default_factory=dict)   # peer name -> throughput ratio
    errors: list = field(default_factory=list)


def summarize(cases, samples, errors):
    """samples: case key -> [Sample]; errors: case key -> [message]. Ratios are of medians, same run."""
    rows = {}
    for case in cases:
        taken = samples.get(case.key, [])
        row = Row(case.group, case.shape, case.contestant, len(taken), errors=errors.get(case.key, []))
        if taken:
            row.mib_per_s = median(s.mib_per_s for s in taken)
            row.mib_range = (min(s.mib_per_s for s in taken), max(s.mib_per_s for s in taken))
            row.requests_per_s = median(s.requests_per_s for s in taken) if taken[0].requests else None
            row.cpu_nbd = median(s.cpu_nbd for s in taken) if taken[0].cpu_nbd else None
            row.cpu_pipe = median(s.cpu_pipe for s in taken) if taken[0].cpu_pipe else None
            row.server_rss_mib = max(s.server_rss_kib for s in taken) / 1024 if taken[0].server_rss_kib else None
        rows[case.key] = row
    for case in cases:
        row = rows[case.key]
        peers = []
        if case.has_floor:
            peers += [(NULL, (case.group, case.shape, NULL)), (MEMORY, (case.group, case.shape, MEMORY))]
        if case.baseline:
            peers.append((BASELINE, (case.group, case.shape, case.baseline)))
        peers += list(case.peers)
        if case.pipe_reference:
            peers.append((f"bare pipe {case.pipe_reference}", ("pipe", "bare pipe", case.pipe_reference)))
        for name, key in peers:
            peer = rows.get(key)
            if row.mib_per_s and peer and peer.mib_per_s:
                row.ratios[name] = row.mib_per_s / peer.mib_per_s
    return list(rows.values())


def find(rows, group, shape, contestant):
    return next((r for r in rows if (r.group, r.shape, r.contestant) == (group, shape, contestant)), None)
