import Foundation
import NBDProtocol
import TestSupport
import Testing
import TLS

/// The spec's "TLS support" section against the real binary, through a raw
/// client that upgrades with the TLS module: what `--tls=require` refuses,
/// what the upgrade forgets, and what it never takes for TLS input.
@Suite struct STARTTLSTests {
    let keys: TLSKeys
    let pipe: String
    let reader: PipeReader

    init() throws {
        keys = try TLSKeys()
        pipe = try keys.directory.makeFIFO("pipe")
        reader = try PipeReader(path: pipe)
    }

    func server(_ tls: String, _ options: [String] = [], tcp: Bool = false) throws -> ServerProcess {
        try ServerProcess(["--tls=\(tls)", "--tls-psk=\(keys.pskFile)", "write=\(pipe)", "size=\(Self.size)"] + options, in: keys.directory, tcp: tcp)
    }

    func psk() throws -> TLSClientCredentials {
        try .preSharedKey(file: keys.pskFile, username: keys.username)
    }

    func greeted(_ server: ServerProcess) throws -> RawClient {
        let raw = try server.port.map { try RawClient(port: $0) } ?? RawClient(socket: server.socket)
        try raw.greet()
        return raw
    }

    static let size: UInt64 = 64 << 20
    static let go = InfoRequest(exportName: "", requests: []).encode()
    static let baseAllocation = MetaContextRequest(exportName: "", queries: ["base:allocation"]).encode()

    /// FORCEDTLS: "If the server receives any other option, it MUST reply with
    /// NBD_REP_ERR_TLS_REQD if TLS has not been initiated", and "MUST NOT send
    /// NBD_REP_ERR_TLS_REQD in reply to any option if TLS has already been initiated".
    @Test func requireRefusesEveryPlaintextOptionButStartTLSAndAbort() throws {
        let server = try server("require")
        let raw = try greeted(server)
        let options: [(OptionCode, [UInt8])] = [
            (.list, []), (.info, Self.go), (.go, Self.go), (.structuredReply, []),
            (.listMetaContext, Self.baseAllocation), (.setMetaContext, Self.baseAllocation), (OptionCode(rawValue: 0x4242), [1, 2, 3]),
        ]
        for (code, payload) in options {
            let replies = try raw.option(code, payload)
            #expect(replies.map(\.type) == [.errTLSRequired], "\(code)")
            #expect(replies.first?.option == code)
        }
        // STARTTLS takes no payload, TLS or not.
        #expect(try raw.option(.startTLS, [0]).map(\.type) == [.errInvalid])
        #expect(try raw.startTLS(psk()).type == .ack)
        #expect(try raw.option(.list).map(\.type) == [.server, .ack])
        #expect(try raw.option(.abort).map(\.type) == [.ack])
    }

    @Test func requireLetsAPlaintextClientAbort() throws {
        let server = try server("require")
        let raw = try greeted(server)
        #expect(try raw.option(.abort).map(\.type) == [.ack])
        #expect(try raw.receiveUntilClosed(seconds: 10))
    }

    /// "If the server receives a request to enter transmission mode via
    /// NBD_OPT_EXPORT_NAME when TLS has not been initiated, then as this
    /// request cannot error, it MUST terminate the session."
    @Test func requireClosesAPlaintextExportNameWithoutAnswering() throws {
        let server = try server("require")
        let raw = try greeted(server)
        try raw.send(OptionHeader(code: .exportName, length: 0).encode())
        #expect(throws: TestFailure.self) { try raw.receive(1) }
        #expect(server.log.contains("NBD_OPT_EXPORT_NAME without TLS, which --tls=require refuses"))
        try expectServes(server, bytes: testPattern(count: 4096))
    }

    /// A client may rightly stay in plaintext under --tls=on.
    @Test func onServesPlaintextClientsToo() throws {
        let server = try server("on")
        let raw = try greeted(server)
        #expect(try raw.exportName() == Self.size)
        #expect(try raw.write([1, 2, 3], at: 0) == .simple(cookie: 1, error: .ok))
        try raw.disconnect()
        server.stop()
        #expect(try reader.contents() == [1, 2, 3])
    }

