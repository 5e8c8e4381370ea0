/// Numbers fixed by the NBD protocol (NetworkBlockDevice/nbd doc/proto.md).
public enum NBDMagic {
    /// "NBDMAGIC", the first eight bytes of every greeting.
    public static let greeting: UInt64 = 0x4e42_444d_4147_4943
    /// "IHAVEOPT": newstyle greeting, and the prefix of every client option.
    public static let options: UInt64 = 0x4948_4156_454F_5054
    public static let oldstyle: UInt64 = 0x0000_4202_8186_1253
    public static let optionReply: UInt64 = 0x0003_e889_0455_65a9
    public static let request: UInt32 = 0x2560_9513
    public static let simpleReply: UInt32 = 0x6744_6698
    public static let structuredReply: UInt32 = 0x668e_33ef
}

/// Handshake flags sent by the server in the newstyle greeting.
public struct HandshakeFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fixedNewstyle = HandshakeFlags(rawValue: 1 << 0)
    public static let noZeroes = HandshakeFlags(rawValue: 1 << 1)
}

/// Flags the client answers the greeting with.
public struct ClientFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let fixedNewstyle = ClientFlags(rawValue: 1 << 0)
    public static let noZeroes = ClientFlags(rawValue: 1 << 1)
    public static let known: ClientFlags = [.fixedNewstyle, .noZeroes]
}

/// Per-export flags sent at the end of the handshake.
public struct TransmissionFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let hasFlags = TransmissionFlags(rawValue: 1 << 0)
    public static let readOnly = TransmissionFlags(rawValue: 1 << 1)
    public static let sendFlush = TransmissionFlags(rawValue: 1 << 2)
    public static let sendFUA = TransmissionFlags(rawValue: 1 << 3)
    public static let rotational = TransmissionFlags(rawValue: 1 << 4)
    public static let sendTrim = TransmissionFlags(rawValue: 1 << 5)
    public static let sendWriteZeroes = TransmissionFlags(rawValue: 1 << 6)
    public static let sendDF = TransmissionFlags(rawValue: 1 << 7)
    public static let canMultiConn = TransmissionFlags(rawValue: 1 << 8)
    public static let sendResize = TransmissionFlags(rawValue: 1 << 9)
    public static let sendCache = TransmissionFlags(rawValue: 1 << 10)
    public static let sendFastZero = TransmissionFlags(rawValue: 1 << 11)
}

/// Option codes a client may send during haggling. Unknown codes stay representable
/// because the server must answer them (ERR_UNSUP) rather than fail to parse them.
public struct OptionCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let exportName = OptionCode(rawValue: 1)
    public static let abort = OptionCode(rawValue: 2)
    public static let list = OptionCode(rawValue: 3)
    public static let peekExport = OptionCode(rawValue: 4)
    public static let startTLS = OptionCode(rawValue: 5)
    public static let info = OptionCode(rawValue: 6)
    public static let go = OptionCode(rawValue: 7)
    public static let structuredReply = OptionCode(rawValue: 8)
    public static let listMetaContext = OptionCode(rawValue: 9)
    public static let setMetaContext = OptionCode(rawValue: 10)
    public static let extendedHeaders = OptionCode(rawValue: 11)

    public var description: String {
        switch self {
        case .exportName: "NBD_OPT_EXPORT_NAME"
        case .abort: "NBD_OPT_ABORT"
        case .list: "NBD_OPT_LIST"
        case .peekExport: "NBD_OPT_PEEK_EXPORT"
        case .startTLS: "NBD_OPT_STARTTLS"
        case .info: "NBD_OPT_INFO"
        case .go: "NBD_OPT_GO"
        case .structuredReply: "NBD_OPT_STRUCTURED_REPLY"
        case .listMetaContext: "NBD_OPT_LIST_META_CONTEXT"
        case .setMetaContext: "NBD_OPT_SET_META_CONTEXT"
        case .extendedHeaders: "NBD_OPT_EXTENDED_HEADERS"
        default: "option \(rawValue)"
        }
    }
}

