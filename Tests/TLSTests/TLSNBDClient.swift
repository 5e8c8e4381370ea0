import Foundation
import NBDProtocol
import SystemPackage
import TestSupport
import TLS

/// An NBD client on a bare socket that upgrades with STARTTLS through a client
/// `TLSSession` of the TLS module, then speaks NBD inside the session: the
/// module's client side against a real server.
final class TLSNBDClient {
    private let raw: RawClient
    let session: TLSSession

    /// Greets, sends NBD_OPT_STARTTLS, and runs the handshake (bounded).
    init(socket: String, credentials: TLSClientCredentials, serverName: String? = nil) throws {
        raw = try RawClient(socket: socket)
        try raw.greet()
        try raw.send(OptionHeader(code: .startTLS, length: 0).encode())
        let reply = try raw.receiveOptionReply()
        guard reply.option == .startTLS, reply.type == .ack else { throw TestFailure("STARTTLS answered \(reply.type)") }
        session = try TLSSession.client(socket: FileDescriptor(rawValue: raw.descriptor), credentials: credentials, serverName: serverName)
        try session.handshake(deadline: .now + .seconds(10))
    }

    /// Sends NBD_OPT_EXPORT_NAME inside the session; returns the export's size.
    func enterTransmission() throws -> UInt64 {
        try send([OptionHeader(code: .exportName, length: 0).encode()])
        var reader = ByteReader(try receive(10))
        let size: UInt64 = try reader.read()
        return size
    }

    /// One WRITE whose header and payload go to the session as separate buffers.
    func write(_ bytes: [UInt8], at offset: UInt64, cookie: UInt64 = 1) throws -> ReplyHeader {
        let header = RequestHeader(command: .write, cookie: cookie, offset: offset, length: UInt32(bytes.count)).encode()
        try send([header, bytes])
        return try ReplyHeader.decode(receive(Reply.simpleHeaderLength))
    }

    func read(_ count: Int, at offset: UInt64, cookie: UInt64 = 2) throws -> (ReplyHeader, [UInt8]) {
        try send([RequestHeader(command: .read, cookie: cookie, offset: offset, length: UInt32(count)).encode()])
        let reply = try ReplyHeader.decode(receive(Reply.simpleHeaderLength))
        return (reply, try receive(count))
    }

    /// NBD_CMD_DISC, then the closing alert.
    func disconnect() throws {
        try send([RequestHeader(command: .disconnect, cookie: 3, offset: 0, length: 0).encode()])
        try session.bye()
    }

    func send(_ buffers: [[UInt8]]) throws {
        try session.write(gathering: buffers)
    }

    func receive(_ count: Int) throws -> [UInt8] {
        try session.readExactly(count)
    }
}

extension TLSSession {
    func write(gathering buffers: [[UInt8]]) throws {
        // Pin every array at once: the module takes them as one gathered write.
        func pin(_ index: Int, _ pinned: [UnsafeRawBufferPointer]) throws {
            guard index < buffers.count else { return try write(pinned) }
            try buffers[index].withUnsafeBytes { try pin(index + 1, pinned + [$0]) }
        }
        try pin(0, [])
    }

    /// Exactly `count` bytes; the peer closing first fails the test.
    func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = try bytes.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            guard got > 0 else { throw TestFailure("the peer closed the TLS session after \(filled) of \(count) bytes") }
            filled += got
        }
        return bytes
    }
}
