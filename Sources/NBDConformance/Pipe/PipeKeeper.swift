import Glibc
import Synchronization

/// The harness's own hold on a read-mode FIFO. Its write end lets a server that opens the FIFO for reading at
/// start-up get past open() before the feeder runs; it is dropped once the feeder's write end is open, so the
/// server still sees end of file when the feeder closes. Its read end keeps the feeder from getting EPIPE if the
/// server opens the FIFO later than the feeder; it is dropped when the stream is finished.
final class PipeKeeper: Sendable {
    private struct Ends {
        var reader: Int32
        var writer: Int32
    }

    private let ends: Mutex<Ends>

    init(path: String) throws {
        let reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let writer = reader >= 0 ? open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1
        guard writer >= 0 else {
            let reason = String(cString: strerror(errno))
            if reader >= 0 { close(reader) }
            throw HarnessError("open \(path): \(reason)")
        }
        ends = Mutex(Ends(reader: reader, writer: writer))
    }

    /// Idempotent, like `release`.
    func releaseWriter() {
        ends.withLock { ends in
            if ends.writer >= 0 { close(ends.writer) }
            ends.writer = -1
        }
    }

    func release() {
        releaseWriter()
        ends.withLock { ends in
            if ends.reader >= 0 { close(ends.reader) }
            ends.reader = -1
        }
    }
}
