import Glibc

// The four ways the benchmark moves bytes through a bare pipe. Each returns the system calls it made, so the
// driver can tell a pipe that moved big pieces from one that moved small ones. EINTR is retried everywhere:
// the driver's signals must not turn into short counts.

/// Copies the bytes into user space with read(), as `cat` does.
func readToEnd(_ source: Int32, chunk: Int) throws -> (bytes: Int, calls: Int) {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
    defer { buffer.deallocate() }
    var bytes = 0
    var calls = 0
    while true {
        let count = read(source, buffer, chunk)
        calls += 1
        if count == 0 { return (bytes, calls) }
        if count < 0 {
            if errno == EINTR { continue }
            throw SystemCallError("read")
        }
        bytes += count
    }
}

/// Moves page references from the pipe to /dev/null with splice(): the payload never enters user space.
func spliceToNull(from source: Int32, chunk: Int) throws -> (bytes: Int, calls: Int) {
    let sink = open("/dev/null", O_WRONLY | O_CLOEXEC)
    guard sink >= 0 else { throw SystemCallError("open /dev/null") }
    defer { close(sink) }
    var bytes = 0
    var calls = 0
    while true {
        let count = Glibc.splice(source, nil, sink, nil, chunk, UInt32(SPLICE_F_MOVE))
        calls += 1
        if count == 0 { return (bytes, calls) }
        if count < 0 {
            if errno == EINTR { continue }
            throw SystemCallError("splice")
        }
        bytes += count
    }
}

/// Writes `size` bytes of one pattern buffer, either copied with write() or, with `gift`, handed to the pipe
/// as page references with vmsplice(). The buffer is never changed after it is filled, which is what makes
/// lending its pages to the pipe safe.
func writePattern(to sink: Int32, size: Int, chunk: Int, gift: Bool) throws -> Int {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
    defer { buffer.deallocate() }
    for offset in 0..<chunk { buffer[offset] = UInt8(truncatingIfNeeded: offset &* 31 &+ 1) }
    var remaining = size
    var calls = 0
    var position = 0
    while remaining > 0 {
        let length = min(chunk - position, remaining)
        let start = buffer.baseAddress! + position
        let count: Int
        if gift {
            var piece = iovec(iov_base: start, iov_len: length)
            count = vmsplice(sink, &piece, 1, 0)
        } else {
            count = write(sink, start, length)
        }
        calls += 1
        if count < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(gift ? "vmsplice" : "write")
        }
        remaining -= count
        position = (position + count) % chunk
    }
    return calls
}
