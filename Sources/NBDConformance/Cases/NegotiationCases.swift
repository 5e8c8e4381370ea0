import NBDClient

/// Handshake and option haggling (proto.md "Handshake"); none of these touches the stream.
enum NegotiationCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(
            "negotiation/fixed-newstyle-offered",
            "The greeting is newstyle and sets NBD_FLAG_FIXED_NEWSTYLE (NBD_FLAG_NO_ZEROES is reported)",
            .spec(.must, "Handshake flags", "`NBD_FLAG_FIXED_NEWSTYLE`; MUST be set by servers that support the fixed newstyle protocol"),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            let greeting = try socket.handshake()
            try expect(greeting.flags & Wire.flagFixedNewstyle != 0, "NBD_FLAG_FIXED_NEWSTYLE is offered",
                       expected: "bit 0 set", actual: "flags 0x\(String(greeting.flags, radix: 16))")
            context.note(greeting.noZeroes ? "NBD_FLAG_NO_ZEROES offered" : "NBD_FLAG_NO_ZEROES not offered")
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
        ConformanceCase(
            "negotiation/write-mode-size-and-flags",
            "NBD_OPT_INFO and NBD_OPT_GO report the configured size and a writable export in write mode",
            .manPage("nbdkit streaming write=PIPE [size=SIZE]"), role: .negotiation
        ) { context in
            try checkInfoAndGo(context, readOnly: false)
        },
        ConformanceCase(
            "negotiation/read-mode-is-read-only",
            "In read mode NBD_OPT_GO reports the configured size and NBD_FLAG_READ_ONLY",
            .manPage("nbdkit streaming read=PIPE [size=SIZE]"), mode: .read, role: .negotiation
        ) { context in
            try checkInfoAndGo(context, readOnly: true)
        },
        ConformanceCase(
            "negotiation/block-size-constraints-consistent",
            "Advertised block sizes: minimum a power of two up to 64 KiB, preferred a power of two >= max(minimum, 512), maximum >= preferred",
            .spec(.must, "Size constraints", "If advertised, this value MUST be a power of 2, MUST NOT be larger than 2^16 (65,536)"),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connect { try $0.setRequestBlockSize(true) }
            let minimum = try connection.blockSize(.minimum)
            let preferred = try connection.blockSize(.preferred)
            let maximum = try connection.blockSize(.maximum)
            guard minimum != 0 || preferred != 0 || maximum != 0 else { throw CaseSkip("the server advertises no block sizes") }
            let values = "minimum \(minimum), preferred \(preferred), maximum \(maximum)"
            try expect(minimum.nonzeroBitCount == 1 && minimum <= 65536, "the minimum is a power of two up to 64 KiB", expected: "power of two", actual: values)
            try expect(preferred.nonzeroBitCount == 1 && preferred >= max(minimum, 512),
                       "the preferred size is a power of two at least as large as the minimum and 512", expected: "power of two", actual: values)
            try expect(preferred <= maximum, "the maximum payload is at least the preferred size", expected: "ordered", actual: values)
        },
        ConformanceCase(
            "negotiation/block-sizes-reported",
            "Informational: the block sizes the server advertises to NBD_OPT_INFO with NBD_INFO_BLOCK_SIZE, if any",
            .spec(.may, "Size constraints", "Clients MAY issue `NBD_OPT_INFO` with `NBD_INFO_BLOCK_SIZE` to learn the server's constraints without committing to them."),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connect {
                try $0.setOptionMode(true)
                try $0.setRequestBlockSize(true)
            }
            defer { try? connection.shutdown() }
            try expectSuccess("NBD_OPT_INFO") { try connection.info() }
            let (minimum, preferred, maximum) = (try connection.blockSize(.minimum), try connection.blockSize(.preferred), try connection.blockSize(.maximum))
            context.note(maximum == 0 ? "no NBD_INFO_BLOCK_SIZE" : "minimum \(minimum), preferred \(preferred), maximum \(maximum)")
        },
        ConformanceCase(
            "negotiation/unknown-option-answered-err-unsup",
            "An unknown option is answered NBD_REP_ERR_UNSUP and the next option is still parsed",
            .spec(.must, "Baseline", "Servers that receive messages which they do not implement MUST reply to them with `NBD_REP_ERR_UNSUP`, and MUST NOT fail to parse the next message received."),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            _ = try socket.handshake()
            try socket.sendOption(Wire.unassignedOption, data: Array("probe".utf8))
            let reply = try socket.readOptionReply()
            try expectEqual(reply.option, Wire.unassignedOption, "the reply echoes the unknown option")
            try expect(reply.type == Wire.replyErrorUnsupported, "the reply is NBD_REP_ERR_UNSUP",
                       expected: "0x80000001", actual: "0x\(String(reply.type, radix: 16))")
            try socket.sendOption(Wire.Option.list.rawValue)
            let next = try socket.readFinalOptionReply()
            try expectEqual(next.option, Wire.Option.list.rawValue, "NBD_OPT_LIST after it is answered")
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
        ConformanceCase(
            "negotiation/list-exports",
            "NBD_OPT_LIST ends in NBD_REP_ACK or an error reply, and NBD_OPT_GO still works after it",
            .spec(.must, "Option types", "followed by `NBD_REP_ACK` or an error (such as `NBD_REP_ERR_SHUTDOWN`)"),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connectForOptions()
            // An error reply is permitted here (the SHOULD case below judges it); only a broken exchange fails.
            _ = try? connection.listExports()
            try expectSuccess("NBD_OPT_GO after NBD_OPT_LIST") { try connection.go() }
        },
        ConformanceCase(
            "negotiation/list-exports-not-refused",
            "NBD_OPT_LIST lists the exports rather than answering with an error",
            .spec(.should, "Option types", "Return zero or more `NBD_REP_SERVER` replies, one for each export"),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            _ = try socket.handshake()
            try socket.sendOption(Wire.Option.list.rawValue)
            let reply = try socket.readFinalOptionReply()
            try expect(reply.type == Wire.replyAck, "NBD_OPT_LIST was refused",
                       expected: "NBD_REP_ACK after the NBD_REP_SERVER replies", actual: "reply type 0x\(String(reply.type, radix: 16))")
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
        ConformanceCase(
            "negotiation/abort-acknowledged",
            "NBD_OPT_ABORT is answered NBD_REP_ACK (then the harness drops the connection, as the client must)",
            .spec(.must, "Option types", "The server MUST reply with `NBD_REP_ACK`."), profile: nil, mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            // "This MUST be followed by the client [...] dropping the connection" (§ Termination of the session
            // during option haggling): what the server does after that is not the client's to see.
            defer { socket.close() }
            _ = try socket.handshake()
            try socket.sendOption(Wire.Option.abort.rawValue)
            let reply = try socket.readOptionReply()
            try expect(reply.option == Wire.Option.abort.rawValue && reply.type == Wire.replyAck, "NBD_OPT_ABORT is acknowledged",
                       expected: "NBD_REP_ACK for option 2", actual: "option \(reply.option), reply type 0x\(String(reply.type, radix: 16))")
        },
        ConformanceCase(
            "negotiation/export-name-fallback",
            "NBD_OPT_EXPORT_NAME enters transmission with the export size and flags and no zero padding under NO_ZEROES",
            .spec(.must, "Handshake flags", "the server MUST NOT send the 124 bytes of zero when the client ends negotiation with `NBD_OPT_EXPORT_NAME`"),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            let greeting = try socket.handshake()
            try socket.sendOption(Wire.Option.exportName.rawValue)
            let size = try socket.readUInt64()
            let flags = try socket.readUInt16()
            if !greeting.noZeroes {
                try expectEqual(try socket.read(124), [UInt8](repeating: 0, count: 124), "the 124 bytes of padding without NO_ZEROES")
            }
            if let configured = context.configuredSize {
                try expectEqual(size, configured, "the export size after NBD_OPT_EXPORT_NAME")
            }
            try expect(flags & Wire.transmissionHasFlags != 0, "NBD_FLAG_HAS_FLAGS is set",
                       expected: "bit 0 set", actual: "flags 0x\(String(flags, radix: 16))")
            // The next bytes belong to transmission: a disconnect must be understood (not eaten as padding).
            try socket.sendDisconnect()
            try expect(socket.closesWithin(seconds: 5), "the server closes after NBD_CMD_DISC",
                       expected: "end of file", actual: "connection still open after 5 s")
        },
        ConformanceCase(
            "negotiation/hostile-option-length",
            "Options declaring 4 GiB of data do not stop the server from serving new clients",
            .robustness("a client that declares an absurd length ends at most its own session"), profile: nil, mode: nil, role: .negotiation
        ) { context in
            for option in [Wire.unassignedOption, Wire.Option.exportName.rawValue, Wire.Option.info.rawValue] {
                let socket = try context.rawSocket()
                _ = try socket.handshake()
                // The declared data never comes; the server may reject, drop or wait, but must not allocate it.
                try? socket.sendOption(option, data: Array(repeating: 0x41, count: 64), declaredLength: 0xFFFF_FFFF)
                socket.close()
                try context.expectServerStillServes(after: "option \(option) declaring 0xFFFFFFFF bytes")
            }
        },
        ConformanceCase(
            "negotiation/structured-replies",
            "Informational: whether NBD_OPT_STRUCTURED_REPLY is accepted",
            .spec(.may, "Compatibility and interoperability", "All protocol options and messages not explicitly mentioned below should be considered optional features that MAY be negotiated between client and server, but are not required to be available."),
            profile: nil, mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connect()
            context.note(connection.structuredRepliesNegotiated ? "structured replies negotiated" : "structured replies refused")
        },
        ConformanceCase(
            "negotiation/base-allocation-context",
            "Where base:allocation is offered, it can be selected and NBD_CMD_BLOCK_STATUS answers with at least one extent",
            .spec(.must, "Request types", "However the server MUST return at least one status descriptor"), profile: nil, mode: nil, role: .negotiation
        ) { context in
            let lister = try context.connectForOptions()
            try lister.addMetaContext("base:allocation")
            let contexts = (try? lister.listMetaContexts()) ?? []
            try? lister.shutdown()
            guard contexts.contains("base:allocation") else { throw CaseSkip("the server does not offer base:allocation") }
            let connection = try context.connect { try $0.addMetaContext("base:allocation") }
            try expect(try connection.canMetaContext("base:allocation"), "base:allocation was selected by NBD_OPT_GO",
                       expected: "selected", actual: "not selected")
            let size = context.exportSize
            let extents = try expectSuccess("NBD_CMD_BLOCK_STATUS") {
                try connection.blockStatus(count: min(size, 65536), offset: size - min(size, 65536))
            }
            try expect(!extents.isEmpty, "block status returns at least one extent", expected: ">= 1 extent", actual: "none")
        },
    ]

    private static func checkInfoAndGo(_ context: CaseContext, readOnly: Bool) throws {
        let connection = try context.connectForOptions()
        try expectSuccess("NBD_OPT_INFO") { try connection.info() }
        let infoSize = try connection.exportSize()
        let infoReadOnly = try connection.isReadOnly()
        try expectSuccess("NBD_OPT_GO") { try connection.go() }
        let goSize = try connection.exportSize()
        if let configured = context.configuredSize {
            try expectEqual(infoSize, configured, "the size reported by NBD_OPT_INFO")
        }
        try expectEqual(goSize, infoSize, "NBD_OPT_GO reports the size NBD_OPT_INFO reported")
        try expectEqual(infoReadOnly, readOnly, "NBD_FLAG_READ_ONLY from NBD_OPT_INFO")
        try expectEqual(try connection.isReadOnly(), readOnly, "NBD_FLAG_READ_ONLY from NBD_OPT_GO")
    }
}