/// Option reply types; errors have the top bit set.
public struct OptionReplyType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let ack = OptionReplyType(rawValue: 1)
    public static let server = OptionReplyType(rawValue: 2)
    public static let info = OptionReplyType(rawValue: 3)
    public static let metaContext = OptionReplyType(rawValue: 4)
    public static let errUnsupported = OptionReplyType(rawValue: 1 << 31 | 1)
    public static let errPolicy = OptionReplyType(rawValue: 1 << 31 | 2)
    public static let errInvalid = OptionReplyType(rawValue: 1 << 31 | 3)
    public static let errPlatform = OptionReplyType(rawValue: 1 << 31 | 4)
    public static let errTLSRequired = OptionReplyType(rawValue: 1 << 31 | 5)
    public static let errUnknown = OptionReplyType(rawValue: 1 << 31 | 6)
    public static let errShutdown = OptionReplyType(rawValue: 1 << 31 | 7)
    public static let errBlockSizeRequired = OptionReplyType(rawValue: 1 << 31 | 8)
    public static let errTooBig = OptionReplyType(rawValue: 1 << 31 | 9)

    public var isError: Bool { rawValue & (1 << 31) != 0 }
}

/// Information items requested by NBD_OPT_INFO and NBD_OPT_GO.
public struct InfoType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let export = InfoType(rawValue: 0)
    public static let name = InfoType(rawValue: 1)
    public static let description = InfoType(rawValue: 2)
    public static let blockSize = InfoType(rawValue: 3)
}

public struct Command: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let read = Command(rawValue: 0)
    public static let write = Command(rawValue: 1)
    public static let disconnect = Command(rawValue: 2)
    public static let flush = Command(rawValue: 3)
    public static let trim = Command(rawValue: 4)
    public static let cache = Command(rawValue: 5)
    public static let writeZeroes = Command(rawValue: 6)
    public static let blockStatus = Command(rawValue: 7)

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .disconnect: "disconnect"
        case .flush: "flush"
        case .trim: "trim"
        case .cache: "cache"
        case .writeZeroes: "write_zeroes"
        case .blockStatus: "block_status"
        default: "command \(rawValue)"
        }
    }
}

public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fua = CommandFlags(rawValue: 1 << 0)
    public static let noHole = CommandFlags(rawValue: 1 << 1)
    public static let dontFragment = CommandFlags(rawValue: 1 << 2)
    public static let requestOne = CommandFlags(rawValue: 1 << 3)
    public static let fastZero = CommandFlags(rawValue: 1 << 4)
}

/// Structured reply chunk types.
public struct ChunkType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let none = ChunkType(rawValue: 0)
    public static let offsetData = ChunkType(rawValue: 1)
    public static let offsetHole = ChunkType(rawValue: 2)
    public static let blockStatus = ChunkType(rawValue: 5)
    public static let error = ChunkType(rawValue: 1 << 15 | 1)
    public static let errorOffset = ChunkType(rawValue: 1 << 15 | 2)
}

public struct ChunkFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let done = ChunkFlags(rawValue: 1 << 0)
}

/// Error numbers on the wire. They are the protocol's, not the host's errno values.
public struct WireError: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let ok = WireError(rawValue: 0)
    public static let permissionDenied = WireError(rawValue: 1)  // EPERM
    public static let io = WireError(rawValue: 5)  // EIO
    public static let noMemory = WireError(rawValue: 12)  // ENOMEM
    public static let invalid = WireError(rawValue: 22)  // EINVAL
    public static let noSpace = WireError(rawValue: 28)  // ENOSPC
    public static let overflow = WireError(rawValue: 75)  // EOVERFLOW
    public static let notSupported = WireError(rawValue: 95)  // ENOTSUP
    public static let shutdown = WireError(rawValue: 108)  // ESHUTDOWN

    public var description: String {
        switch self {
        case .ok: "success"
        case .permissionDenied: "EPERM"
        case .io: "EIO"
        case .noMemory: "ENOMEM"
        case .invalid: "EINVAL"
        case .noSpace: "ENOSPC"
        case .overflow: "EOVERFLOW"
        case .notSupported: "ENOTSUP"
        case .shutdown: "ESHUTDOWN"
        default: "error \(rawValue)"
        }
    }
}

/// Flags of a base:allocation block status descriptor.
public struct AllocationFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let hole = AllocationFlags(rawValue: 1 << 0)
    public static let zero = AllocationFlags(rawValue: 1 << 1)
}

public enum NBDLimits {
    /// Export names and other strings in options: the spec caps them at 4096 bytes.
    public static let maximumStringLength = 4096
    /// The largest option payload the server will buffer; larger ones are
    /// answered ERR_TOO_BIG after their bytes are skipped.
    public static let maximumOptionLength: UInt32 = 64 * 1024
    /// The maximum payload the spec lets clients assume without BLOCK_SIZE.
    public static let defaultMaximumPayload: UInt32 = 32 * 1024 * 1024
    /// Greeting, request and reply header sizes.
    public static let requestHeaderLength = 28
    public static let optionHeaderLength = 16
    public static let exportNameZeroPadding = 124
}
