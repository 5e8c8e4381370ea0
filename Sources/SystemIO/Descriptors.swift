import CSystemShims
import Glibc
import SystemPackage

/// IOV_MAX on Linux (a macro Swift does not import): the most buffers one writev takes.
private let maximumIOVectors = 1024

/// Small typed wrappers over descriptor calls swift-system does not offer.
extension FileDescriptor {
    /// Bytes a pipe or socket holds that a read would return without waiting.
    public var readableBytes: Int {
        Int(max(0, nbd_shim_readable_bytes(rawValue)))
    }

    /// Grows a pipe's buffer, so its reader and writer wake each other less
    /// often; failing only costs speed, so it is not an error. Returns the size granted.
    @discardableResult
    public func enlargePipeBuffer(to size: Int32 = 1 << 20) -> Int {
        Int(max(0, nbd_shim_set_pipe_size(rawValue, size)))
    }

    /// fsync(2): the file's written data made durable.
    public func synchronize() throws(Errno) {
        try valueOrErrno { fsync(rawValue) }
    }

    public func setBlocking(_ blocking: Bool) throws(Errno) {
        try valueOrErrno { nbd_shim_set_nonblocking(rawValue, blocking ? 0 : 1) }
    }

    /// Writes every byte of `buffers`, gathered: as few system calls as the
    /// kernel allows, finishing a short write where it stopped.
    public func writeAll(gathering buffers: [UnsafeRawBufferPointer]) throws(Errno) {
        var vectors = buffers.filter { !$0.isEmpty }.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        var first = 0
        while first < vectors.count {
            // withUnsafeBufferPointer rethrows untyped errors; a Result keeps the type.
            var sent = try vectors.withUnsafeBufferPointer { all in
                Result { () throws(Errno) in
                    try valueOrErrno { writev(rawValue, all.baseAddress! + first, Int32(min(all.count - first, maximumIOVectors))) }
                }
            }.get()
            while first < vectors.count && sent >= vectors[first].iov_len {
                sent -= vectors[first].iov_len
                first += 1
            }
            if sent > 0 {
                vectors[first].iov_base += sent
                vectors[first].iov_len -= sent
            }
        }
    }

    /// Whether the process could open `count` more descriptors now. The
    /// limit (RLIMIT_NOFILE) bounds descriptor numbers, not their count, and
    /// numbers free up out of order, so the one exact answer is to try:
    /// `count` copies of this descriptor, closed again at once.
    public func canDuplicate(_ count: Int) -> Bool {
        var copies: [Int32] = []
        defer { copies.forEach { _ = Glibc.close($0) } }
        for _ in 0..<count {
            guard let copy = try? valueOrErrno({ fcntl(rawValue, F_DUPFD_CLOEXEC, 0) }) else { return false }
            copies.append(copy)
        }
        return true
    }

    /// One read(2): what has arrived, at least one byte and at most
    /// `buffer.count` (waiting for the first), or 0 at the end of the input.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try valueOrErrno { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Reads until `buffer` is full or the input ends; returns the count read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try readAvailable(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }
}
