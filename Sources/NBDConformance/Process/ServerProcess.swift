import Foundation
import Glibc
import Synchronization

/// A server started from the `--server` template through `/bin/sh -c`, in a process group of its own so that
/// stopping it also stops whatever the template started (wrappers, env, the real server).
final class ServerProcess: Sendable {
    let pid: pid_t
    let logPath: String
    private let exitStatus = Mutex<Int32?>(nil)

    /// Placeholders reach the shell as environment variables, so `$SOCKET` and `${ARGS}` both work and the
    /// template is an ordinary shell command.
    init(command: String, placeholders: [String: String], logPath: String) throws {
        self.logPath = logPath
        var environment = ProcessInfo.processInfo.environment
        environment.merge(placeholders) { _, new in new }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        // Dispositions the harness (or the test runner around it) ignores are inherited; a server must get the
        // defaults, so that the SIGTERM of `stop` ends even a program that installs no handler.
        for number in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaultSignals, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        // Likewise the mask: the spawning thread may block signals (test runners do), and a child inherits that.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&files, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&files, 1, 2)
        let words: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, "/bin/sh", &files, &attributes, argv, envp)
        guard status == 0 else { throw HarnessError("cannot start server: \(String(cString: strerror(status)))") }
        pid = child
        LiveServers.add(child)
    }

    /// The shell's exit status once it has exited, without blocking.
    var exited: Int32? {
        exitStatus.withLock { exitStatus in
            if exitStatus == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
            }
            return exitStatus
        }
    }

    /// SIGTERM to the whole group, then SIGKILL if it has not exited within `grace` seconds; always reaps.
    func stop(grace: Double) {
        kill(-pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while exited == nil, Date() < deadline {
            // waitpid has no timeout; short slices keep the bound on the whole stop.
            usleep(10_000)
        }
        // Children that ignored SIGTERM or outlived the shell go too.
        kill(-pid, SIGKILL)
        exitStatus.withLock { exitStatus in
            if exitStatus == nil {
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exitStatus = status
            }
        }
        LiveServers.remove(pid)
    }

    func killImmediately() {
        kill(-pid, SIGKILL)
    }

    /// The peak resident memory of the server's processes so far.
    var peakResidentBytes: UInt64 { ProcessGroupMemory.peakResidentBytes(group: pid) }

    /// The end of the server's output, for failure reports.
    func logTail(maxBytes: Int = 2000) -> String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self)
    }
}
