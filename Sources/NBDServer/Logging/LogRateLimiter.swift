/// How many lines each kind of message may take: a token bucket per call site
/// (messages from one line of code are "similar", whatever their numbers).
/// A site may write `burst` lines at once and then one line per `interval`;
/// what it says beyond that is counted, and the count leaves with the site's
/// next line or in a summary once the site may write again. Sites are the
/// server's own lines of code, so however many clients misbehave, in however
/// many ways, the log grows by at most (sites that fire) / `interval` lines a
/// second after the first bursts. No I/O and no clock of its own: the handler
/// that uses it passes the time, and the tests pass theirs.
struct LogRateLimiter<Line: Sendable>: Sendable {
    struct Site: Hashable, Sendable {
        let file: String
        let line: UInt
    }

    let burst: Int
    let interval: Duration

    private var buckets: [Site: Bucket] = [:]

    private struct Bucket: Sendable {
        /// Lines the site may write now; a fraction refills as time passes.
        var tokens: Double
        var refilled: ContinuousClock.Instant
        var suppressed = 0
        /// The last suppressed line, which its summary quotes.
        var lastSuppressed: Line?
    }

    init(burst: Int = 5, interval: Duration = .seconds(10)) {
        self.burst = burst
        self.interval = interval
    }

    enum Verdict: Equatable {
        /// Write the line, saying how many similar ones were left out before it.
        case write(suppressedBefore: Int)
        case suppress
    }

    mutating func admit(_ line: Line, from site: Site, at now: ContinuousClock.Instant) -> Verdict {
        var bucket = refilled(buckets[site] ?? Bucket(tokens: Double(burst), refilled: now), at: now)
        defer { buckets[site] = bucket }
        guard bucket.tokens >= 1 else {
            bucket.suppressed += 1
            bucket.lastSuppressed = line
            return .suppress
        }
        bucket.tokens -= 1
        defer { bucket.suppressed = 0 }
        return .write(suppressedBefore: bucket.suppressed)
    }

    /// One summary per site that suppressed lines and may write again, each
    /// taking a line of the site's budget.
    mutating func dueSummaries(at now: ContinuousClock.Instant) -> [(count: Int, last: Line)] {
        var summaries: [(count: Int, last: Line)] = []
        for (site, stored) in buckets where stored.suppressed > 0 {
            var bucket = refilled(stored, at: now)
            if bucket.tokens >= 1, let last = bucket.lastSuppressed {
                bucket.tokens -= 1
                summaries.append((bucket.suppressed, last))
                bucket.suppressed = 0
                bucket.lastSuppressed = nil
            }
            buckets[site] = bucket
        }
        return summaries
    }

    var hasSuppressedLines: Bool { buckets.values.contains { $0.suppressed > 0 } }

    private func refilled(_ bucket: Bucket, at now: ContinuousClock.Instant) -> Bucket {
        var bucket = bucket
        bucket.tokens = min(Double(burst), bucket.tokens + (now - bucket.refilled) / interval)
        bucket.refilled = now
        return bucket
    }
}
