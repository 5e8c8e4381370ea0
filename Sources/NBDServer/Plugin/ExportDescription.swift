import NBDProtocol

/// The export's shape, fixed for the server's lifetime.
public struct ExportDescription: Sendable, Equatable {
    public var size: UInt64
    public var isReadOnly: Bool
    public var description: String?
    /// The smallest, preferred and largest request sizes the plugin takes;
    /// the largest bounds READ and WRITE payloads.
    public var minimumBlockSize: UInt32
    public var preferredBlockSize: UInt32
    public var maximumPayload: UInt32
    /// Whether several connections see one consistent export (multi-conn).
    public var canMultiConn: Bool

    public init(size: UInt64, isReadOnly: Bool, description: String? = nil, minimumBlockSize: UInt32 = 1,
                preferredBlockSize: UInt32 = 4096, maximumPayload: UInt32 = ExportDescription.defaultMaximumPayload,
                canMultiConn: Bool = false) {
        self.size = size
        self.isReadOnly = isReadOnly
        self.description = description
        self.minimumBlockSize = minimumBlockSize
        self.preferredBlockSize = preferredBlockSize
        self.maximumPayload = maximumPayload
        self.canMultiConn = canMultiConn
    }

    /// 32 MiB: the most the spec says a client may send without asking, and
    /// what nbdkit allows.
    public static let defaultMaximumPayload = NBDLimits.defaultMaximumPayload
}

/// A run of bytes with one allocation state, as nbdkit's extents callback
/// reports them.
public struct PluginExtent: Equatable, Sendable {
    public struct Kind: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// No storage behind the bytes.
        public static let hole = Kind(rawValue: 1 << 0)
        /// The bytes read as zeroes.
        public static let zero = Kind(rawValue: 1 << 1)
        public static let data: Kind = []
    }

    public var length: UInt32
    public var kind: Kind

    public init(length: UInt32, kind: Kind) {
        self.length = length
        self.kind = kind
    }
}
