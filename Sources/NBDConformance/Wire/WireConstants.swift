/// NBD wire values from NetworkBlockDevice/nbd doc/proto.md, written out independently of the server's codec so
/// a shared misunderstanding cannot make both sides agree on a wrong encoding.
enum Wire {
    static let nbdMagic: UInt64 = 0x4E42_444D_4147_4943 // "NBDMAGIC"
    static let optionMagic: UInt64 = 0x4948_4156_454F_5054 // "IHAVEOPT"
    static let optionReplyMagic: UInt64 = 0x0003_E889_0455_65A9
    static let requestMagic: UInt32 = 0x2560_9513

    static let flagFixedNewstyle: UInt16 = 1 << 0
    static let flagNoZeroes: UInt16 = 1 << 1
    static let transmissionHasFlags: UInt16 = 1 << 0

    enum Option: UInt32 {
        case exportName = 1
        case abort = 2
        case list = 3
        case startTLS = 5
        case info = 6
        case go = 7
        case structuredReply = 8
        case setMetaContext = 10
    }

    static let simpleReplyMagic: UInt32 = 0x6744_6698
    static let structuredReplyMagic: UInt32 = 0x668E_33EF
    static let commandRead: UInt16 = 0
    static let chunkFlagDone: UInt16 = 1

    /// Structured reply chunk types.
    enum Chunk: UInt16 {
        case none = 0
        case offsetData = 1
        case offsetHole = 2
        case blockStatus = 5
        case error = 0x8001
        case errorOffset = 0x8002
    }

    static let replyAck: UInt32 = 1
    static let replyErrorBit: UInt32 = 1 << 31
    static let replyErrorUnsupported: UInt32 = replyErrorBit | 1
    static let replyErrorInvalid: UInt32 = replyErrorBit | 3
    static let replyErrorTLSRequired: UInt32 = replyErrorBit | 5
    static let replyInfo: UInt32 = 3

    static let commandDisconnect: UInt16 = 2

    /// An option number no spec assigns, for the unknown-option cases.
    static let unassignedOption: UInt32 = 0x0BAD_0DD5
}
