import SystemPackage

/// A stretch of time in which the accept loop cannot do its work: accept(2)
/// fails for want of descriptors, buffers, memory or threads, or poll(2)
/// itself fails. It is logged once when it starts and once when it ends,
/// with a count, however often the call fails in between; and every failure
/// without progress doubles the wait before the next try, up to a second,
/// so a fault that lasts costs a few wake-ups a second, never a busy loop.
struct ExhaustionEpisode {
    enum Operation: String {
        case accept, poll
    }

    /// What failed first; the episode ends when it works again.
    let operation: Operation
    let started: ContinuousClock.Instant
    private(set) var failures = 1
    /// What failed last: out of descriptors, even a poll may fail meanwhile.
    private(set) var lastOperation: Operation
    private(set) var lastError: Errno
    /// How long to wait before trying again, unless an event comes first.
    private(set) var retryDelay = Self.shortestDelay

    static let shortestDelay: Duration = .milliseconds(10)
    static let longestDelay: Duration = .seconds(1)

    init(_ operation: Operation, failedWith error: Errno, at instant: ContinuousClock.Instant = .now) {
        self.operation = operation
        started = instant
        lastOperation = operation
        lastError = error
    }

    /// Another failure. After progress (some clients were accepted since the
    /// last one) the wait starts short again; otherwise it doubles.
    mutating func failedAgain(_ operation: Operation, with error: Errno, afterProgress: Bool) {
        failures += 1
        lastOperation = operation
        lastError = error
        retryDelay = afterProgress ? Self.shortestDelay : min(retryDelay * 2, Self.longestDelay)
    }

    var startMessage: String {
        let retry = operation == .accept ? "accepting again as soon as a descriptor or memory is freed" : "polling again in a moment"
        return "\(operation.rawValue): \(lastError): \(retry); logged once until it works again"
    }

    func endMessage(at instant: ContinuousClock.Instant = .now) -> String {
        let last = lastOperation == operation ? "\(lastError)" : "\(lastOperation.rawValue): \(lastError)"
        return "\(operation.rawValue) works again after \((instant - started).inSeconds); "
            + "\(failures) \(failures == 1 ? "failure" : "failures") meanwhile (the last: \(last))"
    }
}
