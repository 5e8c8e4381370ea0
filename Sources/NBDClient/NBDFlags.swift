import CLibNBD

/// Per-command flags (NBD_CMD_FLAG_*), as libnbd accepts them.
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let fua = CommandFlags(rawValue: LIBNBD_CMD_FLAG_FUA)
    public static let noHole = CommandFlags(rawValue: LIBNBD_CMD_FLAG_NO_HOLE)
    public static let doNotFragment = CommandFlags(rawValue: LIBNBD_CMD_FLAG_DF)
    public static let requestOne = CommandFlags(rawValue: LIBNBD_CMD_FLAG_REQ_ONE)
    public static let fastZero = CommandFlags(rawValue: LIBNBD_CMD_FLAG_FAST_ZERO)
}

/// Client-side request checks libnbd applies before sending; clearing them lets off-spec requests reach the server.
public struct StrictMode: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let commands = StrictMode(rawValue: LIBNBD_STRICT_COMMANDS)
    public static let flags = StrictMode(rawValue: LIBNBD_STRICT_FLAGS)
    public static let bounds = StrictMode(rawValue: LIBNBD_STRICT_BOUNDS)
    public static let zeroSize = StrictMode(rawValue: LIBNBD_STRICT_ZERO_SIZE)
    public static let align = StrictMode(rawValue: LIBNBD_STRICT_ALIGN)
    public static let all = StrictMode(rawValue: LIBNBD_STRICT_MASK)
}

/// Global handshake flags the client is willing to use (NBD_FLAG_C_*).
public struct HandshakeFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let fixedNewstyle = HandshakeFlags(rawValue: LIBNBD_HANDSHAKE_FLAG_FIXED_NEWSTYLE)
    public static let noZeroes = HandshakeFlags(rawValue: LIBNBD_HANDSHAKE_FLAG_NO_ZEROES)
}

/// Which block-size constraint to ask for (NBD_INFO_BLOCK_SIZE).
public enum BlockSizeKind: Int32, Sendable {
    case minimum = 0
    case preferred = 1
    case maximum = 2
}

/// One export as NBD_OPT_LIST describes it.
public struct ExportListing: Sendable, Equatable {
    public let name: String
    public let description: String
}

/// One run of blocks with the same status from NBD_CMD_BLOCK_STATUS.
public struct Extent: Sendable, Equatable {
    public let length: UInt32
    public let flags: UInt32

    public static let hole: UInt32 = UInt32(LIBNBD_STATE_HOLE)
    public static let zero: UInt32 = UInt32(LIBNBD_STATE_ZERO)
}
