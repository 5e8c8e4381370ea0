import Logging
import NBDProtocol

/// The handshake as an explicit state machine: each state does one step and
/// names the next, and every way out that is not transmission names its reason.
struct Negotiation {
    enum State {
        case sendGreeting
        case receiveClientFlags
        case receiveOption(count: Int)
        case transmission(Session)
        case closed(Ending)
    }

    /// Why a handshake ended without transmission.
    enum Ending: Equatable, CustomStringConvertible {
        case clientAborted
        case unknownClientFlags(UInt32)
        case badOptionMagic
        case tooManyOptions(Int)
        case exportNameTooLong(UInt32)
        case refused(String)
        case protocolError(String)
        /// NBD_OPT_EXPORT_NAME before STARTTLS under `--tls=require`: the option has no error reply.
        case tlsRequired
        /// Bytes arrived behind NBD_OPT_STARTTLS, before the server's answer.
        case plaintextAfterStartTLS(Int)
        case tlsHandshakeFailed(String)

        var description: String {
            switch self {
            case .clientAborted: "client sent NBD_OPT_ABORT"
            case let .unknownClientFlags(flags): "client sent unknown handshake flags 0x\(String(flags, radix: 16))"
            case .badOptionMagic: "client option has a bad magic"
            case let .tooManyOptions(count): "client sent more than \(count) options"
            case let .exportNameTooLong(length): "NBD_OPT_EXPORT_NAME of \(length) bytes is too long"
            case let .refused(message): "connection refused: \(message)"
            case let .protocolError(message): message
            case .tlsRequired: "client sent NBD_OPT_EXPORT_NAME without TLS, which --tls=require refuses"
            case let .plaintextAfterStartTLS(count):
                "client sent \(count) bytes behind NBD_OPT_STARTTLS before its reply; they would be plaintext taken for TLS input, so the connection is closed"
            case let .tlsHandshakeFailed(reason): "TLS handshake failed: \(reason)"
            }
        }
    }

    let connection: Connection
    let admission: Admission
    var plugin: any NBDPlugin { admission.plugin }
    let configuration: ServerConfiguration
    let logger: Logger
    /// Wraps the TLS channel after STARTTLS, as the server wraps the plain one.
    let decorateChannel: ChannelDecorator
    /// Everything haggling settled. STARTTLS replaces it whole, so nothing
    /// negotiated in plaintext survives the upgrade.
    var session = Session()
    /// The client's flags and whether TLS is on outlive the upgrade.
    private var noZeroes = false
    var encrypted = false

    init(connection: Connection, admission: Admission, configuration: ServerConfiguration, logger: Logger,
         decorateChannel: @escaping ChannelDecorator = { $0 }) {
        self.connection = connection
        self.admission = admission
        self.configuration = configuration
        self.logger = logger
        self.decorateChannel = decorateChannel
    }

    /// Where a handshake ends.
    enum Outcome {
        case transmission(Session)
        case closed(Ending)
    }

    /// Runs the machine to transmission or to its end; I/O failures (the client
    /// going away) propagate as errors.
    mutating func run() throws -> Outcome {
        var state = State.sendGreeting
        while true {
            switch state {
            case let .transmission(session): return .transmission(session)
            case let .closed(ending): return .closed(ending)
            case .sendGreeting: state = try sendGreeting()
            case .receiveClientFlags: state = try receiveClientFlags()
            case let .receiveOption(count): state = try receiveOption(count: count)
            }
        }
    }

    private func sendGreeting() throws -> State {
        switch configuration.handshake {
        case .oldstyle:
            do { try admission.open() } catch { return .closed(.refused(error.message)) }
            try closingOnFailure {
                try connection.send(Greeting.oldstyle(size: plugin.export.size, flags: ExportFlags.transmission(for: plugin.export, structuredReplies: false)))
            }
            return .transmission(session)
        case .newstyle:
            try connection.send(Greeting.newstyle(flags: [.fixedNewstyle, .noZeroes]))
            return .receiveClientFlags
        }
    }

    private mutating func receiveClientFlags() throws -> State {
        let flags = try Greeting.decodeClientFlags(connection.readBytes(Greeting.clientFlagsLength))
        // The spec requires closing on flags the server does not know.
        guard flags.isSubset(of: .known) else { return .closed(.unknownClientFlags(flags.rawValue)) }
        noZeroes = flags.contains(.noZeroes)
        return .receiveOption(count: 0)
    }

