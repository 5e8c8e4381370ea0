import NBDProtocol
import SystemPackage

/// The one place an errno (from the plugin, or from the server's own checks)
/// becomes an NBD error, as nbdkit's nbd_errno() does.
enum WireErrors {
    static func wireError(for errno: Errno, flags: CommandFlags) -> WireError {
        switch errno {
        case .notPermitted, .readOnlyFileSystem: .permissionDenied
        case .ioError: .io
        case .noMemory: .noMemory
        case .noSpace, .fileTooLarge, .diskQuotaExceeded: .noSpace
        case .socketShutdown: .shutdown
        // The spec reserves ENOTSUP for a refused fast zero; EOVERFLOW for a
        // read too large to send unfragmented.
        case .notSupported: flags.contains(.fastZero) ? .notSupported : .invalid
        case .overflow: flags.contains(.dontFragment) ? .overflow : .invalid
        default: .invalid
        }
    }
}
