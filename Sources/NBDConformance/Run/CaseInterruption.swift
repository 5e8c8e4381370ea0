import NBDClient
import Synchronization

/// Ends every wait of a case from the watchdog thread: libnbd waits through the shared Cancellation, other
/// blocking calls (raw sockets, the server itself) through the interrupters they register, and FIFO opens
/// through a momentary peer.
final class CaseInterruption: Sendable {
    let cancellation = Cancellation()
    private let pipePath: String?
    private let interrupters = Mutex<[@Sendable () -> Void]>([])

    init(pipePath: String?) {
        self.pipePath = pipePath
    }

    func onCancel(_ interrupter: @escaping @Sendable () -> Void) {
        interrupters.withLock { $0.append(interrupter) }
    }

    func cancel(reason: String) {
        cancellation.cancel(reason: reason)
        interrupters.withLock { $0 }.forEach { $0() }
        if let pipePath {
            Fifo.unblockReader(at: pipePath)
            Fifo.unblockWriter(at: pipePath)
        }
    }
}
