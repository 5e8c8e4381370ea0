/// A plugin whose data lives in a pipe can move it without copying: it says so
/// by conforming. When the client's connection is a plain socket the kernel can
/// splice, the server hands such a plugin every READ, and every WRITE whose
/// payload is still (partly) in the socket, through these two calls instead of
/// the in-memory ones. The objects it receives belong to the server and move
/// bytes through the client's socket on the plugin's behalf (docs/design.md,
/// "Zero copy"); a plugin that cannot splice a given request uses their
/// in-memory side, so no request is ever planned twice.
public protocol ZeroCopyPlugin: NBDPlugin {
    /// Serves a WRITE whose payload is still in the client's socket. Whatever
    /// the plugin leaves unread, the server skips, so the connection stays in step.
    func write(_ payload: SocketPayload, offset: UInt64, fua: Bool) throws(PluginError)
    /// Serves a READ: the plugin either moves its bytes from a pipe with
    /// `reply.send(from:)`, or fills `reply.buffer` and returns, and the server sends it.
    func read(_ reply: PipeReply, offset: UInt64) throws(PluginError)
}