    /// The client "MUST NOT send any option until it has received a final
    /// reply": bytes that came with the STARTTLS request were sent in
    /// plaintext, and taking them for TLS input is the STARTTLS command
    /// injection of other protocols (CVE-2011-0411).
    @Test func plaintextSentBehindStartTLSIsNeverActedOn() throws {
        let server = try server("on")
        let raw = try greeted(server)
        let injected = OptionHeader(code: .structuredReply, length: 0).encode()
        try raw.send(OptionHeader(code: .startTLS, length: 0).encode() + injected)
        // No NBD_REP_ACK, no answer to the injected option: the connection just ends.
        #expect(throws: TestFailure.self) { try raw.receive(1) }
        #expect(server.log.contains("sent 16 bytes behind NBD_OPT_STARTTLS"))
        try expectServes(server, bytes: testPattern(count: 4096))
    }

    /// Negotiation state from before the upgrade must not survive it (nbdkit
    /// CVE-2021-3716: structured replies negotiated in plaintext stayed on).
    @Test func structuredRepliesAndContextsNegotiatedInPlaintextAreForgotten() throws {
        let server = try server("on")
        let raw = try greeted(server)
        #expect(try raw.option(.structuredReply).map(\.type) == [.ack])
        #expect(try raw.option(.setMetaContext, Self.baseAllocation).map(\.type) == [.metaContext, .ack])
        #expect(try raw.startTLS(psk()).type == .ack)
        let replies = try raw.option(.go, Self.go)
        #expect(replies.last?.type == .ack)
        let flags = try #require(replies.compactMap(Self.transmissionFlags).first)
        #expect(!flags.contains(.sendDF), "DF is only advertised with structured replies")
        #expect(try raw.write([7, 8, 9], at: 0) == .simple(cookie: 1, error: .ok))
        // Simple replies only (a READ at the highwater is answered with zeroes), and no metadata context selected.
        try raw.send(RequestHeader(command: .read, cookie: 2, offset: 3, length: 3).encode())
        #expect(try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength)) == .simple(cookie: 2, error: .ok))
        #expect(try raw.receive(3) == [0, 0, 0])
        try raw.send(RequestHeader(command: .blockStatus, cookie: 4, offset: 3, length: 3).encode())
        #expect(try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength)) == .simple(cookie: 4, error: .invalid))
        try raw.disconnect()
        server.stop()
        #expect(try reader.contents() == [7, 8, 9])
    }

    @Test func structuredRepliesMayBeNegotiatedAgainInsideTLS() throws {
        let server = try server("on")
        let raw = try greeted(server)
        #expect(try raw.option(.structuredReply).map(\.type) == [.ack])
        #expect(try raw.startTLS(psk()).type == .ack)
        // Not "already negotiated": the session inside TLS starts afresh.
        #expect(try raw.option(.structuredReply).map(\.type) == [.ack])
    }

    /// "If the server receives NBD_OPT_STARTTLS when TLS has already been
    /// negotiated, it MUST reply with NBD_REP_ERR_INVALID."
    @Test func aSecondStartTLSIsInvalidAndTheSessionGoesOn() throws {
        let server = try server("require")
        let raw = try greeted(server)
        #expect(try raw.startTLS(psk()).type == .ack)
        #expect(try raw.option(.startTLS).map(\.type) == [.errInvalid])
        #expect(try raw.option(.list).map(\.type) == [.server, .ack])
    }

    /// "If the handshake is unsuccessful ... the server MUST terminate the
    /// session": that session only; the server serves the next client.
    @Test func aFailedHandshakeClosesThatConnectionOnly() throws {
        let server = try server("require")
        let raw = try greeted(server)
        #expect(throws: TLSError.self) { try raw.startTLS(.preSharedKey(file: keys.wrongPSKFile, username: keys.username)) }
        try expectServes(server, bytes: testPattern(count: 100_000))
        #expect(server.log.contains("TLS handshake failed"))
    }

    /// The handshake deadline covers the TLS handshake too: a client that
    /// asks for TLS and then says nothing is dropped.
    @Test func aClientSilentAfterTheAcknowledgementMeetsTheDeadline() throws {
        let server = try server("require", ["--handshake-timeout", "1"])
        let raw = try greeted(server)
        try raw.send(OptionHeader(code: .startTLS, length: 0).encode())
        #expect(try raw.receiveOptionReply().type == .ack)
        #expect(try raw.receiveUntilClosed(seconds: 10))
        #expect(server.log.contains("no complete handshake within 1 s"))
    }

