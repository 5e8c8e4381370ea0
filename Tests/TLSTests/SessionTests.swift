import Foundation
import SystemPackage
import TestSupport
import TLS
import XCTest

/// A server session and a client session of the module, face to face over a
/// socket pair: the handshake, gathered writes, buffered input, the closing
/// alert, the handshake deadline, client certificates, kernel-TLS detection.
final class SessionTests: XCTestCase {
    private struct Sessions {
        let pair: SocketPair
        let server: TLSSession
        let client: TLSSession
    }

    /// Both handshakes, the server's on another thread; both must succeed.
    private func connect(_ server: TLSServerCredentials, _ client: TLSClientCredentials, tcp: Bool = false) throws -> Sessions {
        let pair = try SocketPair(tcp: tcp)
        let serverSession = try TLSSession.server(input: pair.server, credentials: server)
        let handshake = Background { try serverSession.handshake(deadline: .now + .seconds(10)) }
        let clientSession = try TLSSession.client(socket: pair.client, credentials: client)
        try clientSession.handshake(deadline: .now + .seconds(10))
        try handshake.wait().get()
        return Sessions(pair: pair, server: serverSession, client: clientSession)
    }

    private func pskSessions(_ keys: TLSKeys, tcp: Bool = false) throws -> Sessions {
        try connect(.preSharedKeys(file: keys.pskFile), .preSharedKey(file: keys.pskFile, username: keys.username), tcp: tcp)
    }

    func testGatheredBuffersArriveWholeAndInOrder() throws {
        let keys = try TLSKeys()
        let sessions = try pskSessions(keys)
        XCTAssertEqual(sessions.server.pskUsername, keys.username)
        // Sizes around the 16 KiB record: tiny, exact, one over, large, empty.
        let sizes = [1, 16, 16384, 16385, 100_000, 0, 7, 3 * 16384, 5]
        let buffers = sizes.enumerated().map { testPattern(count: $0.element, seed: UInt64($0.offset + 1)) }
        let total = sizes.reduce(0, +)
        let server = sessions.server
        let received = Background { try server.readExactly(total) }
        try sessions.client.write(gathering: buffers)
        XCTAssertEqual(try received.wait().get(), buffers.flatMap { $0 })
    }

    func testDecryptedBytesWaitInTheSession() throws {
        let keys = try TLSKeys()
        let sessions = try pskSessions(keys)
        // Three small buffers gathered into one record of 300 bytes.
        try sessions.client.write(gathering: [[UInt8](repeating: 1, count: 100), [UInt8](repeating: 2, count: 100), [UInt8](repeating: 3, count: 100)])
        XCTAssertFalse(sessions.server.hasBufferedInput)
        XCTAssertEqual(try sessions.server.readExactly(10), [UInt8](repeating: 1, count: 10))
        // The rest of the record is decrypted and waiting, though the socket is empty.
        XCTAssertTrue(sessions.server.hasBufferedInput)
        XCTAssertEqual(sessions.server.pending, 290)
        var socketBytes: Int32 = 0
        XCTAssertEqual(ioctl(sessions.pair.server.rawValue, UInt(FIONREAD), &socketBytes), 0)
        XCTAssertEqual(socketBytes, 0)
        // One read takes everything already decrypted.
        var rest = [UInt8](repeating: 0, count: 1000)
        XCTAssertEqual(try rest.withUnsafeMutableBytes { try sessions.server.read(into: $0) }, 290)
        XCTAssertFalse(sessions.server.hasBufferedInput)
    }

    /// After the handshake the session reads the socket ahead of GnuTLS: one
    /// read takes every record that has arrived, and the records already
    /// read count as input the session holds.
    func testRecordsThatArrivedTogetherAreReadTogether() throws {
        let keys = try TLSKeys()
        let sessions = try pskSessions(keys)
        let data = testPattern(count: 3 * 16384 + 500)
        try sessions.client.write(gathering: [data])
        let socket = sessions.pair.server.rawValue
        try waitUntil("the four records to arrive") {
            var arrived: Int32 = 0
            return ioctl(socket, UInt(FIONREAD), &arrived) == 0 && arrived >= Int32(data.count + 4 * 22)
        }
        XCTAssertEqual(try sessions.server.readExactly(10), Array(data[..<10]))
        var socketBytes: Int32 = -1
        XCTAssertEqual(ioctl(socket, UInt(FIONREAD), &socketBytes), 0)
        XCTAssertEqual(socketBytes, 0, "the records were left in the socket")
        XCTAssertTrue(sessions.server.hasBufferedInput)
        var rest = [UInt8](repeating: 0, count: data.count)
        XCTAssertEqual(try rest.withUnsafeMutableBytes { try sessions.server.read(into: $0) }, data.count - 10)
        XCTAssertTrue(rest[..<(data.count - 10)].elementsEqual(data[10...]), "the bytes read differ from those sent")
        XCTAssertFalse(sessions.server.hasBufferedInput)
    }

