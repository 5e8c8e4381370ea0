import ArgumentParser
import Glibc
import Logging
import NBDServer
import ReleaseInfo
import StreamingPlugin
import TLS

/// nbdkit's command line, with the streaming plugin built in: existing
/// `nbdkit streaming ...` invocations work with `nbd-streaming ...`.
struct StreamingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd-streaming",
        abstract: "An NBD server whose export is a stream to or from a pipe or socket.",
        discussion: ParameterHelp.helpBlock,
        version: "nbd-streaming \(Release.version)"
    )

    @Option(name: [.customShort("U"), .customLong("unix")],
            help: ArgumentHelp("Listen on a Unix socket at PATH; '-' makes a private one.", valueName: "PATH"))
    var unixSocket: String?

    @Option(name: [.customShort("p"), .customLong("port")], help: ArgumentHelp("Listen on TCP PORT (default 10809).", valueName: "PORT"))
    var port: UInt16?

    @Option(name: [.customShort("i"), .customLong("ipaddr")], help: ArgumentHelp("Listen on ADDR only.", valueName: "ADDR"))
    var ipAddress: String?

    @Flag(name: [.customShort("s"), .customLong("single")], help: "Serve one client on standard input and output.")
    var single = false

    @Option(name: .customLong("run"), parsing: .unconditional,
            help: ArgumentHelp("Run CMD in a shell with $nbd, $uri, $unixsocket, $port, $exportname and $tls set; exit with its status.",
                               valueName: "CMD"))
    var runCommand: String?

    @Flag(name: [.customShort("f"), .customLong("foreground")], help: "Do not fork into the background.")
    var foreground = false

    @Flag(name: .customLong("exit-with-parent"), help: "Exit when the parent process exits.")
    var exitWithParent = false

    @Option(name: [.customShort("P"), .customLong("pidfile")], help: ArgumentHelp("Write the server's process id to PIDFILE.", valueName: "PIDFILE"))
    var pidFile: String?

    @Option(name: [.customShort("e"), .customLong("exportname")], help: ArgumentHelp("The export name to advertise.", valueName: "NAME"))
    var exportName = ""

    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Log a debug line per request.")
    var verbose = false

    @Flag(name: [.customShort("r"), .customLong("readonly")], help: "Refused: a stream's direction comes from read= or write=.")
    var readOnly = false

    @Flag(name: [.customShort("o"), .customLong("oldstyle")], help: "Use the oldstyle handshake.")
    var oldstyle = false

    @Flag(name: [.customShort("n"), .customLong("newstyle")], help: "Use the fixed newstyle handshake (the default).")
    var newstyle = false

    @Option(name: .customLong("unix-mode"), help: ArgumentHelp("Permissions of the -U socket, in octal; 600 lets only the owner connect.", valueName: "MODE"))
    var unixMode: String = "600"

    @Option(name: .customLong("handshake-timeout"),
            help: ArgumentHelp("Drop clients that have not finished the handshake after SECONDS (0: never).", valueName: "SECONDS"))
    var handshakeTimeout: Int = ServerConfiguration().handshakeTimeout

    @Option(name: .customLong("max-connections"),
            help: ArgumentHelp("Clients in transmission at once; a further client's GO is refused.", valueName: "N"))
    var maximumConnections: Int = ServerConfiguration().maximumConnections

    @Option(name: .customLong("max-handshakes"),
            help: ArgumentHelp("Clients in their handshake at once; a further one ends the handshake idle longest.", valueName: "N"))
    var maximumHandshakes: Int = ServerConfiguration().maximumHandshakes

    @Option(name: .customLong("tls"), help: ArgumentHelp(
        "TLS for clients: off, on (clients choose) or require. Default: on when credentials are found, else off.",
        valueName: "off|on|require"))
    var tls: TLSSetting?

    @Option(name: .customLong("tls-certificates"), help: ArgumentHelp(
        "Directory holding ca-cert.pem, server-cert.pem, server-key.pem and optionally ca-crl.pem.",
        valueName: "DIR"))
    var tlsCertificates: String?

    @Option(name: .customLong("tls-psk"), help: ArgumentHelp(
        "File of username:key lines (psktool); used instead of certificates.",
        valueName: "FILE"))
    var tlsPSK: String?

    @Flag(name: .customLong("tls-verify-peer"), help: "Require X.509 clients to present a certificate signed by the CA.")
    var tlsVerifyPeer = false

    @Flag(name: .customLong("dump-plugin"), help: "Print the plugin's properties and exit.")
    var dumpPlugin = false

    @Argument(help: ArgumentHelp("write=PATH or read=PATH, and the optional parameters above.", valueName: "key=value"),
              completion: .list(ParameterHelp.completionCandidates))
    var parameters: [String] = []

    func validate() throws {
        if oldstyle && newstyle { throw ValidationError("-o and -n are mutually exclusive") }
        if oldstyle && tls == .require { throw ValidationError("cannot use oldstyle protocol (-o) and require TLS") }
        let listeners = [unixSocket != nil, port != nil || ipAddress != nil, single].filter { $0 }.count
        if listeners > 1 { throw ValidationError("choose one of -U, -p/-i and -s") }
        if single && runCommand != nil { throw ValidationError("-s and --run are mutually exclusive") }
        if socketMode == nil { throw ValidationError("--unix-mode takes an octal mode such as 600 or 660") }
        if handshakeTimeout < 0 { throw ValidationError("--handshake-timeout cannot be negative") }
        if maximumConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if maximumHandshakes < 1 { throw ValidationError("--max-handshakes must be at least 1") }
    }

    var listenMode: ListenMode {
        if single { return .single }
        if let unixSocket { return unixSocket == "-" ? .privateUnix : .unix(path: unixSocket) }
        return .tcp(host: ipAddress, port: port ?? 10809)
    }

    var socketMode: mode_t? {
        mode_t(unixMode, radix: 8).flatMap { $0 <= 0o777 ? $0 : nil }
    }

    func serverOptions(tls: TLSMode) -> ServerOptions {
        var options = ServerOptions()
        options.listen = listenMode
        options.foreground = foreground
        options.pidFile = pidFile.map { StreamingConfiguration.absolute($0, in: currentDirectory()) }
        options.exitWithParent = exitWithParent
        options.captive = runCommand.map(CaptiveCommand.init)
        options.configuration.handshake = oldstyle ? .oldstyle : .newstyle
        options.configuration.exportName = exportName
        options.configuration.handshakeTimeout = handshakeTimeout
        options.configuration.maximumConnections = maximumConnections
        options.configuration.maximumHandshakes = maximumHandshakes
        options.configuration.tls = tls
        options.socketMode = socketMode ?? 0o600
        return options
    }

    static let dumpedProperties = """
        name=streaming
        version=\(Release.version)
        api_version=2
        thread_model=serialize_all_requests
        has_pread=1
        has_pwrite=1
        has_zero=1
        has_flush=1
        has_cache=1
        has_extents=1
        """
}

func currentDirectory() -> String {
    guard let path = getcwd(nil, 0) else { return "/" }
    defer { free(path) }
    return String(cString: path)
}
