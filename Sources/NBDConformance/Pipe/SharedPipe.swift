import Glibc
import Synchronization

/// The harness's end of a `--target`'s FIFO, opened once and held for the whole run: every segment of the shared
/// stream is verified (write mode) or fed (read mode) through it, so the server never sees the pipe close
/// between segments (end of file in read mode, EPIPE in write mode).
final class SharedPipe: Sendable {
    let path: String
    private let mode: StreamMode
    private let descriptor = Mutex<Int32>(-1)

    init(path: String, mode: StreamMode, descriptor: Int32 = -1) {
        self.path = path
        self.mode = mode
        self.descriptor.withLock { $0 = descriptor }
    }

    /// A write end for a read-mode server that is blocked opening its FIFO (nbdkit opens it before it listens):
    /// the open succeeds only when a reader holds the FIFO, and lets that server go on. Nil if none does.
    static func writerForWaitingReader(at path: String) -> Int32? {
        let fd = Glibc.open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        // Blocking from here on, like every other pipe end the harness writes.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        Fifo.enlargeBuffer(fd)
        return fd
    }

    /// The descriptor, opened on first use; the open blocks until the server holds the other end, and is
    /// released by `Fifo.unblock…` on a timeout.
    func open() -> Result<Int32, PipeOpenError> {
        if let fd = descriptor.withLock({ $0 >= 0 ? $0 : nil }) { return .success(fd) }
        let fd = Glibc.open(path, (mode == .write ? O_RDONLY : O_WRONLY) | O_CLOEXEC)
        guard fd >= 0 else { return .failure(PipeOpenError(reason: "open \(path): \(String(cString: strerror(errno)))")) }
        Fifo.enlargeBuffer(fd)
        descriptor.withLock { $0 = fd }
        return .success(fd)
    }

    /// At the end of the run: the server sees end of file (read mode) or loses its reader (write mode).
    func close() {
        descriptor.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }
}

struct PipeOpenError: Error {
    let reason: String
}

/// Where a verifier or feeder gets its descriptor: a FIFO it opens and closes itself (a fresh server's), or the
/// run's shared end (a target's).
enum PipeEnd: Sendable {
    case own(String)
    case shared(SharedPipe)

    var path: String {
        switch self {
        case .own(let path): path
        case .shared(let pipe): pipe.path
        }
    }

    /// The descriptor: opened here for `.own` (the caller closes it), the run's for `.shared` (left open).
    func acquire(flags: Int32) -> Result<Int32, PipeOpenError> {
        switch self {
        case .own(let path):
            let fd = open(path, flags | O_CLOEXEC)
            guard fd >= 0 else { return .failure(PipeOpenError(reason: "open \(path): \(String(cString: strerror(errno)))")) }
            Fifo.enlargeBuffer(fd)
            return .success(fd)
        case .shared(let pipe):
            return pipe.open()
        }
    }
}
