import Foundation

/// Starts `executable` with `arguments`, its output (both streams) to `output`.
public func spawn(_ executable: String, _ arguments: [String], output: String, environment: [String: String] = [:]) throws -> pid_t {
    // Start the child as a shell would: test threads block most signals and the
    // runner ignores SIGPIPE, and posix_spawn would hand both down, hiding how
    // the child fares against those signals.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t(), allSignals = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    // A process group of its own, so ending the child ends what it started (a
    // server's --run command) too.
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
    var files = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&files)
    defer { posix_spawn_file_actions_destroy(&files) }
    posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&files, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&files, 1, 2)
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let argv = ([executable] + arguments).map { $0.withCString { strdup($0) } } + [nil]
    let envp = variables.map { "\($0.key)=\($0.value)".withCString { strdup($0) } } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid = pid_t()
    let error = posix_spawnp(&pid, executable, &files, &attributes, argv, envp)
    guard error == 0 else { throw TestFailure("cannot start \(executable): \(String(cString: strerror(error)))") }
    return pid
}

/// The exit status (128 + signal when killed), or nil if still running.
public func reap(_ pid: pid_t, blocking: Bool) -> Int32? {
    var status: Int32 = 0
    guard waitpid(pid, &status, blocking ? 0 : WNOHANG) == pid else { return nil }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

/// The result of a command run to completion.
public struct CommandResult {
    public let status: Int32
    public let output: String
}

/// Runs a command to its end, killed after `seconds`; a missing tool fails the test.
public func run(_ executable: String, _ arguments: [String], seconds: Double = 60, environment: [String: String] = [:]) throws -> CommandResult {
    let directory = try TestDirectory()
    let output = directory.file("output")
    let pid = try spawn(executable, arguments, output: output, environment: environment)
    var status: Int32?
    do {
        try waitUntil("\(executable) to finish", seconds: seconds) {
            status = reap(pid, blocking: false)
            return status != nil
        }
    } catch {
        kill(-pid, SIGKILL)
        _ = reap(pid, blocking: true)
        throw error
    }
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    guard status != 127 else { throw TestFailure("\(executable) is not installed: \(text)") }
    return CommandResult(status: status!, output: text)
}
