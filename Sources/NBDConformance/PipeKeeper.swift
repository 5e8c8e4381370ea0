import Foundation
import Glibc

/// The harness's own hold on a read-mode FIFO. Its write end lets a server that opens the FIFO for reading at
/// start-up get past open() before the feeder runs; it is dropped once the feeder's write end is open, so the
/// server still sees end of file when the feeder closes. Its read end keeps the feeder from getting EPIPE if the
/// server opens the FIFO later than the feeder; it is dropped when the stream is finished.
final class PipeKeeper: @unchecked Sendable {
    private let lock = NSLock()
    private var reader: Int32
    private var writer: Int32

    init(path: String) throws {
        reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        writer = reader >= 0 ? open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1
        guard writer >= 0 else {
            let reason = String(cString: strerror(errno))
            if reader >= 0 { close(reader) }
            throw HarnessError("open \(path): \(reason)")
        }
    }

    /// Idempotent, like `release`.
    func releaseWriter() {
        lock.withLock {
            if writer >= 0 { close(writer) }
            writer = -1
        }
    }

    func release() {
        releaseWriter()
        lock.withLock {
            if reader >= 0 { close(reader) }
            reader = -1
        }
    }
}
