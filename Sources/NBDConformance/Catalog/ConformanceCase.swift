/// How a case runs against a server the harness did not start (`--target`), which streams only once: every case
/// that leaves the stream usable runs as the next segment of it, and one case that ends the stream runs last.
public enum TargetRole: Sendable, Equatable {
    /// Leaves the stream untouched, so it runs first.
    case negotiation
    /// Streams a segment: its offsets are relative to the highwater the previous segment left.
    case segment
    /// Ends the stream (the error state, end of file). These run last, by `order`; only the first of order 1
    /// that runs ends the stream, and the cases of higher order follow it up.
    case endsStream(order: Int)
    /// Cannot run on a shared stream, for the reason given.
    case freshServerOnly(String)
}

/// The out-of-order windows a case's server is started with: nbd-streaming's `reorder=` and `retain=`, an
/// extension of the nbdkit contract, so cases that set one run only under `--windows`.
public struct StreamWindows: Sendable, Equatable {
    public var reorder: UInt64 = 0
    public var retain: UInt64 = 0

    public init(reorder: UInt64 = 0, retain: UInt64 = 0) {
        self.reorder = reorder
        self.retain = retain
    }

    public static let none = StreamWindows()

    /// The parameters that ask the server for these windows, appended to `$ARGS`.
    var arguments: String {
        (reorder > 0 ? " reorder=\(reorder)" : "") + (retain > 0 ? " retain=\(retain)" : "")
    }
}

/// Which contract a run checks: nbdkit's streaming plugin (the default), or a random-access disk.
public enum Profile: String, Sendable, Codable, CaseIterable {
    case streaming
    case disk
}

/// One entry of the catalog. The ID is owned and stable (`group/what-is-checked`), never a position.
public struct ConformanceCase: Sendable {
    public let id: String
    public let summary: String
    /// The sentence the case checks, its source and its level.
    public let requirement: Requirement
    /// The profile whose catalog the case belongs to; negotiation cases that assume no stream are in both.
    public let profiles: Set<Profile>
    /// Writes to the export: against a live `--target` in the disk profile it needs `--allow-writes`.
    public let writesToExport: Bool
    /// The server the case needs: its mode (nil: either, a fresh server uses write mode) and `size=` (nil: the
    /// server's default size).
    public let mode: StreamMode?
    public let size: UInt64?
    public let role: TargetRole
    /// Runs only under `--long`.
    public let isLong: Bool
    public let windows: StreamWindows
    /// Cases that move gigabytes get this many times `--timeout`, so the option can stay tuned to hangs.
    public let timeoutScale: Double
    /// The `tls` group: how the case's server treats TLS (`$TLS` gives it the harness's credentials); such
    /// cases run only when the harness has credentials. Nil: the server runs without TLS.
    public let serverTLS: ServerTLS?
    let body: @Sendable (CaseContext) throws -> Void

    init(
        _ id: String, _ summary: String, _ requirement: Requirement, profile: Profile? = .streaming, writesToExport: Bool = false,
        mode: StreamMode? = .write, size: UInt64? = 1 << 20, role: TargetRole = .segment, isLong: Bool = false,
        windows: StreamWindows = .none, timeoutScale: Double = 1, tls: ServerTLS? = nil,
        body: @escaping @Sendable (CaseContext) throws -> Void
    ) {
        self.id = id
        self.summary = summary
        self.requirement = requirement
        // A negotiation case without a mode assumes nothing of the export, so every profile shares it.
        self.profiles = profile.map { [$0] } ?? Set(Profile.allCases)
        self.writesToExport = writesToExport
        self.mode = mode
        self.size = size
        self.role = role
        self.isLong = isLong
        self.windows = windows
        self.timeoutScale = timeoutScale
        self.serverTLS = tls
        self.body = body
    }

    public var level: RequirementLevel { requirement.level }

    /// In a run without --strict, --long, --windows or TLS credentials.
    public var runsByDefault: Bool { level == .must && !isLong && windows == .none && serverTLS == nil }

    /// The mode a fresh server for this case is started in.
    var serverMode: StreamMode { mode ?? .write }

    /// The part of the ID before the first slash: negotiation, sequential, seeking, oversized, windows, tls or disk.
    public var group: String { String(id.prefix { $0 != "/" }) }
    /// The part after it, used as the JUnit test name.
    public var name: String { String(id.drop { $0 != "/" }.dropFirst()) }
}
