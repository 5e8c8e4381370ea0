/// What the server asks of a plugin. Like an nbdkit plugin it knows nothing of
/// the protocol: it answers in its own vocabulary (errno-style `PluginError`,
/// `PluginExtent`), which the server maps to the wire in one place, and the
/// server has already validated every request against the export's size,
/// flags and block sizes before a callback runs. Consecutive WRITEs a client
/// pipelined may arrive as one `write`, longer than the maximum payload.
public protocol NBDPlugin: Sendable {
    /// The export as the handshake advertises it; fixed for the server's lifetime.
    var export: ExportDescription { get }

    /// Called when a client finishes negotiation; throwing refuses the client.
    func openConnection() throws(PluginError)
    func closeConnection()

    func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) throws(PluginError)
    func write(_ data: UnsafeRawBufferPointer, offset: UInt64, fua: Bool) throws(PluginError)
    func writeZeroes(length: UInt32, offset: UInt64, fua: Bool) throws(PluginError)
    func flush() throws(PluginError)
    func cache(length: UInt32, offset: UInt64) throws(PluginError)
    /// Allocation extents starting at `offset`, covering at least one byte and
    /// at most `length` bytes.
    func extents(length: UInt32, offset: UInt64) throws(PluginError) -> [PluginExtent]

    /// The server is stopping: finish what can be finished and release whoever
    /// waits on the plugin's resources, giving a request still in progress up
    /// to `patience`. Returns why the export's content is incomplete, if it
    /// is, so the server's exit status can say so.
    func shutdown(patience: Duration) -> PluginError?
}
