import Foundation

/// The reading end of a FIFO the server writes to: opened at once without
/// blocking, drained by a thread, and checked with a deadline.
public final class PipeReader: @unchecked Sendable {
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private var bytes: [UInt8] = []

    public init(path: String) throws {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
        Thread.detachNewThread { [self] in drain() }
    }

    /// Everything the pipe carried up to end of file, which the server gives
    /// when it closes the pipe.
    public func contents(within seconds: Double = 30) throws -> [UInt8] {
        guard done.wait(timeout: .now() + seconds) == .success else { throw TestFailure("the pipe did not reach end of file within \(seconds) s") }
        return bytes
    }


    private func drain() {
        defer {
            close(fd)
            done.signal()
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var sawWriter = false
        // A FIFO nobody ever opens gives no end of file: the thread and its
        // descriptor must still end, long after any test has given up.
        let giveUp = Date().addingTimeInterval(300)
        while Date() < giveUp {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) >= 0 else { return }
            let count = read(fd, &chunk, chunk.count)
            if count > 0 {
                sawWriter = true
                bytes += chunk[..<count]
            } else if count == 0 && (sawWriter || poller.revents & Int16(POLLHUP) != 0) {
                return
            }
        }
    }
}

/// Feeds a FIFO the server reads from, on a thread, then closes it.
public final class PipeWriter: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)

    public init(path: String, bytes: [UInt8]) {
        // The server may close its end before all bytes are in: that must be
        // an EPIPE here, not the death of the whole test process.
        signal(SIGPIPE, SIG_IGN)
        Thread.detachNewThread { [done] in
            defer { done.signal() }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                offset += count
            }
        }
    }

    public func finished(within seconds: Double = 30) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}

/// A reader that holds the FIFO open but never reads, so the pipe fills.
public final class IdlePipeReader {
    private var fd: Int32

    public init(path: String) throws {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close() }

    /// Bytes written into the pipe and not yet read.
    public var queuedBytes: Int {
        var count: Int32 = 0
        _ = ioctl(fd, UInt(FIONREAD), &count)
        return Int(count)
    }

    /// Goes away, as a reader that dies does.
    public func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }
}

/// A test directory with a FIFO that a `PipeReader` already drains: the usual
/// set-up of a write-mode test.
public struct DrainedPipe {
    public let directory: TestDirectory
    public let path: String
    public let reader: PipeReader

    public init() throws {
        directory = try TestDirectory()
        path = try directory.makeFIFO("pipe")
        reader = try PipeReader(path: path)
    }
}
