import Glibc

/// Named-pipe helpers. Opening a FIFO blocks until the other side opens it, so every blocking open here has a
/// matching `unblock` that the runner calls on timeout: it briefly opens the opposite end, which lets the
/// blocked open return, and the closed peer then shows up as end of file or EPIPE.
enum Fifo {
    static func create(at path: String) throws {
        guard mkfifo(path, 0o600) == 0 else {
            throw HarnessError("mkfifo \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Releases a thread blocked opening `path` for reading.
    static func unblockReader(at path: String) {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0 { close(fd) }
    }

    /// Releases a thread blocked opening `path` for writing.
    static func unblockWriter(at path: String) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0 { close(fd) }
    }

    /// Larger pipe buffers mean fewer wake-ups per gigabyte; failure only costs speed, so it is ignored.
    static func enlargeBuffer(_ fd: Int32) {
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ, hidden by Glibc without _GNU_SOURCE */, 1 << 20)
    }
}
