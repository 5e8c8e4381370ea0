import Glibc
import Logging
import NBDProtocol
@testable import NBDServer
import SystemPackage
import Testing

/// The handshake state machine over a real socketpair, with a stub plugin:
/// the client's bytes are written in full first, the machine runs to its
/// end, and everything it sent is read back and decoded.
@Suite struct NegotiationTests {
    struct Reply: Equatable {
        let option: OptionCode
        let type: OptionReplyType
        let payload: [UInt8]
    }

    struct Run {
        let outcome: Result<Negotiation.Outcome, any Error>
        let greeting: [UInt8]
        let replies: [Reply]
        /// What followed the option replies (an EXPORT_NAME reply).
        let trailer: [UInt8]
    }

    static func option(_ code: OptionCode, _ payload: [UInt8] = []) -> [UInt8] {
        OptionHeader(code: code, length: UInt32(payload.count)).encode() + payload
    }

    static func clientFlags(_ flags: ClientFlags) -> [UInt8] {
        withUnsafeBytes(of: flags.rawValue.bigEndian) { Array($0) }
    }

    static let go = option(.go, InfoRequest(exportName: "", requests: []).encode())

    /// Runs the machine against `clientBytes`, then reads back what it sent.
    func negotiate(_ clientBytes: [UInt8], plugin: StubPlugin = StubPlugin(), configuration: ServerConfiguration = ServerConfiguration(),
                   slots: ConnectionSlots = ConnectionSlots(handshakes: 4, transmissions: 4), deadline: Duration? = nil) throws -> Run {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw Errno(rawValue: errno) }
        let server = FileDescriptor(rawValue: ends[0]), client = FileDescriptor(rawValue: ends[1])
        defer { try? client.close() }
        _ = try client.writeAll(clientBytes)
        let connection = Connection(channel: PlainChannel(input: server, output: server))
        connection.deadline = deadline.map { .now + $0 }
        let admission = Admission(plugin: plugin, slots: slots, slot: slots.admit(server).slot)
        var negotiation = Negotiation(connection: connection, admission: admission, configuration: configuration,
                                      logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let outcome = Result { try negotiation.run() }
        try server.close()
        var sent: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while case let count = try chunk.withUnsafeMutableBytes({ try client.read(into: $0) }), count > 0 {
            sent += chunk[..<count]
        }
        return try Self.decode(sent, outcome: outcome)
    }

    static func decode(_ sent: [UInt8], outcome: Result<Negotiation.Outcome, any Error>) throws -> Run {
        let greetingLength = 18
        var replies: [Reply] = []
        var position = greetingLength
        while sent.count - position >= OptionReply.headerLength,
              let header = try? OptionReply.decodeHeader(Array(sent[position..<position + OptionReply.headerLength])) {
            let start = position + OptionReply.headerLength
            replies.append(Reply(option: header.option, type: header.type, payload: Array(sent[start..<start + Int(header.length)])))
            position = start + Int(header.length)
        }
        return Run(outcome: outcome, greeting: Array(sent.prefix(greetingLength)), replies: replies, trailer: Array(sent[min(position, sent.count)...]))
    }

    func ending(_ run: Run) -> Negotiation.Ending? {
        if case let .success(.closed(ending)) = run.outcome { return ending }
        return nil
    }

    func session(_ run: Run) -> Session? {
        if case let .success(.transmission(session)) = run.outcome { return session }
        return nil
    }

