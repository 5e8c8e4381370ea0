import NBDProtocol

/// How the plugin's description of its export is advertised on the wire.
enum ExportFlags {
    /// Transmission flags for the export; the server supports every command it
    /// lists. DF only means something once structured replies are on.
    static func transmission(for export: ExportDescription, structuredReplies: Bool) -> TransmissionFlags {
        var flags: TransmissionFlags = [.hasFlags, .sendFlush, .sendFUA, .sendCache]
        if structuredReplies { flags.insert(.sendDF) }
        if export.canMultiConn { flags.insert(.canMultiConn) }
        if export.isReadOnly {
            flags.insert(.readOnly)
        } else {
            flags.formUnion([.sendWriteZeroes, .sendFastZero])
        }
        return flags
    }

    static func blockSizes(of export: ExportDescription) -> BlockSizeConstraints {
        BlockSizeConstraints(minimum: export.minimumBlockSize, preferred: export.preferredBlockSize, maximum: export.maximumPayload)
    }
}
