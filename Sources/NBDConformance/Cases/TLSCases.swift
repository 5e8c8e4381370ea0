import TLS

/// The spec's "TLS support" section and NBD_OPT_STARTTLS (proto.md "Option types"), on servers started with the
/// harness's credentials through `$TLS`: what a server that requires TLS refuses before the upgrade, what it
/// never takes for TLS input, and what the upgrade forgets. The raw cases drive STARTTLS by hand and then speak
/// through the harness's own TLS session (the TLS module over GnuTLS); the workloads go through libnbd.
enum TLSCases {
    private static let mib = Requests.mib

    static let all: [ConformanceCase] = [
        ConformanceCase(
            "tls/options-refused-before-starttls",
            "Before NBD_OPT_STARTTLS every option but ABORT (LIST, INFO, STRUCTURED_REPLY, SET_META_CONTEXT, an unknown one, GO) is answered NBD_REP_ERR_TLS_REQD; after it, none is",
            .spec(.must, "FORCEDTLS mode", "If the server receives any other option, including `NBD_OPT_INFO` and unsupported options, it MUST reply with `NBD_REP_ERR_TLS_REQD` if TLS has not been initiated"),
            profile: nil, mode: nil, role: .negotiation, tls: .required
        ) { context in
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            // GO last: a server that wrongly accepts it enters transmission.
            let probes: [(name: String, option: UInt32, data: [UInt8])] = [
                ("NBD_OPT_LIST", Wire.Option.list.rawValue, []), ("NBD_OPT_INFO", Wire.Option.info.rawValue, defaultExport),
                ("NBD_OPT_STRUCTURED_REPLY", Wire.Option.structuredReply.rawValue, []),
                ("NBD_OPT_SET_META_CONTEXT", Wire.Option.setMetaContext.rawValue, baseAllocationQuery),
                ("an unknown option", Wire.unassignedOption, Array("probe".utf8)), ("NBD_OPT_GO", Wire.Option.go.rawValue, defaultExport),
            ]
            for probe in probes {
                try socket.sendOption(probe.option, data: probe.data)
                let reply = try socket.readFinalOptionReply()
                try expect(reply.type == Wire.replyErrorTLSRequired, "\(probe.name) before NBD_OPT_STARTTLS is answered NBD_REP_ERR_TLS_REQD",
                           expected: "0x80000005", actual: hex(reply.type))
            }
            try socket.upgrade(with: try credentials(context))
            try socket.sendOption(Wire.Option.list.rawValue)
            let inside = try socket.readFinalOptionReply()
            try expect(inside.type != Wire.replyErrorTLSRequired, "inside TLS, NBD_OPT_LIST is not answered NBD_REP_ERR_TLS_REQD",
                       expected: "not 0x80000005", actual: hex(inside.type))
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
        ConformanceCase(
            "tls/export-name-before-starttls-ends-the-session",
            "NBD_OPT_EXPORT_NAME before NBD_OPT_STARTTLS ends the session without entering transmission",
            .spec(.must, "FORCEDTLS mode", "If the server receives a request to enter transmission mode via `NBD_OPT_EXPORT_NAME` when TLS has not been initiated, then as this request cannot error, it MUST terminate the session."),
            profile: nil, mode: nil, role: .negotiation, tls: .required
        ) { context in
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            try socket.sendOption(Wire.Option.exportName.rawValue)
            // The export's size and flags (10 bytes) would mean transmission was entered.
            let answer = socket.bytesBeforeClose(limit: 10, seconds: 10)
            try expect(answer.bytes.count < 10, "no export size and flags are sent", expected: "the session ends unanswered",
                       actual: "\(answer.bytes.count) bytes: transmission was entered")
            try expect(answer.closed, "the server terminates the session", expected: "closed within 10 s", actual: "still open")
        },
        ConformanceCase(
            "tls/write-workload-byte-exact",
            "Through TLS (libnbd), writes of 1 B to 1 MiB with 16 in flight reach the pipe byte for byte",
            .spec(.must, "FORCEDTLS mode", "After an `NBD_REP_ACK` reply has been sent, the server MUST be prepared for a TLS handshake, and all further data MUST be sent and received over TLS."),
            size: 64 * mib, tls: .required
        ) { context in
            try context.runStream([Requests.sequentialWrites(workloadSizes)], depth: 16)
        },
        ConformanceCase(
            "tls/read-workload-byte-exact",
            "Through TLS (libnbd), in read mode, reads of 1 B to 1 MiB with 16 in flight return the pipe's bytes",
            .spec(.must, "FORCEDTLS mode", "After an `NBD_REP_ACK` reply has been sent, the server MUST be prepared for a TLS handshake, and all further data MUST be sent and received over TLS."),
            mode: .read, size: 64 * mib, tls: .required
        ) { context in
            try context.runStream([Requests.sequentialReads(workloadSizes)], depth: 16)
        },
        ConformanceCase(
            "tls/wrong-key-refused-server-still-serves",
            "A TLS handshake with a key the server does not hold fails, the server ends that session, and it serves the next client",
            .spec(.must, "FORCEDTLS mode", "If the handshake is unsuccessful (for instance the client's certificate does not match) the server MUST terminate the session as by this stage it is too late to continue without TLS as the acknowledgement has been sent."),
            profile: nil, mode: nil, role: .negotiation, tls: .required
        ) { context in
            guard let wrongKey = try context.tls?.wrongKeyCredentials() else {
                throw CaseSkip("needs pre-shared keys: with certificates, only a server that checks clients could refuse the harness")
            }
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            do {
                let reply = try socket.startTLS(wrongKey)
                try expect(reply.type == Wire.replyAck, "NBD_OPT_STARTTLS is answered NBD_REP_ACK", expected: "NBD_REP_ACK", actual: hex(reply.type))
                throw CaseFailure("the TLS handshake with a key the server does not hold succeeded")
            } catch let failed as RawNBDSocket.HandshakeFailed {
                context.note("refused: \(failed.reason)")
            }
            try expect(socket.closesWithin(seconds: 10), "the server terminates the session after the failed handshake",
                       expected: "closed within 10 s", actual: "still open")
            try context.expectServerStillServes(after: "a failed TLS handshake")
        },
        ConformanceCase(
            "tls/plaintext-behind-starttls-not-acted-on",
            "An option sent in plaintext behind NBD_OPT_STARTTLS, before its reply, is never answered inside TLS (STARTTLS command injection)",
            .spec(.must, "FORCEDTLS mode", "After an `NBD_REP_ACK` reply has been sent, the server MUST be prepared for a TLS handshake, and all further data MUST be sent and received over TLS."),
            profile: nil, mode: nil, role: .negotiation, tls: .required
        ) { context in
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            let injected = RawNBDSocket.bytes(Wire.optionMagic) + RawNBDSocket.bytes(Wire.Option.structuredReply.rawValue) + RawNBDSocket.bytes(UInt32(0))
            let reply: RawNBDSocket.OptionReply
            do {
                reply = try socket.startTLS(try credentials(context), trailing: injected)
            } catch let failed as RawNBDSocket.HandshakeFailed {
                return context.note("the TLS handshake failed on the injected bytes: \(failed.reason)")
            } catch let failure as CaseFailure where failure.kind == .connection {
                return context.note("the server ended the session without answering NBD_OPT_STARTTLS")
            }
            guard reply.type == Wire.replyAck else { return context.note("NBD_OPT_STARTTLS answered \(hex(reply.type)): no upgrade") }
            // TLS is up. The injected option must not be answered, nor take effect.
            try socket.sendOption(Wire.Option.go.rawValue, data: defaultExport)
            while true {
                let answer = try socket.readOptionReply()
                try expect(answer.option != Wire.Option.structuredReply.rawValue, "the plaintext option is not answered inside TLS",
                           expected: "replies to NBD_OPT_GO only", actual: "a reply to NBD_OPT_STRUCTURED_REPLY")
                if answer.type == Wire.replyAck { break }
                guard answer.type == Wire.replyInfo else { throw CaseSkip("NBD_OPT_GO answered \(hex(answer.type))") }
            }
            try expectSimpleReadReply(socket, "structured replies, asked for only in plaintext, are not on")
        },
        ConformanceCase(
            "tls/negotiation-forgotten-after-starttls",
            "Structured replies and a metadata context negotiated in plaintext (under --tls=on) are forgotten once NBD_OPT_STARTTLS succeeds",
            .spec(.must, "Option types", "When this command succeeds, the server MUST NOT preserve any negotiation state (such as a request for `NBD_OPT_STRUCTURED_REPLY`, or metadata contexts from `NBD_OPT_SET_META_CONTEXT`) issued before this command."),
            profile: nil, mode: nil, role: .negotiation, tls: .offered
        ) { context in
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            try socket.sendOption(Wire.Option.structuredReply.rawValue)
            let structured = try socket.readFinalOptionReply()
            if structured.type == Wire.replyErrorTLSRequired {
                throw CaseSkip("the server requires TLS before any option, so nothing can be negotiated before the upgrade (the case needs --tls=on)")
            }
            guard structured.type == Wire.replyAck else { throw CaseSkip("the server refuses structured replies") }
            try socket.sendOption(Wire.Option.setMetaContext.rawValue, data: baseAllocationQuery)
            _ = try socket.readFinalOptionReply()
            try socket.upgrade(with: try credentials(context))
            try socket.sendOption(Wire.Option.go.rawValue, data: defaultExport)
            let go = try socket.readFinalOptionReply()
            try expect(go.type == Wire.replyAck, "NBD_OPT_GO inside TLS is accepted", expected: "NBD_REP_ACK", actual: hex(go.type))
            try expectSimpleReadReply(socket, "structured replies negotiated before NBD_OPT_STARTTLS are off inside TLS")
        },
        ConformanceCase(
            "tls/key-update-answered",
            "Inside TLS 1.3, after a KeyUpdate that asks the server to renew its keys too, NBD_OPT_LIST is still answered, twice over",
            .tls13(.must, "4.6.3", "If the request_update field is set to \"update_requested\", then the receiver MUST send a KeyUpdate of its own with request_update set to \"update_not_requested\" prior to sending its next Application Data record."),
            profile: nil, mode: nil, role: .negotiation, tls: .required
        ) { context in
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            try socket.upgrade(with: try credentials(context))
            // Twice: the second update derives from the first's keys on both sides.
            for round in 1...2 {
                try socket.updateKeys()
                try socket.sendOption(Wire.Option.list.rawValue)
                let list = try socket.readFinalOptionReply()
                try expectEqual(list.option, Wire.Option.list.rawValue, "NBD_OPT_LIST after KeyUpdate \(round) is answered inside the session")
            }
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
        ConformanceCase(
            "tls/second-starttls-invalid",
            "NBD_OPT_STARTTLS inside TLS is answered NBD_REP_ERR_INVALID, and the session goes on",
            .spec(.must, "FORCEDTLS mode", "If the server receives `NBD_OPT_STARTTLS` when TLS has already been negotiated, it it MUST reply with `NBD_REP_ERR_INVALID`."),
            profile: nil, mode: nil, role: .negotiation, tls: .required
        ) { context in
            let socket = try context.plaintextRawSocket()
            _ = try socket.handshake()
            try socket.upgrade(with: try credentials(context))
            try socket.sendOption(Wire.Option.startTLS.rawValue)
            let second = try socket.readFinalOptionReply()
            try expect(second.type == Wire.replyErrorInvalid, "a second NBD_OPT_STARTTLS is answered NBD_REP_ERR_INVALID",
                       expected: "0x80000003", actual: hex(second.type))
            try socket.sendOption(Wire.Option.list.rawValue)
            let list = try socket.readFinalOptionReply()
            try expectEqual(list.option, Wire.Option.list.rawValue, "NBD_OPT_LIST after it is answered inside the same session")
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
    ]

    /// Sizes around the 16 KiB TLS record, then the 1 MiB payloads of copy tools: about 31 MiB.
    private static let workloadSizes: [UInt64] = [1, 16 * 1024, 16 * 1024 + 1, 100_000, 3] + Array(repeating: mib, count: 31)

    /// NBD_OPT_INFO and NBD_OPT_GO data: the default export ("") and no information requests.
    private static let defaultExport: [UInt8] = [0, 0, 0, 0, 0, 0]

    /// NBD_OPT_SET_META_CONTEXT data: the default export and one query, base:allocation.
    private static let baseAllocationQuery: [UInt8] = {
        let query = Array("base:allocation".utf8)
        return RawNBDSocket.bytes(UInt32(0)) + RawNBDSocket.bytes(UInt32(1)) + RawNBDSocket.bytes(UInt32(query.count)) + query
    }()

    private static func credentials(_ context: CaseContext) throws -> TLSClientCredentials {
        guard let tls = context.tls else { throw CaseSkip("needs the harness's TLS credentials (--tls-psk or --tls-certificates)") }
        return try tls.clientCredentials()
    }

    /// In transmission: a one-byte READ at offset 0 must get a simple reply, as without structured replies.
    private static func expectSimpleReadReply(_ socket: RawNBDSocket, _ what: String) throws {
        try socket.sendRead(cookie: 1, offset: 0, length: 1)
        let magic = try socket.readUInt32()
        try expect(magic == Wire.simpleReplyMagic, what, expected: "a simple reply (0x67446698)",
                   actual: magic == Wire.structuredReplyMagic ? "a structured reply chunk" : hex(magic))
        try socket.sendDisconnect()
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
