import Glibc
import Synchronization
import SystemPackage

/// Wakes the accept loop when the server must stop: SIGINT, SIGTERM, the
/// captive command exiting, or the single client of `-s` leaving. A pipe is
/// the one wake-up a signal handler may safely cause.
final class StopSignal: Sendable {
    private let pipe: (readEnd: FileDescriptor, writeEnd: FileDescriptor)
    private let status = Mutex<Int32?>(nil)

    init() throws {
        pipe = try FileDescriptor.pipe()
        _ = fcntl(pipe.readEnd.rawValue, F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipe.writeEnd.rawValue, F_SETFD, FD_CLOEXEC)
        stopSignalWriteDescriptor = pipe.writeEnd.rawValue
    }

    var readDescriptor: FileDescriptor { pipe.readEnd }

    /// Asks the server to stop and exit with `exitStatus`; the first request wins.
    func stop(exitStatus: Int32) {
        status.withLock { if $0 == nil { $0 = exitStatus } }
        var byte: UInt8 = 0
        _ = Glibc.write(pipe.writeEnd.rawValue, &byte, 1)
    }

    /// Why the server stops, given the byte that woke the accept loop: a
    /// request through `stop(exitStatus:)`, or else the signal whose number it is.
    func reason(afterWakeByte byte: UInt8) -> StopReason {
        status.withLock { $0 }.map(StopReason.requested) ?? .signal(Int32(byte))
    }

    /// SIGINT and SIGTERM become a stop. SIGPIPE and SIGXFSZ are ignored so a
    /// vanished reader or client (EPIPE) and a file endpoint past its size
    /// limit (EFBIG) are errors of one request, never the server's death.
    func installHandlers() {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = Glibc.write(stopSignalWriteDescriptor, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may have started us with these blocked; they must reach us.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, SIGINT)
        sigaddset(&unblocked, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }
}

/// The signal handler is a C function pointer and cannot capture; it finds the
/// pipe here. Written once before handlers are installed.
nonisolated(unsafe) private var stopSignalWriteDescriptor: Int32 = -1

enum StopReason: Equatable {
    /// The captive command exited, or the single client left, with this status.
    case requested(Int32)
    case signal(Int32)

    /// A signal's status is 128 + its number, as shells report it.
    var exitStatus: Int32 {
        switch self {
        case let .requested(status): status
        case let .signal(number): 128 + number
        }
    }
}
