import Foundation
import Glibc
import NBDClient

/// `--server TEMPLATE`: every case gets a fresh temporary directory with its socket (and in the streaming profile
/// its FIFO), and a fresh server. A disk server keeps its backing file in that directory (`$DIR`). A `tls` case's
/// server gets the harness's credentials through `$TLS`; every other server gets an empty `$TLS`.
struct SpawnedServerEnvironment: CaseEnvironment {
    let template: String
    var profile: Profile = .streaming
    let strict: Bool
    var tls: TLSSetup?

    func prepare(_ testCase: ConformanceCase, seed: UInt64, timeout: Double) throws -> PreparedCase {
        let directory = try Self.makeTemporaryDirectory()
        let socketPath = directory + "/nbd.sock"
        let pipePath = profile == .streaming ? directory + "/pipe" : nil
        do {
            if let pipePath { try Fifo.create(at: pipePath) }
            // Read mode only (see PipeKeeper); in write mode the verifier opens the read end itself.
            let keeper = try pipePath.flatMap { testCase.serverMode == .read ? try PipeKeeper(path: $0) : nil }
            var placeholders = Self.placeholders(for: testCase, socket: socketPath, pipe: pipePath ?? "", directory: directory)
            let caseTLS = testCase.serverTLS.flatMap { mode in tls.map { (mode, $0) } }
            placeholders["TLS"] = caseTLS.map { $0.1.serverOptions($0.0) } ?? ""
            let server = try ServerProcess(command: template, placeholders: placeholders,
                                           logPath: directory + "/server.log")
            let cleanUp = {
                server.stop(grace: 2)
                keeper?.release()
                let log = server.logTail()
                Self.removeDirectory(directory)
                return log
            }
            do {
                try SocketWaiter.waitUntilListening(path: socketPath, server: server, seconds: min(timeout, 10))
            } catch {
                _ = cleanUp()
                throw error
            }
            let context = CaseContext(
                endpoint: .unix(path: socketPath), pipePath: pipePath, mode: testCase.serverMode,
                configuredSize: testCase.size ?? CaseContext.defaultExportSize,
                exportSize: testCase.size ?? CaseContext.defaultExportSize, streamPosition: 0, seed: seed, strict: strict,
                windows: testCase.windows,
                freshServer: FreshServer(stop: { server.stop(grace: 2) }, pipeKeeper: keeper, peakMemory: { server.peakResidentBytes },
                                         pipeUnreachable: Self.reachesPipe(template) ? nil
                                             : "the --server template passes neither $ARGS, $PIPE nor $DIR, so its server has no pipe to stream"),
                tls: caseTLS?.1)
            context.interruption.onCancel { server.killImmediately() }
            return PreparedCase(context: context, finish: cleanUp)
        } catch {
            Self.removeDirectory(directory)
            throw error
        }
    }

    /// The values behind $SOCKET, $ARGS, $PIPE, $MODE, $SIZE and $DIR.
    static func placeholders(for testCase: ConformanceCase, socket: String, pipe: String, directory: String) -> [String: String] {
        let size = testCase.size.map(String.init) ?? ""
        let arguments = "\(testCase.serverMode.rawValue)=\(pipe)" + (size.isEmpty ? "" : " size=\(size)") + testCase.windows.arguments
        return ["SOCKET": socket, "ARGS": arguments, "PIPE": pipe, "MODE": testCase.serverMode.rawValue, "SIZE": size, "DIR": directory]
    }

    /// Whether the template uses the placeholder `name`, as `$NAME` or `${NAME}`.
    static func mentions(_ template: String, _ name: String) -> Bool {
        template.contains("${\(name)}") || template.range(of: "\\$\(name)(?![A-Za-z0-9_])", options: .regularExpression) != nil
    }

    /// A server can stream to the case's pipe only if its template hands it the pipe's path.
    static func reachesPipe(_ template: String) -> Bool {
        ["ARGS", "PIPE", "DIR"].contains { mentions(template, $0) }
    }

    static func removeDirectory(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
        LiveServers.remove(directory: directory)
    }

    static func makeTemporaryDirectory() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/nbd-conformance.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw HarnessError("mkdtemp in \(base): \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        LiveServers.add(directory: directory)
        return directory
    }
}
