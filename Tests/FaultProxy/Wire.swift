/// The NBD values the proxy parses (NetworkBlockDevice/nbd doc/proto.md).
enum NBD {
    static let requestMagic: UInt64 = 0x2560_9513
    static let simpleReplyMagic: UInt64 = 0x6744_6698
    static let structuredReplyMagic: UInt64 = 0x668E_33EF
    static let optionGo: UInt64 = 7
    static let optionExportName: UInt64 = 1
    static let optionAbort: UInt64 = 2
    static let optionStructuredReply: UInt64 = 8
    static let replyAck: UInt64 = 1
    static let replyErrorBit: UInt64 = 1 << 31
    static let flagNoZeroes: UInt64 = 1 << 1

    enum Command: UInt64 {
        case read = 0, write = 1, disconnect = 2, flush = 3, trim = 4, cache = 5, writeZeroes = 6, blockStatus = 7
    }

    static let commandFlagFUA: UInt64 = 1
    static let chunkOffsetData: UInt64 = 1
    static let chunkBlockStatus: UInt64 = 5
    static let chunkFlagDone: UInt64 = 1
    static let stateZero: UInt64 = 2
}

/// One transmission request as read from the client.
struct Request {
    var header: [UInt8]
    var payload: [UInt8]
    var flags: UInt64 { header.integer(at: 4, width: 2) }
    var type: UInt64 { header.integer(at: 6, width: 2) }
    var cookie: UInt64 { header.integer(at: 8, width: 8) }
    var offset: UInt64 {
        get { header.integer(at: 16, width: 8) }
        set { header.setInteger(newValue, at: 16, width: 8) }
    }
    var length: UInt64 { header.integer(at: 24, width: 4) }
}
