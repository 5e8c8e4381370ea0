import Foundation
import SystemPackage
import TestSupport
import Testing
import TLS

/// A server session and a client session of the module, face to face over a
/// socket pair: the handshake, gathered writes, buffered input, key updates,
/// the closing alert, the handshake deadline, client certificates, kernel-TLS
/// detection. Every wait is bounded by the pair's receive timeout or by a
/// `Background` wait, so a broken session fails a test instead of hanging it.
@Suite struct SessionTests {
    struct Sessions {
        let pair: SocketPair
        let server: TLSSession
        let client: TLSSession
    }

    /// Both handshakes, the server's on another thread; both must succeed.
    static func connect(_ server: TLSServerCredentials, _ client: TLSClientCredentials, tcp: Bool = false) throws -> Sessions {
        let pair = try SocketPair(tcp: tcp)
        let serverSession = try TLSSession.server(input: pair.server, credentials: server)
        let handshake = Background { try serverSession.handshake(deadline: .now + .seconds(10)) }
        let clientSession = try TLSSession.client(socket: pair.client, credentials: client)
        try clientSession.handshake(deadline: .now + .seconds(10))
        try handshake.wait().get()
        return Sessions(pair: pair, server: serverSession, client: clientSession)
    }

    static func pskSessions(_ keys: TLSKeys, tcp: Bool = false) throws -> Sessions {
        try connect(.preSharedKeys(file: keys.pskFile), .preSharedKey(file: keys.pskFile, username: keys.username), tcp: tcp)
    }

    /// Bytes the socket holds that no read has taken yet.
    static func unread(_ socket: FileDescriptor) -> Int32 {
        var count: Int32 = -1
        _ = ioctl(socket.rawValue, UInt(FIONREAD), &count)
        return count
    }