    private mutating func receiveOption(count: Int) throws -> State {
        guard count < configuration.maximumOptions else { return .closed(.tooManyOptions(configuration.maximumOptions)) }
        let header: OptionHeader
        let bytes = try connection.readBytes(NBDLimits.optionHeaderLength)
        do { header = try OptionHeader.decode(bytes) } catch { return .closed(.badOptionMagic) }
        logger.debug("option \(header.code) length \(header.length)")

        if mustRefuseBeforeTLS(header.code) {
            // The spec's FORCEDTLS mode: every option but STARTTLS and ABORT is refused until TLS is on.
            if header.code == .exportName { return .closed(.tlsRequired) }
            try discardPayload(of: header)
            try reply(.error(header.code, .errTLSRequired, message: "TLS is required: send NBD_OPT_STARTTLS first"))
            return .receiveOption(count: count + 1)
        }
        guard header.length <= NBDLimits.maximumOptionLength else {
            if header.code == .exportName { return .closed(.exportNameTooLong(header.length)) }
            try discardPayload(of: header)
            try reply(.error(header.code, .errTooBig, message: "option payload of \(header.length) bytes exceeds \(NBDLimits.maximumOptionLength)"))
            return .receiveOption(count: count + 1)
        }
        let payload = try connection.readBytes(Int(header.length))
        switch header.code {
        case .exportName: return try exportName(payload)
        case .abort:
            try reply(OptionReply(option: .abort, type: .ack))
            return .closed(.clientAborted)
        case .list: try list(payload)
        case .startTLS:
            if let ending = try startTLS(payload) { return .closed(ending) }
        case .info, .go:
            if let session = try infoOrGo(header.code, payload) { return .transmission(session) }
        case .structuredReply: try emptyOption(header.code, payload) { try structuredReply() }
        case .listMetaContext, .setMetaContext: try metaContext(header.code, payload)
        default:
            try reply(.error(header.code, .errUnsupported, message: "\(header.code) is not supported"))
        }
        return .receiveOption(count: count + 1)
    }

    private func discardPayload(of header: OptionHeader) throws {
        try connection.discard(UInt64(header.length))
    }

    func reply(_ reply: OptionReply) throws {
        try connection.send(reply.encode())
    }

    /// Options whose payload must be empty answer ERR_INVALID otherwise.
    private func emptyOption(_ code: OptionCode, _ payload: [UInt8], _ body: () throws -> Void) throws {
        guard payload.isEmpty else {
            return try reply(.error(code, .errInvalid, message: "\(code) takes no payload"))
        }
        try body()
    }

    private mutating func exportName(_ payload: [UInt8]) throws -> State {
        guard String(validating: payload, as: UTF8.self) != nil, payload.count <= NBDLimits.maximumStringLength else {
            return .closed(.protocolError("NBD_OPT_EXPORT_NAME carries an invalid name"))
        }
        do { try admission.open() } catch { return .closed(.refused(error.message)) }
        let export = plugin.export
        try closingOnFailure {
            try connection.send(Greeting.exportNameReply(
                size: export.size, flags: ExportFlags.transmission(for: export, structuredReplies: session.structuredReplies), noZeroes: noZeroes))
        }
        return .transmission(session)
    }

    private func list(_ payload: [UInt8]) throws {
        try emptyOption(.list, payload) {
            try reply(.server(name: configuration.exportName, description: plugin.export.description))
            try reply(OptionReply(option: .list, type: .ack))
        }
    }

    private mutating func structuredReply() throws {
        guard !session.structuredReplies else {
            return try reply(.error(.structuredReply, .errInvalid, message: "structured replies are already negotiated"))
        }
        session.structuredReplies = true
        try reply(OptionReply(option: .structuredReply, type: .ack))
    }

    /// Answers INFO, or GO and returns the session that transmission starts with.
    private mutating func infoOrGo(_ code: OptionCode, _ payload: [UInt8]) throws -> Session? {
        let request: InfoRequest
        do { request = try InfoRequest.decode(payload) } catch {
            try reply(.error(code, .errInvalid, message: "malformed \(code): \(error)"))
            return nil
        }
        do { try admission.open() } catch {
            logger.error("refusing \(code): \(error.message)")
            try reply(.error(code, error.replyType, message: error.message))
            return nil
        }
        let export = plugin.export
        try closingOnFailure {
            try reply(.infoExport(code, size: export.size, flags: ExportFlags.transmission(for: export, structuredReplies: session.structuredReplies)))
            if request.requests.contains(.name) { try reply(.infoName(code, name: request.exportName)) }
            if request.requests.contains(.description), let description = export.description {
                try reply(.infoDescription(code, description: description))
            }
            try reply(.infoBlockSize(code, ExportFlags.blockSizes(of: export)))
            try reply(OptionReply(option: code, type: .ack))
        }
        guard code == .go else {
            admission.close()
            return nil
        }
        return session
    }

    /// Once admitted, every way out must give the admission back: the plugin
    /// counts connections (its last one leaving finishes the stream), and the
    /// transmission slot must be free for the next client.
    private func closingOnFailure(_ body: () throws -> Void) throws {
        do { try body() } catch {
            admission.close()
            throw error
        }
    }

    private mutating func metaContext(_ code: OptionCode, _ payload: [UInt8]) throws {
        let request: MetaContextRequest
        let setting = code == .setMetaContext
        // SET replaces the selection even when it fails.
        if setting { session.baseAllocationContext = nil }
        do { request = try MetaContextRequest.decode(payload) } catch {
            return try reply(.error(code, .errInvalid, message: "malformed \(code): \(error)"))
        }
        if setting && !session.structuredReplies {
            return try reply(.error(code, .errInvalid, message: "\(code) needs structured replies first"))
        }
        let selected = MetaContexts.selectsBaseAllocation(request.queries, listing: !setting)
        if selected {
            // LIST replies carry id 0: ids only mean something once SET chose them.
            try reply(.metaContext(code, id: setting ? MetaContexts.baseAllocationID : 0, name: MetaContexts.baseAllocation))
        }
        if setting { session.baseAllocationContext = selected ? MetaContexts.baseAllocationID : nil }
        try reply(OptionReply(option: code, type: .ack))
    }
}
