import Foundation

/// Lets another thread stop every wait of the connections that share it: a watchdog sets it when a case times out,
/// so a server that never answers cannot block the caller forever.
public final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?

    public init() {}

    public func cancel(reason: String) {
        lock.withLock { if self.reason == nil { self.reason = reason } }
    }

    public var cancelledReason: String? { lock.withLock { reason } }
}
