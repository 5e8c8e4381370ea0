import Foundation
import TestSupport

/// The local end of the stream that takes some bytes and then goes away, as
/// a reader that crashes does: from a FIFO, or from the connection a socket
/// endpoint's server makes to it.
final class LeavingPeer: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var bytes: [UInt8] = []
    private var failure: String?

    /// Opens the FIFO's reading end now (so the server never waits for a
    /// reader), reads `count` bytes on a thread, then closes it.
    init(fifo path: String, leavesAfter count: Int) throws {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
        Thread.detachNewThread { [self] in take(count, from: fd) }
    }

    /// Listens on `path` now; on a thread, accepts the server's connection,
    /// reads `count` bytes and closes with the rest unread (on a Unix socket
    /// the server's next send then fails with ECONNRESET or EPIPE).
    init(socket path: String, leavesAfter count: Int) throws {
        let listener = try UnixSocket.listen(at: path)
        Thread.detachNewThread { [self] in
            defer { close(listener) }
            guard let fd = UnixSocket.accept(listener, seconds: 30) else {
                failure = "the server never connected"
                done.signal()
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            take(count, from: fd)
        }
    }

    /// The bytes read before leaving; waits (bounded) until the peer has left.
    func taken(within seconds: Double = 30) throws -> [UInt8] {
        guard done.wait(timeout: .now() + seconds) == .success else { throw TestFailure("the peer did not leave within \(seconds) s") }
        if let failure { throw TestFailure(failure) }
        return bytes
    }

    private func take(_ count: Int, from fd: Int32) {
        defer {
            close(fd)
            done.signal()
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(30)
        while bytes.count < count && Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) >= 0 else { break }
            let got = read(fd, &chunk, min(chunk.count, count - bytes.count))
            if got > 0 { bytes += chunk[..<got] }
            if got == 0 && poller.revents & Int16(POLLHUP) != 0 && !bytes.isEmpty { break }
        }
        if bytes.count < count { failure = "read only \(bytes.count) of \(count) bytes before leaving" }
    }
}
