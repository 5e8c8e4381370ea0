import Foundation
import TestSupport

/// Where the raw clients of a test reach a server: its Unix socket or its
/// loopback TCP port, the two ways a flood can come.
enum ServerAddress: Sendable {
    case unix(String)
    case tcp(UInt16)

    init(_ server: ServerProcess) {
        self = server.port.map(ServerAddress.tcp) ?? .unix(server.socket)
    }

    /// A connected stream socket, or nil with errno set.
    func connect() -> Int32? {
        guard let (fd, established) = startConnecting(blocking: true) else { return nil }
        precondition(established, "a blocking connect returns connected")
        return fd
    }

    /// A socket whose connection is made (`established`) or under way
    /// (writable once made); nil with errno set when it was refused at once,
    /// as a Unix socket whose listen queue is full refuses (EAGAIN).
    func startConnecting(blocking: Bool = false) -> (fd: Int32, established: Bool)? {
        let fd: Int32
        let status: Int32
        switch self {
        case let .unix(path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
            status = UnixSocket.withAddress(path) { Foundation.connect(fd, $0, $1) }
        case let .tcp(port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if status == 0 { return (fd, true) }
        if errno == EINPROGRESS { return (fd, false) }
        let saved = errno
        close(fd)
        errno = saved
        return nil
    }
}
