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
        case info = 6
    }

    static let replyAck: UInt32 = 1
    static let replyErrorBit: UInt32 = 1 << 31
    static let replyErrorUnsupported: UInt32 = replyErrorBit | 1

    static let commandDisconnect: UInt16 = 2

    /// An option number no spec assigns, for the unknown-option cases.
    static let unassignedOption: UInt32 = 0x0BAD_0DD5
}
