import Foundation
import NBDProtocol
import SystemPackage
import TLS

extension RawClient {
    /// Sends NBD_OPT_STARTTLS (with `trailing` bytes in the same send, to
    /// inject plaintext behind it) and returns the server's answer; after
    /// NBD_REP_ACK it runs the TLS handshake (bounded) and speaks through
    /// the session from then on.
    @discardableResult
    public func startTLS(_ credentials: TLSClientCredentials, serverName: String? = nil, trailing: [UInt8] = []) throws -> OptionReply {
        let reply = try requestStartTLS(trailing: trailing)
        guard reply.option == .startTLS, reply.type == .ack else { return reply }
        try handshakeTLS(credentials, serverName: serverName)
        return reply
    }

    /// NBD_OPT_STARTTLS and the server's answer, without the TLS handshake.
    public func requestStartTLS(trailing: [UInt8] = []) throws -> OptionReply {
        try send(OptionHeader(code: .startTLS, length: 0).encode() + trailing)
        return try receiveOptionReply()
    }

    /// The TLS handshake after NBD_REP_ACK (bounded); the session speaks for the client from then on.
    public func handshakeTLS(_ credentials: TLSClientCredentials, serverName: String? = nil) throws {
        let tls = try TLSSession.client(socket: FileDescriptor(rawValue: descriptor), credentials: credentials, serverName: serverName)
        try tls.handshake(deadline: .now + .seconds(10))
        session = tls
    }

    /// Sends one option and reads its replies up to the final one.
    public func option(_ code: OptionCode, _ payload: [UInt8] = []) throws -> [OptionReply] {
        try send(OptionHeader(code: code, length: UInt32(payload.count)).encode() + payload)
        var replies = [try receiveOptionReply()]
        while replies.last!.type == .server || replies.last!.type == .info || replies.last!.type == .metaContext {
            replies.append(try receiveOptionReply())
        }
        return replies
    }

    /// NBD_OPT_EXPORT_NAME with NO_ZEROES negotiated; returns the export's size.
    public func exportName() throws -> UInt64 {
        try send(OptionHeader(code: .exportName, length: 0).encode())
        var reader = ByteReader(try receive(10))
        let size: UInt64 = try reader.read()
        return size
    }

    /// One WRITE, its header and payload in one send; returns the simple reply.
    public func write(_ bytes: [UInt8], at offset: UInt64, cookie: UInt64 = 1) throws -> ReplyHeader {
        try send(RequestHeader(command: .write, cookie: cookie, offset: offset, length: UInt32(bytes.count)).encode() + bytes)
        return try ReplyHeader.decode(receive(Reply.simpleHeaderLength))
    }

    /// NBD_CMD_DISC, then the closing alert when TLS is on (unless the server
    /// has hung up already, as it may once DISC is in).
    public func disconnect() throws {
        try send(RequestHeader(command: .disconnect, cookie: 3, offset: 0, length: 0).encode())
        try? session?.bye()
    }
}

extension TLSSession {
    public func write(gathering buffers: [[UInt8]]) throws {
        // Pin every array at once: the module takes them as one gathered write.
        func pin(_ index: Int, _ pinned: [UnsafeRawBufferPointer]) throws {
            guard index < buffers.count else { return try write(pinned) }
            try buffers[index].withUnsafeBytes { try pin(index + 1, pinned + [$0]) }
        }
        try pin(0, [])
    }

    /// Exactly `count` bytes; the peer closing first fails the test.
    public func readExactly(_ count: Int) throws -> [UInt8] {
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
