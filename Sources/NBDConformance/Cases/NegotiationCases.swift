import NBDClient

/// Handshake and option haggling (proto.md "Handshake"); none of these touches the stream.
enum NegotiationCases {
    static let all: [ConformanceCase] = [
        ConformanceCase(
            "negotiation/fixed-newstyle-and-no-zeroes",
            "The greeting is newstyle and offers NBD_FLAG_FIXED_NEWSTYLE and NBD_FLAG_NO_ZEROES",
            reference: "proto.md Newstyle negotiation; Fixed newstyle negotiation", mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            let greeting = try socket.handshake()
            try expect(greeting.flags & Wire.flagFixedNewstyle != 0, "NBD_FLAG_FIXED_NEWSTYLE is offered",
                       expected: "bit 0 set", actual: "flags 0x\(String(greeting.flags, radix: 16))")
            try expect(greeting.flags & Wire.flagNoZeroes != 0, "NBD_FLAG_NO_ZEROES is offered",
                       expected: "bit 1 set", actual: "flags 0x\(String(greeting.flags, radix: 16))")
            try socket.sendOption(Wire.Option.abort.rawValue)
        },
        ConformanceCase(
            "negotiation/write-mode-size-and-flags",
            "NBD_OPT_INFO and NBD_OPT_GO report the configured size and a writable export in write mode",
            reference: "proto.md NBD_OPT_INFO and NBD_OPT_GO; nbdkit-streaming-plugin(1) size=", role: .negotiation
        ) { context in
            try checkInfoAndGo(context, readOnly: false)
        },
        ConformanceCase(
            "negotiation/read-mode-is-read-only",
            "In read mode NBD_OPT_GO reports the configured size and NBD_FLAG_READ_ONLY",
            reference: "proto.md Transmission flags NBD_FLAG_READ_ONLY; nbdkit-streaming-plugin(1) read=",
            mode: .read, role: .negotiation
        ) { context in
            try checkInfoAndGo(context, readOnly: true)
        },
        ConformanceCase(
            "negotiation/block-size-constraints-consistent",
            "Advertised block sizes are powers of two with minimum <= preferred <= maximum",
            reference: "proto.md Block size constraints", mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connect { try $0.setRequestBlockSize(true) }
            let minimum = try connection.blockSize(.minimum)
            let preferred = try connection.blockSize(.preferred)
            let maximum = try connection.blockSize(.maximum)
            guard minimum != 0 || preferred != 0 || maximum != 0 else { throw CaseSkip("the server advertises no block sizes") }
            let values = "minimum \(minimum), preferred \(preferred), maximum \(maximum)"
            try expect(minimum.nonzeroBitCount == 1 && minimum <= 65536, "the minimum is a power of two up to 64 KiB", expected: "power of two", actual: values)
            try expect(preferred.nonzeroBitCount == 1 && preferred >= 512, "the preferred size is a power of two of at least 512", expected: "power of two", actual: values)
            try expect(minimum <= preferred && preferred <= maximum, "minimum <= preferred <= maximum", expected: "ordered", actual: values)
            try expect(maximum % minimum == 0, "the maximum is a multiple of the minimum", expected: "multiple", actual: values)
        },
        ConformanceCase(
            "negotiation/maximum-block-size-is-32m",
            "The server advertises a maximum block size of 32 MiB",
            level: .should, reference: "proto.md Block size constraints; docs/protocol.md", mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connect { try $0.setRequestBlockSize(true) }
            try expectEqual(try connection.blockSize(.maximum), StreamModel.advertisedMaximumPayload, "maximum block size")
        },
        ConformanceCase(
            "negotiation/unknown-option-answered-err-unsup",
            "An unknown option is answered NBD_REP_ERR_UNSUP and the next option is still parsed",
            reference: "proto.md Option types (unknown options); Fixed newstyle negotiation", mode: nil, role: .negotiation
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
            "NBD_OPT_LIST is answered, and NBD_OPT_GO still works after it",
            reference: "proto.md NBD_OPT_LIST", mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connectForOptions()
            // The spec lets a server refuse to list (NBD_REP_ERR_POLICY); only a broken exchange fails here.
            _ = try? connection.listExports()
            try expectSuccess("NBD_OPT_GO after NBD_OPT_LIST") { try connection.go() }
        },
        ConformanceCase(
            "negotiation/abort-closes",
            "After NBD_OPT_ABORT the server closes the connection (optionally after an ACK)",
            reference: "proto.md NBD_OPT_ABORT", mode: nil, role: .negotiation
        ) { context in
            let socket = try context.rawSocket()
            _ = try socket.handshake()
            try socket.sendOption(Wire.Option.abort.rawValue)
            try expect(socket.closesWithin(seconds: 5), "the server closes the connection after NBD_OPT_ABORT",
                       expected: "end of file", actual: "connection still open after 5 s")
        },
        ConformanceCase(
            "negotiation/export-name-fallback",
            "NBD_OPT_EXPORT_NAME enters transmission with the export size and flags and no zero padding under NO_ZEROES",
            reference: "proto.md NBD_OPT_EXPORT_NAME", mode: nil, role: .negotiation
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
            reference: "proto.md Option haggling (length field); docs/limits.md (allocation bounds)", mode: nil, role: .negotiation
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
            "NBD_OPT_STRUCTURED_REPLY is accepted",
            level: .should, reference: "proto.md NBD_OPT_STRUCTURED_REPLY", mode: nil, role: .negotiation
        ) { context in
            let connection = try context.connect()
            try expect(connection.structuredRepliesNegotiated, "structured replies were negotiated",
                       expected: "negotiated", actual: "refused")
        },
        ConformanceCase(
            "negotiation/base-allocation-context",
            "base:allocation is listed, can be selected, and NBD_CMD_BLOCK_STATUS answers for it",
            level: .should, reference: "proto.md Metadata querying; base:allocation", mode: nil, role: .negotiation
        ) { context in
            let lister = try context.connectForOptions()
            try lister.addMetaContext("base:allocation")
            let contexts = try expectSuccess("NBD_OPT_LIST_META_CONTEXT") { try lister.listMetaContexts() }
            try expect(contexts.contains("base:allocation"), "base:allocation is listed",
                       expected: "base:allocation", actual: "\(contexts)")
            try? lister.shutdown()
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
