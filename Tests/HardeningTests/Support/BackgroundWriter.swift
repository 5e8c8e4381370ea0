import Foundation
import TestSupport
import NBDClient
import Synchronization

/// A libnbd client on its own thread writing `data` sequentially in `chunk`
/// pieces until it is done or a write fails, counting what the server
/// acknowledged: the faults under test strike while it writes.
final class BackgroundWriter: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let acknowledgedBytes = Atomic<Int>(0)
    private var failure: NBDError?

    init(_ connection: NBDConnection, data: [UInt8], chunk: Int) {
        nonisolated(unsafe) let connection = connection
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            for start in stride(from: 0, to: data.count, by: chunk) {
                do { try connection.pwrite(Array(data[start..<min(start + chunk, data.count)]), offset: UInt64(start)) } catch let error as NBDError {
                    failure = error
                    return
                } catch { return }
                acknowledgedBytes.store(min(start + chunk, data.count), ordering: .releasing)
            }
        }
    }

    var acknowledged: Int { acknowledgedBytes.load(ordering: .acquiring) }

    /// Waits (bounded) for the writer to finish; its failure, if any.
    func finish(within seconds: Double = 30) throws -> NBDError? {
        guard done.wait(timeout: .now() + seconds) == .success else { throw TestFailure("the writer did not finish within \(seconds) s") }
        return failure
    }
}
