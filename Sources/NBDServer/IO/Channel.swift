import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The end of the connection was reached while more bytes were expected.
public struct ConnectionClosed: Error, Sendable {}

/// One NBD connection's byte channel. `-s` serves over stdin/stdout, so the
/// input and output descriptors may differ.
public struct Channel: Sendable {
    public let input: FileDescriptor
    public let output: FileDescriptor
    /// When set, every read must finish by then: the whole handshake has one
    /// deadline, however the client spreads its bytes. Past it, reads fail
    /// with EAGAIN, as a socket's own receive timeout does.
    public var deadline: ContinuousClock.Instant?

    public init(input: FileDescriptor, output: FileDescriptor) {
        self.input = input
        self.output = output
    }

    public init(socket: FileDescriptor) {
        self.init(input: socket, output: socket)
    }

    /// Lets reads block for as long as the peer takes again.
    public func clearReadTimeout() {
        var none = timeval()
        _ = setsockopt(input.rawValue, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Bounds the next read by what is left before the deadline, if any. It
    /// applies only to sockets; `-s` serves pipes, which keep blocking reads.
    private func boundNextRead() throws(Errno) {
        guard let deadline else { return }
        let left = deadline - .now
        guard left > .zero else { throw .resourceTemporarilyUnavailable }
        let (seconds, attoseconds) = left.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: max(1, Int(attoseconds / 1_000_000_000_000)))
        _ = setsockopt(input.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Fills `buffer` completely; the peer closing first is `ConnectionClosed`.
    public func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < buffer.count {
            try boundNextRead()
            let count = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { throw ConnectionClosed() }
            filled += count
        }
    }

    public func readBytes(_ count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readExactly(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Reads and drops `count` bytes through `scratch`, so skipping costs no memory.
    public func discard(_ count: UInt64, scratch: UnsafeMutableRawBufferPointer) throws {
        var left = count
        while left > 0 {
            let chunk = Int(min(left, UInt64(scratch.count)))
            try readExactly(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<chunk]))
            left -= UInt64(chunk)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        _ = try output.writeAll(bytes)
    }

    /// Header and data in one system call where the kernel takes them whole,
    /// so a reply costs one wake-up of the client rather than two.
    public func write(header: [UInt8], data: UnsafeRawBufferPointer) throws {
        try header.withUnsafeBytes { head in
            var iov = [
                iovec(iov_base: UnsafeMutableRawPointer(mutating: head.baseAddress), iov_len: head.count),
                iovec(iov_base: UnsafeMutableRawPointer(mutating: data.baseAddress), iov_len: data.count),
            ]
            let total = head.count + data.count
            let sent = try valueOrErrno { writev(output.rawValue, &iov, 2) }
            guard sent < total else { return }
            // A short write: finish the remainder plainly.
            if sent < head.count {
                try write(UnsafeRawBufferPointer(rebasing: head[sent...]))
                try write(data)
            } else {
                try write(UnsafeRawBufferPointer(rebasing: data[(sent - head.count)...]))
            }
        }
    }
}
