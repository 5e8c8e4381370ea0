import SystemIO
import SystemPackage

/// One client's connection: its channel, the bytes read ahead of the request
/// being served (pipelined requests then cost one read between them, not one
/// each), and the replies waiting to go out together.
final class Connection {
    private(set) var channel: any ByteChannel
    /// The descriptors under the plain channel (a socket, or `-s`'s standard
    /// input and output): a deadline bounds their reads and writes, and TLS
    /// takes them over after STARTTLS.
    let transport: (input: FileDescriptor, output: FileDescriptor)?
    /// When set, every read and write must finish by then: the whole
    /// handshake has one deadline, counted from the connection, which no byte
    /// the client sends (the first or any later one) moves, and a client that
    /// never reads its replies cannot stretch either. Past it, reads and
    /// writes fail with EAGAIN, as a socket's own timeouts do.
    var deadline: ContinuousClock.Instant? {
        didSet {
            // Between requests a client may rightly stay silent for as long as it likes.
            if deadline == nil, oldValue != nil, let transport {
                Socket.setReceiveTimeout(transport.input, nil)
                Socket.setSendTimeout(transport.output, nil)
            }
        }
    }
    /// Told whenever bytes arrive, while the client is in its handshake: how
    /// long it has been idle decides which handshake makes room for a new one.
    var handshakeSlot: HandshakeSlot?

    /// Read-ahead: bytes [start, end) of `storage` arrived but are not consumed yet.
    private let storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Encoded replies not sent yet.
    private var pendingReplies: [UInt8] = []

    /// Room for a burst of small pipelined requests: 64 writes of 4 KiB with their headers.
    static let readAheadCapacity = 288 * 1024
    /// Reply data up to this size is copied into the pending replies; larger
    /// data is sent from where it lies.
    static let copiedReplyData = 16 * 1024

    init(channel: any ByteChannel) {
        self.channel = channel
        transport = channel.spliceable
        storage = .allocate(byteCount: Self.readAheadCapacity, alignment: 4096)
        pendingReplies.reserveCapacity(64 * 1024)
    }

    deinit { storage.deallocate() }

    /// Swaps the channel after STARTTLS. Nothing may be read ahead: bytes the
    /// client sent in plaintext must never be taken for input of the session.
    func upgrade(to channel: any ByteChannel) {
        precondition(start == end, "plaintext read ahead would be taken for TLS input")
        precondition(pendingReplies.isEmpty, "a plaintext reply would go out inside the session")
        self.channel = channel
    }

    // MARK: input

    /// The bytes read ahead and not consumed yet.
    var buffered: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[start..<end]) }

    /// The same bytes, writable: a burst of writes is compacted in place.
    var bufferedForUpdate: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[start..<end]) }

    func consume(_ count: Int) {
        precondition(count <= end - start, "consuming bytes that were not read")
        start += count
    }

    /// Reads at least one more byte, and at most `limit`, into the read-ahead;
    /// the peer closing is `ConnectionClosed`.
    func fill(limit: Int = .max) throws {
        if start == end {
            start = 0
            end = 0
        } else if end == storage.count {
            storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: end - start)
            end -= start
            start = 0
        }
        let room = min(storage.count - end, limit)
        let count = try readFromChannel(into: UnsafeMutableRawBufferPointer(rebasing: storage[end..<end + room]))
        end += count
    }

    /// Fills `buffer` completely, from the read-ahead first; large remainders
    /// are read straight into `buffer`.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < buffer.count {
            let left = buffer.count - filled
            if start == end && left >= storage.count / 2 {
                filled += try readFromChannel(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                continue
            }
            if start == end { try fill() }
            let taken = min(left, end - start)
            UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + taken])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[start..<start + taken]))
            start += taken
            filled += taken
        }
    }

    func readBytes(_ count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try readExactly(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Reads and drops `count` bytes, in constant memory.
    func discard(_ count: UInt64) throws {
        var left = count
        while left > 0 {
            if start == end { try fill() }
            let taken = Int(min(left, UInt64(end - start)))
            start += taken
            left -= UInt64(taken)
        }
    }

    private func readFromChannel(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let left = try timeLeft(), let transport { Socket.setReceiveTimeout(transport.input, left) }
        let count = try channel.read(into: buffer)
        if count == 0 { throw ConnectionClosed() }
        handshakeSlot?.heard()
        return count
    }

    private func writeToChannel(_ buffers: [UnsafeRawBufferPointer]) throws {
        if let left = try timeLeft(), let transport { Socket.setSendTimeout(transport.output, left) }
        try channel.write(buffers)
    }

    /// What is left of the deadline; EAGAIN once it has passed.
    private func timeLeft() throws -> Duration? {
        guard let deadline else { return nil }
        let left = deadline - .now
        guard left > .zero else { throw Errno.resourceTemporarilyUnavailable }
        return left
    }

    // MARK: output

    /// Sends `bytes` now, after any replies still pending.
    func send(_ bytes: [UInt8]) throws {
        queue(bytes)
        try flushReplies()
    }

    func queue(_ bytes: [UInt8]) {
        pendingReplies.append(contentsOf: bytes)
    }

    /// A reply with data: small data joins the pending replies; large data
    /// goes out at once from where it lies, with the header in one system call.
    func queue(header: [UInt8], data: UnsafeRawBufferPointer) throws {
        guard data.count > Self.copiedReplyData else {
            pendingReplies.append(contentsOf: header)
            pendingReplies.append(contentsOf: data)
            return
        }
        pendingReplies.append(contentsOf: header)
        try pendingReplies.withUnsafeBytes { try writeToChannel([$0, data]) }
        pendingReplies.removeAll(keepingCapacity: true)
    }

    /// Sends every pending reply. Called before anything that may wait (the
    /// next read from the client, a plugin call), so a reply is never held
    /// back by work that is not its own.
    func flushReplies() throws {
        guard !pendingReplies.isEmpty else { return }
        try pendingReplies.withUnsafeBytes { try writeToChannel([$0]) }
        pendingReplies.removeAll(keepingCapacity: true)
    }
}