    @Test func greetsWithFixedNewstyleAndNoZeroes() throws {
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Self.option(.abort))
        #expect(run.greeting == Greeting.newstyle(flags: [.fixedNewstyle, .noZeroes]))
    }

    @Test func listThenAbort() throws {
        let plugin = StubPlugin()
        let run = try negotiate(Self.clientFlags([.fixedNewstyle, .noZeroes]) + Self.option(.list) + Self.option(.abort), plugin: plugin)
        #expect(run.replies.map(\.type) == [.server, .ack, .ack])
        #expect(run.replies.map(\.option) == [.list, .list, .abort])
        #expect(ending(run) == .clientAborted)
        #expect(plugin.opened == 0)
    }

    @Test func unknownClientFlagsCloseWithoutAReply() throws {
        let run = try negotiate(Self.clientFlags(ClientFlags(rawValue: 1 << 5)))
        #expect(ending(run) == .unknownClientFlags(1 << 5))
        #expect(run.replies.isEmpty)
    }

    @Test func unknownOptionIsRefusedAndTheNextOneStillParses() throws {
        let plugin = StubPlugin()
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Self.option(OptionCode(rawValue: 99), [1, 2, 3]) + Self.go, plugin: plugin)
        #expect(run.replies.first == Reply(option: OptionCode(rawValue: 99), type: .errUnsupported, payload: run.replies.first?.payload ?? []))
        #expect(run.replies.map(\.type) == [.errUnsupported, .info, .info, .ack])
        #expect(session(run) == Session())
        #expect(plugin.opened == 1 && plugin.closed == 0)
    }

    @Test func structuredRepliesAndBaseAllocationReachTransmission() throws {
        let setContext = Self.option(.setMetaContext, MetaContextRequest(exportName: "", queries: ["base:allocation"]).encode())
        let bytes = Self.clientFlags([.fixedNewstyle]) + Self.option(.structuredReply) + Self.option(.structuredReply) + setContext + Self.go
        let run = try negotiate(bytes)
        #expect(run.replies.map(\.type) == [.ack, .errInvalid, .metaContext, .ack, .info, .info, .ack])
        var expected = Session()
        expected.structuredReplies = true
        expected.baseAllocationContext = 1
        #expect(session(run) == expected)
    }

    @Test func metaContextNeedsStructuredRepliesFirst() throws {
        let setContext = Self.option(.setMetaContext, MetaContextRequest(exportName: "", queries: ["base:allocation"]).encode())
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + setContext + Self.go)
        #expect(run.replies.first?.type == .errInvalid)
        #expect(session(run)?.baseAllocationContext == nil)
    }

    @Test func refusingPluginAnswersGoWithAnErrorAndTheHandshakeGoesOn() throws {
        let plugin = StubPlugin(refusing: PluginError(.ioError, "stream failed"))
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Self.go + Self.option(.abort), plugin: plugin)
        #expect(run.replies.map(\.type) == [.errUnknown, .ack])
        #expect(ending(run) == .clientAborted)
    }

    @Test func infoClosesTheConnectionItOpened() throws {
        let plugin = StubPlugin()
        let slots = ConnectionSlots(handshakes: 4, transmissions: 4)
        let info = Self.option(.info, InfoRequest(exportName: "", requests: [.description]).encode())
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + info + Self.option(.abort), plugin: plugin, slots: slots)
        #expect(run.replies.map(\.type) == [.info, .info, .info, .ack, .ack])
        #expect(plugin.opened == 1 && plugin.closed == 1)
        // INFO gives its transmission slot back: the client is still haggling.
        #expect(slots.counts == (handshakes: 1, transmissions: 0))
    }

    @Test func goTakesATransmissionSlotThatNothingDisplaces() throws {
        let slots = ConnectionSlots(handshakes: 4, transmissions: 4)
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Self.go, slots: slots)
        #expect(session(run) == Session())
        #expect(slots.counts == (handshakes: 0, transmissions: 1))
        #expect(slots.displaceIdlest() == nil)
    }

    /// NBD_REP_ERR_POLICY: "server-side policy forbids the server to allow the option".
    @Test func goWhenEveryTransmissionSlotIsTakenIsRefusedByPolicyAndTheHandshakeGoesOn() throws {
        let plugin = StubPlugin()
        let slots = ConnectionSlots(handshakes: 4, transmissions: 1)
        let (other, _) = slots.admit(FileDescriptor(rawValue: -1))
        #expect(slots.enterTransmission(other))
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Self.go + Self.option(.list) + Self.option(.abort), plugin: plugin, slots: slots)
        #expect(run.replies.map(\.type) == [.errPolicy, .server, .ack, .ack])
        #expect(String(decoding: run.replies[0].payload, as: UTF8.self).contains("--max-connections 1"))
        #expect(ending(run) == .clientAborted)
        #expect(plugin.opened == 0)
        #expect(slots.counts == (handshakes: 1, transmissions: 1))
    }

    @Test func exportNameWithoutNoZeroesIsPadded() throws {
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Self.option(.exportName, Array("x".utf8)))
        #expect(session(run) == Session())
        // Size (8) and flags (2), then the 124 zero bytes the client did not opt out of.
        #expect(run.trailer.count == 8 + 2 + 124)
        #expect(run.trailer.suffix(124).allSatisfy { $0 == 0 })
    }

    @Test func oversizedOptionPayloadIsSkippedAndRefused() throws {
        let huge = OptionHeader(code: .list, length: NBDLimits.maximumOptionLength + 1).encode()
            + [UInt8](repeating: 7, count: Int(NBDLimits.maximumOptionLength) + 1)
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + huge + Self.option(.abort))
        #expect(run.replies.map(\.type) == [.errTooBig, .ack])
        #expect(ending(run) == .clientAborted)
    }

    @Test func tooManyOptionsEndTheHandshake() throws {
        var configuration = ServerConfiguration()
        configuration.maximumOptions = 3
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + Array(repeating: Self.option(.list), count: 4).joined(), configuration: configuration)
        #expect(ending(run) == .tooManyOptions(3))
        #expect(run.replies.count == 6)
    }

    @Test func badOptionMagicEndsTheHandshake() throws {
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]) + [UInt8](repeating: 0x55, count: 16))
        #expect(ending(run) == .badOptionMagic)
    }

    @Test func clientThatStopsTalkingMeetsTheDeadline() throws {
        let run = try negotiate(Self.clientFlags([.fixedNewstyle]), deadline: .milliseconds(100))
        #expect(throws: Errno.resourceTemporarilyUnavailable) { try run.outcome.get() }
    }

    @Test func oldstyleSendsTheExportAtOnce() throws {
        var configuration = ServerConfiguration()
        configuration.handshake = .oldstyle
        let plugin = StubPlugin()
        let run = try negotiate([], plugin: plugin, configuration: configuration)
        #expect(session(run) == Session())
        #expect(plugin.opened == 1)
    }
}