    @Test func gatheredBuffersArriveWholeAndInOrder() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        #expect(sessions.server.pskUsername == keys.username)
        // Sizes around the 16 KiB record: tiny, exact, one over, large, empty.
        let sizes = [1, 16, 16384, 16385, 100_000, 0, 7, 3 * 16384, 5]
        let buffers = sizes.enumerated().map { testPattern(count: $0.element, seed: UInt64($0.offset + 1)) }
        let total = sizes.reduce(0, +)
        let server = sessions.server
        let received = Background { try server.readExactly(total) }
        try sessions.client.write(gathering: buffers)
        #expect(try received.wait().get() == buffers.flatMap { $0 })
    }

    /// The rest of a decrypted record waits in the session: a read takes it
    /// though the socket is empty, where waiting on the socket would end in
    /// the pair's receive timeout.
    @Test func decryptedBytesWaitInTheSession() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        // Three small buffers gathered into one record of 300 bytes.
        try sessions.client.write(gathering: [[UInt8](repeating: 1, count: 100), [UInt8](repeating: 2, count: 100), [UInt8](repeating: 3, count: 100)])
        #expect(try sessions.server.readExactly(10) == [UInt8](repeating: 1, count: 10))
        #expect(Self.unread(sessions.pair.server) == 0)
        var rest = [UInt8](repeating: 0, count: 1000)
        #expect(try rest.withUnsafeMutableBytes { try sessions.server.read(into: $0) } == 290)
        #expect(rest[..<290].elementsEqual([UInt8](repeating: 1, count: 90) + [UInt8](repeating: 2, count: 100) + [UInt8](repeating: 3, count: 100)))
    }

    /// After the handshake the session reads the socket ahead of GnuTLS: one
    /// read takes every record that has arrived, and a later read finds them
    /// in the session, not on the socket.
    @Test func recordsThatArrivedTogetherAreReadTogether() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        let data = testPattern(count: 3 * 16384 + 500)
        try sessions.client.write(gathering: [data])
        let socket = sessions.pair.server
        try waitUntil("the four records to arrive") { Self.unread(socket) >= Int32(data.count + 4 * 22) }
        #expect(try sessions.server.readExactly(10) == Array(data[..<10]))
        #expect(Self.unread(socket) == 0, "the records were left in the socket")
        var rest = [UInt8](repeating: 0, count: data.count)
        #expect(try rest.withUnsafeMutableBytes { try sessions.server.read(into: $0) } == data.count - 10)
        #expect(rest[..<(data.count - 10)].elementsEqual(data[10...]), "the bytes read differ from those sent")
    }

    /// GnuTLS answers GNUTLS_E_AGAIN after it processes a KeyUpdate, even on
    /// a blocking socket: neither side may take that for a timeout. The
    /// update follows the data in the socket (a Unix socket holds what was
    /// sent before send returns), so a read that waited for more input after
    /// it would end in the pair's receive timeout.
    @Test(arguments: [false, true])
    func keyUpdatesMidStreamLoseNothing(askingPeer: Bool) throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        let first = testPattern(count: 70_000, seed: 1), second = testPattern(count: 5000, seed: 2)
        try sessions.client.write(gathering: [first])
        try sessions.client.updateKeys(askingPeer: askingPeer)
        var received = [UInt8](repeating: 0, count: 2 * first.count)
        var filled = 0
        while filled < first.count {
            filled += try received.withUnsafeMutableBytes { try sessions.server.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
        }
        #expect(filled == first.count)
        #expect(received[..<filled].elementsEqual(first))
        // Both directions go on under the new keys; the client meets the server's own KeyUpdate first.
        try sessions.server.write(gathering: [second])
        #expect(try sessions.client.readExactly(second.count) == second)
        try sessions.client.write(gathering: [second])
        #expect(try sessions.server.readExactly(second.count) == second)
    }

    /// The socket's own receive timeout still ends a read: a GnuTLS
    /// GNUTLS_E_AGAIN from the transport is a timeout, not a retry.
    @Test func aReceiveTimeoutStillEndsARead() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(sessions.pair.server.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let server = sessions.server
        let read = Background { () throws -> Int in
            var byte: UInt8 = 0
            return try withUnsafeMutableBytes(of: &byte) { try server.read(into: $0) }
        }
        #expect(throws: TLSError.timedOut(operation: "TLS read")) { try read.wait().get() }
    }

    /// `-s` serves on standard input and output, two descriptors: the server
    /// session must read the one and send on the other, after the handshake
    /// too. The client's bytes reach the server through one socket pair and
    /// the server's come back through another; bytes sent on the wrong one
    /// reach nobody, and the client's read ends in its receive timeout.
    @Test func aServerWithSeparateInputAndOutputSendsOnItsOutput() throws {
        let keys = try TLSKeys()
        let client = try SocketPair(), inbound = try SocketPair(), outbound = try SocketPair()
        Self.relay(from: client.server, to: inbound.client)
        Self.relay(from: outbound.client, to: client.server)
        let server = try TLSSession.server(input: inbound.server, output: outbound.server, credentials: .preSharedKeys(file: keys.pskFile))
        let handshake = Background { try server.handshake(deadline: .now + .seconds(10)) }
        let session = try TLSSession.client(socket: client.client, credentials: .preSharedKey(file: keys.pskFile, username: keys.username))
        try session.handshake(deadline: .now + .seconds(10))
        try handshake.wait().get()
        let request = testPattern(count: 20_000, seed: 3), reply = testPattern(count: 20_000, seed: 4)
        try session.write(gathering: [request])
        #expect(try server.readExactly(request.count) == request)
        try server.write(gathering: [reply])
        #expect(try session.readExactly(reply.count) == reply)
    }

    /// Copies what arrives on `source` to `destination` until `source` ends
    /// (its pair closes, or its receive timeout passes).
    static func relay(from source: FileDescriptor, to destination: FileDescriptor) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(source.rawValue, $0.baseAddress, $0.count) }
                guard count > 0, (try? destination.writeAll(buffer[..<count])) != nil else { return }
            }
        }
    }

    @Test func byeEndsTheReadsOfThePeer() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        try sessions.client.write(gathering: [[42]])
        try sessions.client.bye()
        #expect(try sessions.server.readExactly(1) == [42])
        var byte: UInt8 = 0
        #expect(try withUnsafeMutableBytes(of: &byte) { try sessions.server.read(into: $0) } == 0)
    }

    @Test func aPeerThatHangsUpWithoutByeEndsTheReads() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys)
        _ = Glibc.shutdown(sessions.pair.client.rawValue, Int32(SHUT_RDWR))
        var byte: UInt8 = 0
        #expect(try withUnsafeMutableBytes(of: &byte) { try sessions.server.read(into: $0) } == 0)
    }

    /// The socket itself would wait an hour; only the deadline can end the
    /// handshake before the test's bounded wait gives up.
    @Test func handshakeDeadlineBoundsASilentClient() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair(timeoutSeconds: 3600)
        let session = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        let handshake = Background { try session.handshake(deadline: .now + .milliseconds(300)) }
        #expect(throws: TLSError.timedOut(operation: "TLS handshake")) { try handshake.wait().get() }
    }

    @Test func aPassedDeadlineFailsAtOnce() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair()
        let session = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        #expect(throws: TLSError.timedOut(operation: "TLS handshake")) { try session.handshake(deadline: .now - .seconds(1)) }
    }

    /// The server's alert tells the client why, so the client does not wait:
    /// its own deadline and the socket's timeout are an hour away, the test's wait is bounded.
    @Test func wrongKeyFailsBothHandshakes() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair(timeoutSeconds: 3600)
        let server = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        let serverHandshake = Background { try server.handshake(deadline: .now + .seconds(10)) }
        let client = try TLSSession.client(socket: pair.client, credentials: .preSharedKey(file: keys.wrongPSKFile, username: keys.username))
        let clientHandshake = Background { try client.handshake(deadline: .now + .seconds(3600)) }
        let clientError = try #require(throws: TLSError.self) { try clientHandshake.wait().get() }
        guard case .failed(_, _, let reason) = clientError else { Issue.record("\(clientError)"); return }
        #expect(reason.contains("alert"), "\(reason)")
        let serverError = try #require(throws: TLSError.self) { try serverHandshake.wait().get() }
        guard case .failed(let operation, _, _) = serverError else { Issue.record("\(serverError)"); return }
        #expect(operation == "TLS handshake")
    }

    /// The handshake tells its caller of every handshake message from the
    /// peer and of none of its own (a server counts a client in its TLS
    /// handshake as heard from): in TLS 1.3 with a PSK, the client's hello and
    /// its Finished.
    @Test func theHandshakeReportsEveryMessageFromThePeer() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair()
        let server = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        let handshake = Background { () throws -> Int in
            var messages = 0
            try server.handshake(deadline: .now + .seconds(10), onPeerMessage: { messages += 1 })
            return messages
        }
        let client = try TLSSession.client(socket: pair.client, credentials: .preSharedKey(file: keys.pskFile, username: keys.username))
        try client.handshake(deadline: .now + .seconds(10))
        #expect(try handshake.wait().get() == 2)
        #expect(server.negotiated.hasPrefix("(TLS1.3)"), "\(server.negotiated)")
    }

    @Test func verifyPeerRequiresACertificateFromTheCA() throws {
        let keys = try TLSKeys()
        let server = try TLSServerCredentials.certificates(directory: keys.serverCertificates, verifyPeer: true)
        let accepted = try Self.connect(server, .certificates(directory: keys.clientCertificates))
        try accepted.client.write(gathering: [[7]])
        #expect(try accepted.server.readExactly(1) == [7])

        for refused in [keys.anonymousClient, keys.foreignClient] {
            let pair = try SocketPair()
            let serverSession = try TLSSession.server(input: pair.server, credentials: server)
            let serverEnd = pair.server
            let handshake = Background { () throws -> Void in
                // A server hangs up after a failed handshake; the client's reads then end.
                defer { _ = Glibc.shutdown(serverEnd.rawValue, Int32(SHUT_RDWR)) }
                try serverSession.handshake(deadline: .now + .seconds(10))
            }
            let client = try TLSSession.client(socket: pair.client, credentials: .certificates(directory: refused))
            // TLS 1.3 lets the client finish first; the refusal then ends its reads.
            #expect(throws: (any Error).self, "\(refused)") { try client.handshake(deadline: .now + .seconds(10)); _ = try client.readExactly(1) }
            #expect(throws: (any Error).self, "\(refused)") { try handshake.wait().get() }
        }
    }

    @Test func withoutVerifyPeerAnAnonymousClientIsServed() throws {
        let keys = try TLSKeys()
        let sessions = try Self.connect(.certificates(directory: keys.serverCertificates), .certificates(directory: keys.anonymousClient))
        #expect(sessions.server.negotiated.hasPrefix("(TLS1."), "\(sessions.server.negotiated)")
    }

    /// GnuTLS hands the records to the kernel only when the kernel offers TLS
    /// and GnuTLS's configuration enables it (KernelTLSSupport reads both).
    @Test func kernelTLSIsReportedAsTheSystemAllowsIt() throws {
        let keys = try TLSKeys()
        let sessions = try Self.pskSessions(keys, tcp: true)
        let expected: KernelTLS = KernelTLSSupport.expected ? .duplex : .off
        #expect(sessions.server.kernelTLS == expected)
        #expect(sessions.client.kernelTLS == expected)
        // Either way the data path carries the bytes.
        let data = testPattern(count: 70_000)
        try sessions.client.write(gathering: [data])
        #expect(try sessions.server.readExactly(data.count) == data)
    }
}
