import NBDProtocol
import TLS

/// How the server talks to clients; fixed at start-up.
public struct ServerConfiguration: Sendable {
    public enum Handshake: Sendable { case newstyle, oldstyle }

    public var handshake: Handshake = .newstyle
    /// The name LIST reports and `$exportname` carries; clients may ask for any name.
    public var exportName: String = ""
    /// A WRITE whose payload exceeds the advertised maximum is read and dropped
    /// up to this many bytes and answered with an error; a longer one closes
    /// the connection, so a lying length cannot keep the server busy for long.
    public var maximumDiscardedPayload: UInt64 = 128 * 1024 * 1024
    /// Options a client may send before it must pick an export.
    public var maximumOptions = 64
    /// A client that has not finished its handshake by then is dropped, so
    /// connections that say nothing cannot pile up. Zero waits forever.
    public var handshakeTimeout: Int = 60
    /// Clients in transmission at once (`--max-connections`); a further
    /// client's GO is refused with NBD_REP_ERR_POLICY.
    public var maximumConnections: Int = 16
    /// Clients in their handshake at once (`--max-handshakes`); a further
    /// one takes the place of the handshake idle longest (ConnectionSlots).
    public var maximumHandshakes: Int = 256
    /// nbdkit's `--tls`: whether STARTTLS is refused, offered or required.
    public var tls: TLSMode = .off

    public init() {}
}