    /// A client's TLS 1.3 KeyUpdate between WRITEs, asking the server to
    /// renew its keys too or not. GnuTLS answers GNUTLS_E_AGAIN once it has
    /// processed one, on a blocking socket too: that is no timeout, and the
    /// stream goes on byte for byte, the replies coming under renewed keys.
    @Test func keyUpdatesBetweenWritesLoseNothing() throws {
        let server = try server("require")
        let raw = try greeted(server)
        #expect(try raw.startTLS(psk()).type == .ack)
        #expect(try raw.exportName() == Self.size)
        let session = try #require(raw.session)
        let chunks = [100_000, 1, 16385, 1 << 20, 7].enumerated().map { testPattern(count: $0.element, seed: UInt64($0.offset + 1)) }
        var offset = 0
        for (index, chunk) in chunks.enumerated() {
            try session.updateKeys(askingPeer: index.isMultiple(of: 2))
            #expect(try raw.write(chunk, at: UInt64(offset), cookie: UInt64(index)) == .simple(cookie: UInt64(index), error: .ok))
            offset += chunk.count
        }
        try raw.disconnect()
        server.stop()
        #expect(try firstDifference(reader.contents(), chunks.flatMap { $0 }) == nil)
        #expect(!server.log.contains("no complete handshake"), "\(server.log)")
    }

    /// Pipelined WRITEs of every size around the 16 KiB record, sent in one
    /// go: the server's reads ahead of the records and its waits for a
    /// payload's remaining bytes must neither lose, invent nor wait for bytes.
    /// On TCP, where the kernel may take the records over.
    @Test func pipelinedWritesOfEverySizeArriveExact() throws {
        let server = try server("require", ["-v"], tcp: true)
        let raw = try greeted(server)
        #expect(try raw.startTLS(psk()).type == .ack)
        _ = try raw.exportName()
        let sizes = [1, 16384, 16385, 100_000, 3, 1 << 20, 5000, 32768, (1 << 20) + 17, 7]
        let data = testPattern(count: sizes.reduce(0, +))
        var requests: [UInt8] = []
        var offset = 0
        for (index, size) in sizes.enumerated() {
            requests += RequestHeader(command: .write, cookie: UInt64(index), offset: UInt64(offset), length: UInt32(size)).encode()
            requests += data[offset..<offset + size]
            offset += size
        }
        try raw.send(requests)
        for index in sizes.indices {
            #expect(try ReplyHeader.decode(raw.receive(Reply.simpleHeaderLength)) == .simple(cookie: UInt64(index), error: .ok))
        }
        try raw.disconnect()
        server.stop()
        #expect(try firstDifference(reader.contents(), data) == nil)
        // Which path served, under -v: records are decrypted in user space unless the kernel offers TLS and
        // GnuTLS's configuration enables it.
        let path = KernelTLSSupport.expected ? "spliced through the kernel's encryption" : "kernel TLS off: records encrypted by GnuTLS, payloads copied"
        #expect(server.log.contains("TLS (TLS1.3)"), "\(server.log)")
        #expect(server.log.contains(path))
    }

    /// A full write session through TLS, checked at the other end of the pipe.
    func expectServes(_ server: ServerProcess, bytes: [UInt8]) throws {
        let raw = try greeted(server)
        #expect(try raw.startTLS(psk()).type == .ack)
        #expect(try raw.exportName() == Self.size)
        #expect(try raw.write(bytes, at: 0) == .simple(cookie: 1, error: .ok))
        try raw.disconnect()
        server.stop()
        #expect(try firstDifference(reader.contents(), bytes) == nil)
    }

    static func transmissionFlags(_ reply: OptionReply) -> TransmissionFlags? {
        guard reply.type == .info, reply.payload.count == 12, reply.payload[0] == 0, reply.payload[1] == 0 else { return nil }
        return TransmissionFlags(rawValue: UInt16(reply.payload[10]) << 8 | UInt16(reply.payload[11]))
    }
}
