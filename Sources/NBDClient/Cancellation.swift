import Synchronization

/// Lets another thread stop every wait of the connections that share it: a watchdog sets it when a case times out,
/// so a server that never answers cannot block the caller forever.
public final class Cancellation: Sendable {
    private let reason = Mutex<String?>(nil)

    public init() {}

    public func cancel(reason: String) {
        self.reason.withLock { if $0 == nil { $0 = reason } }
    }

    public var cancelledReason: String? { reason.withLock { $0 } }
}
