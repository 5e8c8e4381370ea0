import Glibc
import SystemIO
import SystemPackage
import TLS

/// The raw client's TLS: NBD_OPT_STARTTLS by hand, then the harness's own GnuTLS session (the TLS module), so
/// the cases can send what libnbd never would around the upgrade.
extension RawNBDSocket {
    /// The TLS handshake after NBD_REP_ACK failed: the reason GnuTLS gives.
    struct HandshakeFailed: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Sends NBD_OPT_STARTTLS, with `trailing` bytes in the same send (plaintext injected behind the request),
    /// and returns the server's reply; after NBD_REP_ACK the TLS handshake runs, and every later byte goes
    /// through the session. A handshake that fails throws `HandshakeFailed`.
    func startTLS(_ credentials: TLSClientCredentials, trailing: [UInt8] = []) throws -> OptionReply {
        try send(Self.bytes(Wire.optionMagic) + Self.bytes(Wire.Option.startTLS.rawValue) + Self.bytes(UInt32(0)) + trailing)
        let reply = try readOptionReply()
        guard reply.option == Wire.Option.startTLS.rawValue, reply.type == Wire.replyAck else { return reply }
        let tls: TLSSession
        do {
            tls = try TLSSession.client(socket: FileDescriptor(rawValue: fd), credentials: credentials)
            try tls.handshake(deadline: .now + .seconds(10))
        } catch {
            throw HandshakeFailed(reason: "\(error)")
        }
        session.withLock { $0 = tls }
        return reply
    }

    /// Inside TLS 1.3: a KeyUpdate that also asks the server to renew its keys, so both directions change keys.
    func updateKeys() throws {
        guard let tls = session.withLock({ $0 }) else { throw HarnessError("a key update needs the TLS session") }
        guard tls.negotiated.hasPrefix("(TLS1.3)") else { throw CaseSkip("the session is \(tls.negotiated): only TLS 1.3 has KeyUpdate") }
        do {
            try tls.updateKeys(askingPeer: true)
        } catch {
            throw CaseFailure("the server ended the TLS session while the harness sent a KeyUpdate: \(error)", kind: .connection)
        }
    }

    /// The upgrade a server that requires TLS needs before any other option.
    func upgrade(with credentials: TLSClientCredentials) throws {
        let reply: OptionReply
        do { reply = try startTLS(credentials) } catch let failure as HandshakeFailed {
            throw CaseFailure("the TLS handshake with the target failed: \(failure.reason)", kind: .connection)
        }
        try expect(reply.type == Wire.replyAck, "NBD_OPT_STARTTLS is accepted by a server that requires TLS",
                   expected: "NBD_REP_ACK", actual: "0x\(String(reply.type, radix: 16))")
    }

    static func send(_ bytes: [UInt8], through tls: TLSSession) throws {
        do {
            try bytes.withUnsafeBytes { try tls.write($0) }
        } catch {
            throw CaseFailure("the server ended the TLS session while the harness was sending: \(error)", kind: .connection)
        }
    }

    static func read(_ count: Int, through tls: TLSSession) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got: Int
            do {
                got = try bytes.withUnsafeMutableBytes { try tls.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            } catch {
                throw CaseFailure("the TLS session failed after \(done) of \(count) expected bytes: \(error)", kind: .connection)
            }
            guard got > 0 else { throw CaseFailure("the server closed the connection after \(done) of \(count) expected bytes", kind: .connection) }
            done += got
        }
        return bytes
    }

    /// Before any upgrade: what the server sends, up to `limit` bytes, and whether it then closed the connection
    /// within `seconds`.
    func bytesBeforeClose(limit: Int, seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var bytes: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: limit)
        while bytes.count < limit, ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) >= 0 else { break }
            guard poller.revents != 0 else { continue }
            let count = recv(fd, &scratch, limit - bytes.count, 0)
            if count <= 0 { return (bytes, true) }
            bytes += scratch[..<count]
        }
        return (bytes, false)
    }

    /// Inside TLS: true once the session ends (close_notify, a cut or an error) within `seconds`. Each read
    /// waits at most what is left of them (the socket's receive timeout), however the server spreads its bytes.
    static func session(_ tls: TLSSession, on fd: Int32, closesWithin seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - .now
            guard left > .zero else { return false }
            Socket.setReceiveTimeout(FileDescriptor(rawValue: fd), left)
            do {
                if try scratch.withUnsafeMutableBytes({ try tls.read(into: $0) }) == 0 { return true }
            } catch .timedOut {
                return false
            } catch {
                return true
            }
        }
    }
}
