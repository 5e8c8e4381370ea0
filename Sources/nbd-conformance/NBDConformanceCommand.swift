import ArgumentParser
import Foundation
import NBDClient
import NBDConformance
import ReleaseInfo

/// The command line; everything else lives in NBDConformance so the tests can drive it directly.
@main
struct NBDConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd-conformance",
        abstract: "Check an NBD server against the NBD protocol: a streaming server (nbdkit's streaming contract) or any disk.",
        discussion: """
            Exit status: 0 all selected cases passed (skips allowed), 1 a case failed, 2 usage or harness error.
            The server template is a shell command; $SOCKET, $ARGS, $PIPE, $MODE, $SIZE, $DIR (the case's own
            directory, for a backing file) and $TLS (the tls group's server options, empty for other cases) are set
            in its environment.
            """,
        version: "nbd-conformance \(Release.version)")

    @Flag(help: "Print the catalog (ID, level, description, and the requirement quoted from its source) and exit.")
    var list = false

    @Option(help: ArgumentHelp("streaming (nbdkit's streaming contract, the default) or disk (any writable random-access export).", valueName: "PROFILE"))
    var profile: Profile = .streaming

    @Flag(help: "With --target and --profile disk: let the cases write to the live export.")
    var allowWrites = false

    @Option(help: ArgumentHelp("Shell command starting a fresh server per case (default: \(RunConfiguration.defaultTemplate)).",
                        valueName: "TEMPLATE"))
    var server: String?

    @Option(help: ArgumentHelp("A running server: unix:PATH, tcp:HOST:PORT or an nbd:// / nbd+unix:// URI (nbds:// and nbds+unix:// for one that requires TLS).", valueName: "TARGET"))
    var target: String?

    @Option(help: ArgumentHelp("With --target: the FIFO the target streams to or from.", valueName: "PATH"))
    var pipe: String?

    @Option(help: ArgumentHelp("Run only cases whose ID matches GLOB (repeatable).", valueName: "GLOB"))
    var filter: [String] = []

    @Option(help: ArgumentHelp("Leave out cases whose ID matches GLOB; they are reported skipped (repeatable).", valueName: "GLOB"))
    var exclude: [String] = []

    @Flag(help: "Also run the SHOULD-level cases.")
    var strict = false

    @Flag(help: "Also run the long cases (8 GiB stream).")
    var long = false

    @Flag(help: "Also run the cases for nbd-streaming's reorder= and retain= windows (not part of the nbdkit contract).")
    var windows = false

    @Option(name: .customLong("tls-psk"), help: ArgumentHelp(
        "Run the tls group with psktool's key FILE: servers get --tls=require --tls-psk=FILE (or --tls=on) through $TLS.",
        valueName: "FILE"))
    var tlsPSK: String?

    @Option(name: .customLong("tls-username"), help: ArgumentHelp("With --tls-psk: the user whose key the harness presents (default: the file's first).",
                                                                  valueName: "NAME"))
    var tlsUsername: String?

    @Option(name: .customLong("tls-certificates"), help: ArgumentHelp(
        "Run the tls group with X.509 files from DIR: ca-cert.pem, server-cert.pem and server-key.pem for servers (through $TLS), ca-cert.pem (and client-cert.pem, client-key.pem if present) for the harness.",
        valueName: "DIR"))
    var tlsCertificates: String?

    @Option(help: ArgumentHelp("Seed for payloads and random workloads (default: random, printed with the results).", valueName: "SEED"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("SECONDS per case before its server is killed and the case fails (gigabyte cases get a multiple).",
                        valueName: "SECONDS"))
    var timeout: Double = 20

    @Option(help: ArgumentHelp("Write a JUnit XML report to FILE.", valueName: "FILE"))
    var junit: String?

    @Option(help: ArgumentHelp("Write a JSON report to FILE.", valueName: "FILE"))
    var json: String?

    @Option(name: [.customShort("j"), .long], help: ArgumentHelp("Cases to run in parallel with --server.", valueName: "N"))
    var jobs = 1

    func validate() throws {
        if server != nil, target != nil { throw ValidationError("--server and --target exclude each other") }
        if pipe != nil, target == nil { throw ValidationError("--pipe needs --target") }
        if let target, NBDEndpoint(parsing: target) == nil { throw ValidationError("--target '\(target)' is not unix:PATH, tcp:HOST:PORT or an NBD URI") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if profile == .disk, server == nil, target == nil, !list {
            throw ValidationError("--profile disk needs --server TEMPLATE or --target URI (the default server is a stream)")
        }
        if allowWrites, target == nil || profile != .disk { throw ValidationError("--allow-writes needs --target and --profile disk") }
        if tlsPSK != nil, tlsCertificates != nil { throw ValidationError("--tls-psk and --tls-certificates exclude each other") }
        if tlsUsername != nil, tlsPSK == nil { throw ValidationError("--tls-username needs --tls-psk") }
    }

    func run() throws {
        if list {
            try CatalogListing.print(filters: filter, profile: profile)
            return
        }
        var deployment = RunConfiguration.Deployment.serverTemplate(server ?? Self.defaultTemplate())
        if let target, let endpoint = NBDEndpoint(parsing: target) { deployment = .target(endpoint, pipe: pipe) }
        var configuration = RunConfiguration(deployment: deployment, seed: seed ?? UInt64.random(in: 1 ... UInt64(UInt32.max)))
        configuration.profile = profile
        configuration.allowWrites = allowWrites
        configuration.filters = filter
        configuration.excludes = exclude
        configuration.strict = strict
        configuration.long = long
        configuration.windows = windows
        configuration.tls = try tlsSetup()
        configuration.timeout = timeout
        configuration.jobs = jobs
        configuration.junitPath = junit
        configuration.jsonPath = json
        LiveServers.stopAllOnInterrupt()
        Foundation.exit(ConformanceRun.execute(configuration))
    }

    /// The harness's TLS credentials: the options', or those an nbds:// target URI names.
    private func tlsSetup() throws -> TLSSetup? {
        if let tlsPSK { return try TLSSetup.preSharedKeys(file: tlsPSK, username: tlsUsername) }
        if let tlsCertificates { return try TLSSetup.certificates(directory: tlsCertificates) }
        if let target, case .uri(let uri)? = NBDEndpoint(parsing: target) { return try TLSSetup.named(byURI: uri) }
        return nil
    }

    /// ArgumentParser exits 64 on usage errors; the harness promises 2, which CI scripts tell from a failed case (1).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Swift.print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}

extension Profile: ExpressibleByArgument {}
