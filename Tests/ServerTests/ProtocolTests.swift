import Foundation
import NBDClient
import NBDProtocol
import TestSupport
import Testing

/// Protocol behaviour seen through libnbd: advertised flags, bounds, limits.
@Suite struct ProtocolTests {
    let fixture: DrainedPipe
    init() throws { fixture = try DrainedPipe() }

    var directory: TestDirectory { fixture.directory }
    var pipe: String { fixture.path }
    var reader: PipeReader { fixture.reader }

    @Test func handshakeAdvertisesTheExport() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let connection = try NBDConnection()
        try connection.addMetaContext("base:allocation")
        try connection.connect(.unix(path: server.socket))
        #expect(connection.protocolName == "newstyle-fixed")
        #expect(connection.structuredRepliesNegotiated)
        #expect(try connection.exportSize() == 9_223_372_035_781_033_984)
        #expect(try !connection.isReadOnly())
        #expect(try connection.canFlush() && connection.canFUA() && connection.canZero() && connection.canCache())
        #expect(try !connection.canTrim() && !connection.canMultiConn())
        #expect(try connection.canMetaContext("base:allocation"))
        #expect(try connection.blockSize(.minimum) == 1)
        #expect(try connection.blockSize(.preferred) == 4096)
        #expect(try connection.blockSize(.maximum) == 32 << 20)
    }

    @Test func outOfRangeRequestsFailWithoutTouchingTheStream() throws {
        let server = try ServerProcess(["write=\(pipe)", "size=1M"], in: directory)
        let connection = try server.connect()
        try connection.setStrictMode([])
        try connection.pwrite([1], offset: 0)
        let write = #expect(throws: NBDError.self) { try connection.pwrite([2, 2], offset: (1 << 20) - 1) }
        #expect(write?.errno == ENOSPC)
        let zero = #expect(throws: NBDError.self) { try connection.zero(count: 2, offset: (1 << 20) - 1) }
        #expect(zero?.errno == ENOSPC)
        let read = #expect(throws: NBDError.self) { _ = try connection.pread(count: 2, offset: (1 << 20) - 1) }
        #expect(read?.errno == EINVAL)
        // The last byte itself is in range, and the stream was never in error.
        try connection.pwrite([3], offset: (1 << 20) - 1)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [1] + [UInt8](repeating: 0, count: (1 << 20) - 2) + [3])
    }

    @Test func fuaIsAcceptedOnEveryCommand() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let connection = try NBDConnection()
        try connection.setStrictMode([])
        try connection.addMetaContext("base:allocation")
        try connection.connect(.unix(path: server.socket))
        // The spec: once SEND_FUA is advertised, every command takes the flag, if only to ignore it.
        try connection.pwrite([1, 2], offset: 0, flags: [.fua])
        #expect(try connection.pread(count: 2, offset: 2, flags: [.fua]) == [0, 0])
        try connection.cache(count: 2, offset: 0, flags: [.fua])
        #expect(try connection.blockStatus(count: 4, offset: 0, flags: [.fua]).count == 2)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [1, 2])
    }

    @Test func oversizedPayloadIsRefusedAndSkipped() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let connection = try server.connect()
        try connection.setStrictMode([])
        let error = #expect(throws: NBDError.self) { try connection.pwrite([UInt8](repeating: 9, count: (32 << 20) + 1), offset: 0) }
        #expect(error?.errno == EINVAL)
        // The connection stays in step: the payload was consumed, not parsed as requests.
        try connection.pwrite([4, 5], offset: 0)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [4, 5])
    }

    @Test func payloadPastTheDenialOfServiceBoundClosesTheConnection() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        // libnbd will not send more than 64 MiB, so this one goes over a raw socket.
        let raw = try RawClient(socket: server.socket)
        try raw.negotiateGo()
        try raw.send(RequestHeader(command: .write, cookie: 1, offset: 0, length: 0xffff_ffff).encode())
        #expect(try raw.receiveUntilClosed(seconds: 10))
        let connection = try server.connect()
        try connection.pwrite([6], offset: 0)
        try connection.shutdown()
        server.stop()
        #expect(try reader.contents() == [6])
    }

    @Test func unknownOptionIsUnsupportedAndTheNextOptionStillWorks() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let raw = try RawClient(socket: server.socket)
        try raw.greet()
        try raw.send(OptionHeader(code: OptionCode(rawValue: 0x4242), length: 5).encode() + [1, 2, 3, 4, 5])
        let reply = try raw.receiveOptionReply()
        #expect(reply.option == OptionCode(rawValue: 0x4242))
        #expect(reply.type == .errUnsupported)
        try raw.send(OptionHeader(code: .list, length: 0).encode())
        #expect(try raw.receiveOptionReply().type == .server)
        #expect(try raw.receiveOptionReply().type == .ack)
    }

    @Test func hostileOptionLengthIsAnsweredWithoutBufferingIt() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let raw = try RawClient(socket: server.socket)
        try raw.greet()
        let length = 1 << 20
        try raw.send(OptionHeader(code: .info, length: UInt32(length)).encode() + [UInt8](repeating: 0x41, count: length))
        #expect(try raw.receiveOptionReply().type == .errTooBig)
        // A name length that overruns its option is malformed, not an allocation.
        try raw.send(OptionHeader(code: .go, length: 6).encode() + [0xff, 0xff, 0xff, 0xff, 0, 0])
        #expect(try raw.receiveOptionReply().type == .errInvalid)
        try raw.send(OptionHeader(code: .abort, length: 0).encode())
        #expect(try raw.receiveOptionReply().type == .ack)
        #expect(try raw.receiveUntilClosed(seconds: 10))
    }

    @Test func startTLSWithoutTLSIsRefusedByPolicy() throws {
        let server = try ServerProcess(["write=\(pipe)"], in: directory)
        let raw = try RawClient(socket: server.socket)
        try raw.greet()
        try raw.send(OptionHeader(code: .startTLS, length: 0).encode())
        // NOTLS mode: "it MUST respond with NBD_REP_ERR_POLICY (if it does not support TLS for policy reasons)",
        // as nbdkit built with GnuTLS answers.
        #expect(try raw.receiveOptionReply().type == .errPolicy)
        try raw.send(OptionHeader(code: .structuredReply, length: 0).encode())
        #expect(try raw.receiveOptionReply().type == .ack)
    }

    @Test func exportNameFallbackAndOldstyleBothServe() throws {
        let newstyle = try ServerProcess(["write=\(pipe)", "size=4096"], in: directory)
        let connection = try NBDConnection()
        try connection.setHandshakeFlags([])
        try connection.setRequestStructuredReplies(false)
        try connection.connect(.unix(path: newstyle.socket))
        #expect(try connection.exportSize() == 4096)
        try connection.pwrite([1], offset: 0)
        try connection.shutdown()
        newstyle.stop()
        #expect(try reader.contents() == [1])

        let oldPipe = try directory.makeFIFO("old")
        let oldReader = try PipeReader(path: oldPipe)
        let oldstyle = try ServerProcess(["-o", "write=\(oldPipe)", "size=4096"], in: directory, name: "old")
        let old = try oldstyle.connect()
        #expect(old.protocolName == "oldstyle")
        #expect(try old.exportSize() == 4096)
        try old.pwrite([2], offset: 0)
        try old.shutdown()
        oldstyle.stop()
        #expect(try oldReader.contents() == [2])
    }

    @Test func listAndMetaContextsInOptionMode() throws {
        let server = try ServerProcess(["-e", "stream", "write=\(pipe)"], in: directory)
        let connection = try NBDConnection()
        try connection.setOptionMode(true)
        try connection.connect(.unix(path: server.socket))
        #expect(try connection.listExports().map(\.name) == ["stream"])
        #expect(try connection.listMetaContexts() == ["base:allocation"])
        try connection.abortNegotiation()
    }
}
