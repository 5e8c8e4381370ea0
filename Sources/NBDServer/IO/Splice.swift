import CSystemShims
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Moving bytes between a pipe and a socket inside the kernel (splice(2)),
/// so payloads never pass through the server's memory.
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
            let result = nbd_shim_splice(source.rawValue, destination.rawValue, count - moved)
            if result > 0 {
                moved += result
            } else if result == 0 {
                throw .endOfInput(moved: moved)
            } else if errno != EINTR {
                let error = Errno(rawValue: errno)
                if moved == 0 && (error == .invalidArgument || error == .noFunction) { throw .unsupported }
                throw .failed(error, moved: moved)
            }
        }
    }

    /// Bytes a pipe or socket holds that a read would return without waiting.
    public static func readableBytes(_ fd: FileDescriptor) -> Int {
        Int(max(0, nbd_shim_readable_bytes(fd.rawValue)))
    }

    /// Grows a pipe's buffer, so a reader and writer wake each other less often;
    /// failing only costs speed, so it is not an error.
    public static func enlargePipe(_ fd: FileDescriptor, to size: Int32 = 1 << 20) {
        _ = nbd_shim_set_pipe_size(fd.rawValue, size)
    }
}
