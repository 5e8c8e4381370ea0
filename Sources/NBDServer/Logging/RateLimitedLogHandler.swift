import Logging
import Synchronization
import SystemIO

/// Every line of the server's log passes through one `LogRateLimiter`, so no
/// client, however it misbehaves, makes the log grow by more than a few lines
/// a second. Debug lines (`-v`: one per request, by design) pass unlimited,
/// since the operator asked for them. A site's suppressed lines are counted;
/// the count leaves with the site's next line, or in a summary that a
/// short-lived thread writes once the site may write again, so a flood that
/// stops is still reported.
public struct RateLimitedLogHandler: LogHandler {
    private var inner: any LogHandler
    private let limiter: SharedLimiter

    public init(wrapping inner: any LogHandler, burst: Int = 5, interval: Duration = .seconds(10)) {
        self.inner = inner
        limiter = SharedLimiter(LogRateLimiter(burst: burst, interval: interval))
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard event.level > .debug else { return inner.log(event: event) }
        let site = LogRateLimiter<LogEvent>.Site(file: event.file, line: event.line)
        switch limiter.state.withLock({ $0.limiter.admit(event, from: site, at: .now) }) {
        case let .write(suppressedBefore: count):
            var event = event
            if count > 0 { event.message = "\(event.message) (\(Self.similar(count)) suppressed before it)" }
            inner.log(event: event)
        case .suppress:
            limiter.summarizeLater(through: inner)
        }
    }

    static func similar(_ count: Int) -> String {
        "\(count) similar \(count == 1 ? "message" : "messages")"
    }

    /// The limiter's state, shared by every copy of the handler (a `Logger`
    /// copies its handler), and whether a summary thread is waiting.
    private final class SharedLimiter: Sendable {
        struct State: Sendable {
            var limiter: LogRateLimiter<LogEvent>
            var summarizing = false
        }

        let state: Mutex<State>

        init(_ limiter: LogRateLimiter<LogEvent>) {
            state = Mutex(State(limiter: limiter))
        }

        /// Starts the thread that writes the summaries, unless one is waiting
        /// already; it ends once no site holds suppressed lines.
        func summarizeLater(through inner: any LogHandler) {
            let interval: Duration? = state.withLock { state in
                guard !state.summarizing else { return nil }
                state.summarizing = true
                return state.limiter.interval
            }
            guard let interval else { return }
            do {
                try detachThread { [self] in
                    var pending = true
                    while pending {
                        Poll.sleep(for: interval)
                        let summaries = state.withLock { state in
                            defer {
                                pending = state.limiter.hasSuppressedLines
                                state.summarizing = pending
                            }
                            return state.limiter.dueSummaries(at: .now)
                        }
                        for (count, last) in summaries {
                            var summary = last
                            summary.message = "\(RateLimitedLogHandler.similar(count)) suppressed; the last: \(last.message)"
                            inner.log(event: summary)
                        }
                    }
                }
            } catch {
                // No thread to spare: the count still leaves with the site's next line.
                state.withLock { $0.summarizing = false }
            }
        }
    }
}
