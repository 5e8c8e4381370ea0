import Foundation
import NBDClient

/// The built `nbd-streaming` binary, started in the foreground with a Unix
/// socket (or a loopback TCP port) and a PID file in a test directory. The PID
/// file appears only once the socket listens, so waiting for it is waiting for
/// the server to be ready.
public final class ServerProcess {
    public let pid: pid_t
    public let socket: String
    /// The loopback port it listens on instead of `socket`, when started with `tcp`.
    public let port: UInt16?
    public let logPath: String
    private var status: Int32?

    /// The test bundle sits beside the package's executables in .build/<config>.
    public static var binary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("nbd-streaming").path
    }

    /// Starts `nbd-streaming -f -U SOCKET -P PIDFILE ARGS...` (`-i 127.0.0.1 -p PORT`
    /// instead of `-U` with `tcp`) and waits until it listens; `executable: "nbdkit"`
    /// starts nbdkit with the same options.
    public init(_ arguments: [String], in directory: TestDirectory, name: String = "server", executable: String = ServerProcess.binary,
                tcp: Bool = false) throws {
        socket = directory.file("\(name).sock")
        port = tcp ? try freeLoopbackPort() : nil
        logPath = directory.file("\(name).log")
        let pidFile = directory.file("\(name).pid")
        let listen = port.map { ["-i", "127.0.0.1", "-p", "\($0)"] } ?? ["-U", socket]
        pid = try spawn(executable, ["-f"] + listen + ["-P", pidFile] + arguments, output: logPath)
        try waitUntil("the server to listen on \(socket)") {
            if let status = exitStatus() { throw TestFailure("server exited with \(status) before listening: \(log)") }
            return FileManager.default.fileExists(atPath: pidFile)
        }
    }

    deinit { _ = stop(signal: SIGKILL) }

    public var uri: String { port.map { "nbd://127.0.0.1:\($0)/" } ?? "nbd+unix:///?socket=\(socket)" }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func connect() throws -> NBDConnection {
        let connection = try NBDConnection()
        try connection.connect(port.map { .tcp(host: "127.0.0.1", port: "\($0)") } ?? .unix(path: socket))
        return connection
    }

    /// The exit status once the process has exited, without waiting.
    public func exitStatus() -> Int32? {
        if status == nil { status = reap(pid, blocking: false) }
        return status
    }

    /// Sends `signal` and waits (bounded) for the exit; SIGKILL if it does not come.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 10) -> Int32? {
        if let status { return status }
        kill(pid, signal)
        if (try? waitUntil("server \(pid) to exit", seconds: seconds, { exitStatus() != nil })) == nil {
            kill(-pid, SIGKILL)
            status = reap(pid, blocking: true)
            return nil
        }
        return status
    }
}

/// A port nobody listens on now; the kernel picks it.
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("cannot find a free port") }
    return UInt16(bigEndian: address.sin_port)
}
