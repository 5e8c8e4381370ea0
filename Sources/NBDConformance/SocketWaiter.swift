import Foundation
import Glibc

/// Waits until a Unix socket accepts connections, with a deadline, watching for the server dying first.
enum SocketWaiter {
    static func waitUntilListening(path: String, server: ServerProcess, seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let status = server.exited {
                throw HarnessError("server exited (status \(status)) before listening on \(path)\n\(server.logTail())")
            }
            if accepts(path) { return }
            usleep(5_000)
        }
        throw HarnessError("server did not listen on \(path) within \(seconds) s\n\(server.logTail())")
    }

    /// A probe connection that is closed at once; servers see it as a client that left before the greeting.
    private static func accepts(_ path: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return UnixAddress.withAddress(path) { connect(fd, $0, $1) } == 0
    }
}

/// sockaddr_un plumbing shared by the socket waiter and the raw wire client.
enum UnixAddress {
    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(capacity - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
