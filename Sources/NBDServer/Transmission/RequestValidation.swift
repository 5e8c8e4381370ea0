import NBDProtocol
import SystemPackage

/// The checks the server makes before a request reaches the plugin, in the
/// order the spec implies: what the command is, its flags, its length and range.
enum RequestValidation {
    /// Flags each command accepts; anything else is EINVAL. FUA is advertised,
    /// so the spec says every command must accept it, if only by ignoring it.
    static func allowedFlags(for command: Command, session: Session) -> CommandFlags? {
        switch command {
        case .read: session.structuredReplies ? [.fua, .dontFragment] : [.fua]
        case .write, .flush, .cache: [.fua]
        case .writeZeroes: [.fua, .noHole, .fastZero]
        case .blockStatus: [.fua, .requestOne]
        default: nil
        }
    }

    /// The error to answer `header` with, or nil when the plugin may serve it.
    /// Like nbdkit's validate_request it answers with an errno, which the one
    /// mapping to the wire (`WireErrors`) turns into the NBD error.
    static func check(_ header: RequestHeader, export: ExportDescription, session: Session) -> PluginError? {
        let command = header.command
        guard let allowed = allowedFlags(for: command, session: session) else {
            return PluginError(.invalidArgument, "\(command) is not supported")
        }
        guard header.flags.isSubset(of: allowed) else {
            return PluginError(.invalidArgument, "invalid flags 0x\(String(header.flags.rawValue, radix: 16)) for \(command)")
        }
        if command == .blockStatus && session.baseAllocationContext == nil {
            return PluginError(.invalidArgument, "block status without a negotiated metadata context")
        }
        let writes = command == .write || command == .writeZeroes
        if writes && export.isReadOnly {
            return PluginError(.readOnlyFileSystem, "\(command) on a read-only export")
        }
        if command == .flush {
            return header.offset == 0 && header.length == 0 ? nil : PluginError(.invalidArgument, "flush with an offset or length")
        }
        if header.length == 0 {
            return PluginError(.invalidArgument, "\(command) of zero length")
        }
        if (command == .read || command == .write) && header.length > export.maximumPayload {
            return PluginError(.invalidArgument, "\(command) of \(header.length) bytes exceeds the maximum of \(export.maximumPayload)")
        }
        let (end, overflow) = header.offset.addingReportingOverflow(UInt64(header.length))
        if overflow || end > export.size {
            let message = "\(command) beyond the end of the export (offset \(header.offset), length \(header.length), size \(export.size))"
            return PluginError(writes ? .noSpace : .invalidArgument, message)
        }
        if command == .writeZeroes && header.flags.contains(.fastZero) {
            return PluginError(.notSupported, "fast zeroing is not supported")
        }
        return nil
    }
}
