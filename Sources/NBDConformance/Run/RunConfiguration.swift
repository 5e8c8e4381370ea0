import NBDClient

/// Everything a run needs, as parsed from the command line.
public struct RunConfiguration: Sendable {
    public enum Deployment: Sendable {
        /// Start a fresh server per case from this shell template.
        case serverTemplate(String)
        /// Use a server that is already running and streams once, optionally with its pipe.
        case target(NBDEndpoint, pipe: String?)
    }

    public var deployment: Deployment
    public var profile: Profile = .streaming
    /// `--allow-writes`: disk-profile cases may write to a live `--target`.
    public var allowWrites = false
    public var filters: [String] = []
    public var excludes: [String] = []
    public var strict = false
    public var long = false
    /// Adds the cases for nbd-streaming's reorder= and retain= windows.
    public var windows = false
    /// `--tls-psk` or `--tls-certificates` (or an nbds:// target's own): adds the `tls` group, whose servers
    /// get `$TLS`; against a target, every client presents them.
    public var tls: TLSSetup?
    public var seed: UInt64
    /// Seconds per case before the server is killed and the case fails as a timeout.
    public var timeout: Double = 20
    public var jobs = 1
    public var junitPath: String?
    public var jsonPath: String?

    public init(deployment: Deployment, seed: UInt64) {
        self.deployment = deployment
        self.seed = seed
    }

    /// The default template runs our own server; `-f` keeps it in the foreground so its process group can be stopped.
    public static let defaultTemplate = "nbd-streaming -f -U $SOCKET $TLS $ARGS"
}
