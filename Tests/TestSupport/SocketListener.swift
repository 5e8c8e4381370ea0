import Foundation

/// The other side of a Unix-socket endpoint: a listener the server connects to.
public final class SocketListener: @unchecked Sendable {
    private let fd: Int32

    public init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard status == 0, listen(fd, 1) == 0 else { throw TestFailure("listen \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Accepts the server's connection and reads to end of file, bounded in time.
    public func acceptAndReadAll(seconds: Double = 10) throws -> [UInt8] {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { throw TestFailure("the server never connected") }
        let client = accept(fd, nil, nil)
        defer { close(client) }
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(client, &chunk, chunk.count, 0)
            guard count >= 0 else { throw TestFailure("recv: \(String(cString: strerror(errno)))") }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// Accepts the server's connection on a thread and sends `bytes`, then closes.
    public func acceptAndSend(_ bytes: [UInt8]) {
        Thread.detachNewThread { [fd] in
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 10_000) == 1 else { return }
            let client = accept(fd, nil, nil)
            defer { close(client) }
            _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }
}
