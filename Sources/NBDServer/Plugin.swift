import NBDProtocol

/// A failed plugin call: the error number the client receives and a message for
/// the log (and for structured error chunks).
public struct PluginError: Error, Equatable, Sendable, CustomStringConvertible {
    public var error: WireError
    public var message: String

    public init(_ error: WireError, _ message: String) {
        self.error = error
        self.message = message
    }

    public var description: String { "\(message) (\(error))" }
}

/// What the server asks of a plugin. Like an nbdkit plugin it knows nothing of
/// the protocol: the server has already validated every request against the
/// export's size, flags and block sizes before a callback runs.
public protocol NBDPlugin: Sendable {
    /// The export as the handshake advertises it.
    var export: ExportDescription { get }

    /// Called when a client finishes negotiation; throwing refuses the client.
    func openConnection() throws(PluginError)
    func closeConnection()

    func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError)
    func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError)
    func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError)
    func flush() throws(PluginError)
    func cache(length: UInt32, offset: UInt64) throws(PluginError)
    /// base:allocation extents starting at `offset`, covering at least one byte
    /// and at most `length` bytes.
    func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [Extent]

    /// Whether WRITE payloads should reach `write(splicing:offset:fua:)` still
    /// in the client's socket, so the plugin can move them without a copy.
    var splicesWrites: Bool { get }
    func write(splicing payload: SocketPayload, offset: UInt64, fua: Bool) throws(PluginError)
    /// Whether reads should first be offered to `read(splicingTo:offset:)`.
    var splicesReads: Bool { get }
    /// Serves a read by moving its bytes straight from a pipe to the client
    /// when that is possible now; false sends the server to `read(into:offset:)`.
    func read(splicingTo reply: SplicedReply, offset: UInt64) throws(PluginError) -> Bool

    /// The server is stopping: finish what can be finished and release whoever
    /// waits on the plugin's resources, giving a request still in progress up
    /// to `patience`. Returns why the export's content is incomplete, if it
    /// is, so the server's exit status can say so.
    func shutdown(patience: Duration) -> PluginError?
}

/// Plugins without a zero-copy path take every payload in memory.
extension NBDPlugin {
    public var splicesWrites: Bool { false }
    public var splicesReads: Bool { false }

    public func write(splicing payload: SocketPayload, offset: UInt64, fua: Bool) throws(PluginError) {
        preconditionFailure("a plugin that splices writes implements write(splicing:)")
    }

    public func read(splicingTo reply: SplicedReply, offset: UInt64) throws(PluginError) -> Bool { false }
}

/// The export's shape, fixed for the server's lifetime.
public struct ExportDescription: Sendable, Equatable {
    public var size: UInt64
    public var isReadOnly: Bool
    public var description: String?
    public var blockSizes: BlockSizeConstraints
    /// Whether several connections see one consistent export (NBD_FLAG_CAN_MULTI_CONN).
    public var canMultiConn: Bool

    public init(size: UInt64, isReadOnly: Bool, description: String? = nil, blockSizes: BlockSizeConstraints, canMultiConn: Bool = false) {
        self.size = size
        self.isReadOnly = isReadOnly
        self.description = description
        self.blockSizes = blockSizes
        self.canMultiConn = canMultiConn
    }

    /// Transmission flags for this export; the server supports every command it
    /// lists. DF only means something once structured replies are on.
    public func transmissionFlags(structuredReplies: Bool) -> TransmissionFlags {
        var flags: TransmissionFlags = [.hasFlags, .sendFlush, .sendFUA, .sendCache]
        if structuredReplies { flags.insert(.sendDF) }
        if canMultiConn { flags.insert(.canMultiConn) }
        if isReadOnly {
            flags.insert(.readOnly)
        } else {
            flags.formUnion([.sendWriteZeroes, .sendFastZero])
        }
        return flags
    }
}
