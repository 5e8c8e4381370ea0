import Foundation
import Glibc
import Synchronization

/// Feeds the stream pattern for `range` into the pipe on its own thread for read-mode servers, then closes it so
/// the server sees end of file there.
final class PipeFeeder: Sendable {
    private let end: PipeEnd
    private let range: Range<UInt64>
    private let pattern: StreamPattern
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Mutex<String?>(nil)

    private let afterOpen: @Sendable () -> Void
    /// Close a shared pipe end after the range, so the server sees end of file.
    private let closeShared: Bool

    init(end: PipeEnd, range: Range<UInt64>, pattern: StreamPattern, afterOpen: @escaping @Sendable () -> Void, closeShared: Bool = false) {
        self.closeShared = closeShared
        self.end = end
        self.afterOpen = afterOpen
        self.range = range
        self.pattern = pattern
    }

    func start() {
        let thread = Thread { [self] in
            let problem = feed()
            failure.withLock { $0 = problem }
            finished.signal()
        }
        thread.name = "pipe-feeder"
        thread.start()
    }

    /// nil when all bytes went in (or the reader left, which read-mode cases provoke on purpose).
    func problem(within seconds: Double) -> String? {
        guard finished.wait(timeout: .now() + seconds) == .success else { return "the feeder was still writing after \(seconds) s" }
        finished.signal()
        return failure.withLock { $0 }
    }

    private func feed() -> String? {
        let fd: Int32
        switch end.acquire(flags: O_WRONLY) {
        case .success(let descriptor): fd = descriptor
        case .failure(let error): return error.reason
        }
        // A fresh server sees end of file when its feeder closes; a target's shared end stays open.
        defer {
            switch end {
            case .own: close(fd)
            case .shared(let pipe): if closeShared { pipe.close() }
            }
        }
        afterOpen()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { chunk.deallocate() }
        var position = range.lowerBound
        while position < range.upperBound {
            let count = Int(min(UInt64(chunk.count), range.upperBound - position))
            pattern.fill(UnsafeMutableRawBufferPointer(rebasing: chunk[0 ..< count]), streamOffset: position)
            var done = 0
            while done < count {
                let written = write(fd, chunk.baseAddress! + done, count - done)
                if written < 0, errno == EINTR { continue }
                // EPIPE: the server stopped reading (error state or stopped); nothing more to deliver.
                guard written > 0 else { return nil }
                done += written
            }
            position += UInt64(count)
        }
        return nil
    }
}
