import Glibc
import SystemIO

/// Process-level chores nbdkit's command line implies.
enum Daemon {
    /// Forks into the background like nbdkit without `-f`: the parent exits at
    /// once (the sockets are already listening), the child leaves the terminal.
    static func detach() throws {
        let pid = fork()
        if pid == -1 { throw ProcessError("fork", errno) }
        if pid > 0 { _exit(0) }
        _ = setsid()
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, STDIN_FILENO)
            dup2(null, STDOUT_FILENO)
            if null > STDERR_FILENO { close(null) }
        }
    }

    static func writePIDFile(_ path: String) throws {
        let text = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ProcessError("cannot write the PID file \(path)", errno) }
        defer { close(fd) }
        guard text.utf8.count == text.withCString({ Glibc.write(fd, $0, strlen($0)) }) else {
            throw ProcessError("cannot write the PID file \(path)", errno)
        }
    }

    /// `--exit-with-parent`: SIGTERM, and so a clean stop, when the parent dies.
    static func exitWithParent() throws {
        do { try ProcessControl.setParentDeathSignal(SIGTERM) } catch { throw ProcessError("--exit-with-parent", error.rawValue) }
        // The parent may have died before the request took effect.
        if getppid() == 1 { kill(getpid(), SIGTERM) }
    }

    /// A fresh private directory for `-U -`.
    static func makePrivateDirectory() throws -> String {
        var template = Array("/tmp/nbd-streamingXXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ProcessError("mkdtemp", errno) }
        return String(cString: made)
    }
}

public struct ProcessError: Error, CustomStringConvertible {
    public let what: String
    public let errno: Int32
    init(_ what: String, _ errno: Int32) {
        self.what = what
        self.errno = errno
    }
    public var description: String { "\(what): \(String(cString: strerror(errno)))" }
}
