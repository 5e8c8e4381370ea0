import Foundation
import NBDProtocol
import TestSupport
import TLS

/// An NBD client on a bare socket that upgrades with STARTTLS through a client
/// `TLSSession` of the TLS module, then speaks NBD inside the session: the
/// module's client side against a real server.
final class TLSNBDClient {
    private let raw: RawClient
    var session: TLSSession { raw.session! }

    /// Greets, sends NBD_OPT_STARTTLS, and runs the handshake (bounded).
    init(socket: String, credentials: TLSClientCredentials, serverName: String? = nil) throws {
        raw = try RawClient(socket: socket)
        try raw.greet()
        let reply = try raw.startTLS(credentials, serverName: serverName)
        guard reply.type == .ack else { throw TestFailure("STARTTLS answered \(reply.type)") }
    }

    /// Sends NBD_OPT_EXPORT_NAME inside the session; returns the export's size.
    func enterTransmission() throws -> UInt64 {
        try raw.exportName()
    }

    /// One WRITE whose header and payload go to the session as separate buffers.
    func write(_ bytes: [UInt8], at offset: UInt64, cookie: UInt64 = 1) throws -> ReplyHeader {
        let header = RequestHeader(command: .write, cookie: cookie, offset: offset, length: UInt32(bytes.count)).encode()
        try session.write(gathering: [header, bytes])
        return try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength))
    }

    func read(_ count: Int, at offset: UInt64, cookie: UInt64 = 2) throws -> (ReplyHeader, [UInt8]) {
        try raw.send(RequestHeader(command: .read, cookie: cookie, offset: offset, length: UInt32(count)).encode())
        let reply = try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength))
        return (reply, try raw.receive(count))
    }

    /// NBD_CMD_DISC, then the closing alert.
    func disconnect() throws {
        try raw.disconnect()
    }
}
