import CSystemShims
import SystemPackage

/// Moving bytes between a pipe and another descriptor inside the kernel
/// (splice(2)), so payloads never pass through the process's memory.
public enum Splice {
    public enum Failure: Error, Equatable {
        /// The kernel cannot splice these descriptors; nothing was moved.
        case unsupported
        /// The source ended after `moved` bytes.
        case endOfInput(moved: Int)
        case failed(Errno, moved: Int)
    }

    /// Moves exactly `count` bytes from `source` to `destination`.
    public static func move(_ count: Int, from source: FileDescriptor, to destination: FileDescriptor) throws(Failure) {
        var moved = 0
        while moved < count {
            let result: Int
            do {
                result = try valueOrErrno { nbd_shim_splice(source.rawValue, destination.rawValue, count - moved) }
            } catch {
                if moved == 0 && (error == .invalidArgument || error == .noFunction) { throw .unsupported }
                throw .failed(error, moved: moved)
            }
            if result == 0 { throw .endOfInput(moved: moved) }
            moved += result
        }
    }
}
