/// What the server says before any option: the greetings and the export data
/// that ends a handshake.
public enum Greeting {
    /// Fixed newstyle: NBDMAGIC, IHAVEOPT, 16-bit handshake flags.
    public static func newstyle(flags: HandshakeFlags) -> [UInt8] {
        var writer = ByteWriter(capacity: 18)
        writer.write(NBDMagic.greeting)
        writer.write(NBDMagic.options)
        writer.write(flags.rawValue)
        return writer.bytes
    }

    /// Oldstyle: the export is described at once and transmission begins.
    public static func oldstyle(size: UInt64, flags: TransmissionFlags) -> [UInt8] {
        var writer = ByteWriter(capacity: 152)
        writer.write(NBDMagic.greeting)
        writer.write(NBDMagic.oldstyle)
        writer.write(size)
        writer.write(UInt32(flags.rawValue))
        writer.write(repeatElement(UInt8(0), count: NBDLimits.exportNameZeroPadding))
        return writer.bytes
    }

    /// The reply to NBD_OPT_EXPORT_NAME, which has no option reply header.
    public static func exportNameReply(size: UInt64, flags: TransmissionFlags, noZeroes: Bool) -> [UInt8] {
        var writer = ByteWriter(capacity: 134)
        writer.write(size)
        writer.write(flags.rawValue)
        if !noZeroes {
            writer.write(repeatElement(UInt8(0), count: NBDLimits.exportNameZeroPadding))
        }
        return writer.bytes
    }

    public static let clientFlagsLength = 4

    public static func decodeClientFlags(_ bytes: [UInt8]) throws(DecodeError) -> ClientFlags {
        var reader = ByteReader(bytes)
        return ClientFlags(rawValue: try reader.read(UInt32.self))
    }
}