    func testByeEndsTheReadsOfThePeer() throws {
        let keys = try TLSKeys()
        let sessions = try pskSessions(keys)
        try sessions.client.write(gathering: [[42]])
        try sessions.client.bye()
        XCTAssertEqual(try sessions.server.readExactly(1), [42])
        var byte: UInt8 = 0
        XCTAssertEqual(try withUnsafeMutableBytes(of: &byte) { try sessions.server.read(into: $0) }, 0)
    }

    func testAPeerThatHangsUpWithoutByeEndsTheReads() throws {
        let keys = try TLSKeys()
        let sessions = try pskSessions(keys)
        _ = Glibc.shutdown(sessions.pair.client.rawValue, Int32(SHUT_RDWR))
        var byte: UInt8 = 0
        XCTAssertEqual(try withUnsafeMutableBytes(of: &byte) { try sessions.server.read(into: $0) }, 0)
    }

    func testHandshakeDeadlineBoundsASilentClient() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair(timeoutSeconds: 30)
        let session = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        let started = ContinuousClock.now
        XCTAssertThrowsError(try session.handshake(deadline: .now + .milliseconds(300))) {
            XCTAssertEqual($0 as? TLSError, .timedOut(operation: "TLS handshake"))
        }
        // Well before the socket's own 30 s timeout.
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10))
    }

    func testAPassedDeadlineFailsAtOnce() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair()
        let session = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        XCTAssertThrowsError(try session.handshake(deadline: .now - .seconds(1))) {
            XCTAssertEqual($0 as? TLSError, .timedOut(operation: "TLS handshake"))
        }
    }

    func testWrongKeyFailsBothHandshakes() throws {
        let keys = try TLSKeys()
        let pair = try SocketPair()
        let server = try TLSSession.server(input: pair.server, credentials: .preSharedKeys(file: keys.pskFile))
        let handshake = Background { try server.handshake(deadline: .now + .seconds(10)) }
        let client = try TLSSession.client(socket: pair.client, credentials: .preSharedKey(file: keys.wrongPSKFile, username: keys.username))
        // The server's alert tells the client why, at once: no waiting for a timeout.
        let started = ContinuousClock.now
        XCTAssertThrowsError(try client.handshake(deadline: .now + .seconds(10))) {
            guard case TLSError.failed(_, _, let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("alert"), reason)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5))
        XCTAssertThrowsError(try handshake.wait().get()) {
            guard case TLSError.failed(let operation, _, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(operation, "TLS handshake")
        }
    }

    /// The handshake tells its caller of every handshake message from the
    /// peer and of none of its own (a server counts a client in its TLS
    /// handshake as heard from): in TLS 1.3 with a PSK, the client's hello and
    /// its Finished.
    func testTheHandshakeReportsEveryMessageFromThePeer() throws {
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
        XCTAssertEqual(try handshake.wait().get(), 2)
        XCTAssertTrue(server.negotiated.hasPrefix("(TLS1.3)"), server.negotiated)
    }

    func testVerifyPeerRequiresACertificateFromTheCA() throws {
        let keys = try TLSKeys()
        let server = try TLSServerCredentials.certificates(directory: keys.serverCertificates, verifyPeer: true)
        let accepted = try connect(server, .certificates(directory: keys.clientCertificates))
        try accepted.client.write(gathering: [[7]])
        XCTAssertEqual(try accepted.server.readExactly(1), [7])

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
            let clientOutcome = Result { try client.handshake(deadline: .now + .seconds(10)); return try client.readExactly(1) }
            XCTAssertThrowsError(try clientOutcome.get(), refused)
            XCTAssertThrowsError(try handshake.wait().get(), refused)
        }
    }

    func testWithoutVerifyPeerAnAnonymousClientIsServed() throws {
        let keys = try TLSKeys()
        let sessions = try connect(.certificates(directory: keys.serverCertificates), .certificates(directory: keys.anonymousClient))
        XCTAssertTrue(sessions.server.negotiated.hasPrefix("(TLS1."), sessions.server.negotiated)
    }

    func testKernelTLSIsReportedAsTheKernelOffersIt() throws {
        let keys = try TLSKeys()
        let sessions = try pskSessions(keys, tcp: true)
        // Without the kernel's tls module GnuTLS cannot hand records to it.
        if !KernelTLSSupport.offered {
            XCTAssertEqual(sessions.server.kernelTLS, .off)
            XCTAssertEqual(sessions.client.kernelTLS, .off)
        }
        // Either way the data path carries the bytes.
        let data = testPattern(count: 70_000)
        try sessions.client.write(gathering: [data])
        XCTAssertEqual(try sessions.server.readExactly(data.count), data)
    }
}
