import Foundation
import NBDClient

/// The built `nbd-streaming` binary, started in the foreground with a Unix
/// socket and a PID file in a test directory. The PID file appears only once
/// the socket listens, so waiting for it is waiting for the server to be ready.
public final class ServerProcess {
    public let pid: pid_t
    public let socket: String
    public let logPath: String
    private var status: Int32?

    /// The test bundle sits beside the package's executables in .build/<config>.
    public static var binary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("nbd-streaming").path
    }

    /// Starts `nbd-streaming -f -U SOCKET -P PIDFILE ARGS...` and waits until it
    /// listens; `executable: "nbdkit"` starts nbdkit with the same options.
    public init(_ arguments: [String], in directory: TestDirectory, name: String = "server", executable: String = ServerProcess.binary) throws {
        socket = directory.file("\(name).sock")
        logPath = directory.file("\(name).log")
        let pidFile = directory.file("\(name).pid")
        pid = try spawn(executable, ["-f", "-U", socket, "-P", pidFile] + arguments, output: logPath)
        try waitUntil("the server to listen on \(socket)") {
            if let status = exitStatus() { throw TestFailure("server exited with \(status) before listening: \(log)") }
            return FileManager.default.fileExists(atPath: pidFile)
        }
    }

    deinit { _ = stop(signal: SIGKILL) }

    public var uri: String { "nbd+unix:///?socket=\(socket)" }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func connect() throws -> NBDConnection {
        let connection = try NBDConnection()
        try connection.connect(.unix(path: socket))
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
