import Foundation
import NBDClient
import TestSupport
import Testing

/// nbdkit's command line: the same parameters, errors and exit statuses.
@Suite struct CommandLineTests {
    func nbdStreaming(_ arguments: [String]) throws -> CommandResult {
        try run(ServerProcess.binary, arguments, seconds: 30)
    }

    @Test(arguments: [
        (["read=a", "write=b"], "exactly one of read= or write="),
        (["size=1M"], "you must supply either read=<PIPE> or write=<PIPE>"),
        (["write=a", "colour=blue"], "unknown parameter 'colour'"),
        (["write=a", "size=12Q"], "unknown suffix 'Q'"),
        (["write=a", "size=-1"], "size cannot be negative"),
        (["write=a", "size=lots"], "not a number"),
        (["write=a", "size=99999999999E"], "too large"),
        (["-r", "write=a"], "you cannot use the -r option with the streaming plugin"),
        (["--no-such-option", "write=a"], "Unknown option '--no-such-option'"),
        (["--max-connections", "0", "write=a"], "--max-connections must be at least 1"),
        (["--max-handshakes", "0", "write=a"], "--max-handshakes must be at least 1"),
    ])
    func badParametersFailWithOneClearLine(arguments: [String], message: String) throws {
        let result = try nbdStreaming(["-f", "-U", "/nonexistent/sock"] + arguments)
        #expect(result.status == 1)
        #expect(result.output.contains(message))
        #expect(result.output.hasPrefix("nbd-streaming: error: "))
    }

    @Test func helpVersionAndDumpPluginExitZero() throws {
        let help = try nbdStreaming(["--help"])
        #expect(help.status == 0 && help.output.contains("write=PATH") && help.output.contains("--run"))
        let version = try nbdStreaming(["--version"])
        #expect(version.status == 0 && version.output.contains("0."))
        let dump = try nbdStreaming(["--dump-plugin"])
        #expect(dump.status == 0 && dump.output.contains("name=streaming\n") && dump.output.contains("thread_model=serialize_all_requests"))
    }

    @Test func captiveRunSeesTheVariablesAndItsStatusIsTheServers() throws {
        let directory = try TestDirectory()
        let result = try run(ServerProcess.binary, [
            "-U", "-", "-e", "disk", "write=\(directory.file("pipe"))",
            "--run", "echo \"nbd=$nbd uri=$uri sock=$unixsocket name=$exportname\"; exit 7",
        ])
        #expect(result.status == 7)
        #expect(result.output.contains("name=disk"))
        #expect(result.output.contains("nbd=nbd+unix:///disk?socket=/"))
        #expect(result.output.contains("uri=nbd+unix:///disk?socket=/"))
        // The private socket directory is gone once the server stops.
        let socket = result.output.components(separatedBy: "sock=")[1].components(separatedBy: " ")[0]
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(!FileManager.default.fileExists(atPath: (socket as NSString).deletingLastPathComponent))
    }

    @Test func optionsMayFollowTheParametersAndPathsBecomeAbsolute() throws {
        let directory = try TestDirectory()
        // The shell changes directory, then becomes the server.
        let result = try run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory.path, ServerProcess.binary,
                                         "write=pipe", "size=1k", "-U", "-", "--run", "nbdinfo --json \"$uri\""])
        #expect(result.status == 0)
        #expect(result.output.contains("\"export-size\": 1024"))
        #expect(result.output.contains("streaming to \(directory.path)/pipe"))
    }

    @Test func forksIntoTheBackgroundWithoutForeground() throws {
        let directory = try TestDirectory()
        let pidFile = directory.file("pid"), socket = directory.file("sock")
        let result = try run(ServerProcess.binary, ["-U", socket, "-P", pidFile, "write=\(directory.file("pipe"))"])
        #expect(result.status == 0)
        try waitUntil("the daemon's PID file") { FileManager.default.fileExists(atPath: pidFile) }
        let pid = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        defer { kill(pid, SIGKILL) }
        #expect(kill(pid, 0) == 0)
        #expect(FileManager.default.fileExists(atPath: socket))
        kill(pid, SIGTERM)
        try waitUntil("the daemon to exit") { !isRunning(pid) }
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    @Test func singleServesOneClientOnStandardInputAndOutput() throws {
        let directory = try TestDirectory()
        let pipe = try directory.makeFIFO("pipe")
        let reader = try PipeReader(path: pipe)
        // libnbd starts the command and speaks NBD over its stdin and stdout.
        let connection = try NBDConnection()
        try connection.connect(.command([ServerProcess.binary, "-s", "write=\(pipe)", "size=4"]))
        #expect(try connection.exportSize() == 4)
        try connection.pwrite([5, 6, 7, 8], offset: 0)
        // The server exits when its one client leaves, and the reader sees the end.
        try connection.shutdown()
        #expect(try reader.contents() == [5, 6, 7, 8])
    }
}

/// Listening and process options that scripts rely on.
@Suite struct ProcessOptionTests {
    @Test func listensOnTCPAtTheGivenAddressAndPort() throws {
        let directory = try TestDirectory()
        let port = try freeLoopbackPort()
        let pidFile = directory.file("pid")
        let pid = try spawn(ServerProcess.binary, ["-f", "-i", "127.0.0.1", "-p", "\(port)", "-P", pidFile,
                                                   "write=\(directory.file("pipe"))", "size=1M"], output: directory.file("log"))
        defer {
            kill(pid, SIGKILL)
            _ = reap(pid, blocking: true)
        }
        try waitUntil("the PID file") { FileManager.default.fileExists(atPath: pidFile) }
        let connection = try NBDConnection()
        try connection.connect(.tcp(host: "127.0.0.1", port: "\(port)"))
        #expect(try connection.exportSize() == 1 << 20)
    }

    @Test func exitsWithItsParent() throws {
        let directory = try TestDirectory()
        let socket = directory.file("sock"), pidFile = directory.file("pid")
        // A shell starts the server, then is killed; the server must follow it.
        let shell = try spawn("/bin/sh", ["-c", "\"$0\" --exit-with-parent -U \"$1\" -P \"$2\" write=\"$3\" & wait",
                                          ServerProcess.binary, socket, pidFile, directory.file("pipe")],
                              output: directory.file("log"))
        try waitUntil("the PID file") { FileManager.default.fileExists(atPath: pidFile) }
        let server = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        defer { kill(server, SIGKILL) }
        kill(shell, SIGKILL)
        _ = reap(shell, blocking: true)
        try waitUntil("the server to exit with its parent") { !isRunning(server) }
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    @Test func verboseLogsOneLinePerRequest() throws {
        let directory = try TestDirectory()
        let pipe = try directory.makeFIFO("pipe")
        let reader = try PipeReader(path: pipe)
        let server = try ServerProcess(["-v", "write=\(pipe)"], in: directory)
        let connection = try server.connect()
        try connection.pwrite([1, 2], offset: 0)
        try connection.pwrite([3], offset: 2)
        try connection.flush()
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [1, 2, 3])
        let requests = server.log.split(separator: "\n").filter { $0.contains("cookie=") }
        #expect(requests.count == 3)
        #expect(requests.first?.contains("write") == true && requests.first?.contains("offset=0 length=2") == true)
    }
}

/// Whether `pid` still runs: a zombie waiting for a reaper that is not us counts as gone.
func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
}
