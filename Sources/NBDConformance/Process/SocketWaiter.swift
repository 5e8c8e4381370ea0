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
