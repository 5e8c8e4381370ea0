import Foundation
import Synchronization
import TestSupport

/// Runs `body` on a thread of its own and waits for it at most `seconds`: a
/// libnbd call has no timeout of its own, and a server that never answers
/// must fail the test, not hang it. On a timeout the thread is left to end
/// with the server, which the test stops.
func withinBound<T: Sendable>(_ what: String, seconds: Double = 30, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        let result = Result { try body() }
        outcome.withLock { $0 = result }
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success, let result = outcome.withLock({ $0 }) else {
        throw TestFailure("\(what) did not finish within \(seconds) s")
    }
    return try result.get()
}
