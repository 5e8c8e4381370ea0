import NBDServer

/// The stream's contract without its I/O: where the stream stands (the
/// highwater), whether it has failed for good, and what each request must do.
/// All connections share one position.
struct StreamPosition: Equatable, Sendable {
    let mode: StreamingConfiguration.Mode
    /// Bytes streamed so far: the next byte of the pipe is this offset.
    private(set) var highwater: UInt64 = 0
    /// Set once; every later request and connection fails with it.
    private(set) var failure: String?
    /// The end of the furthest write seen, held or streamed: how far ahead the
    /// client ran, which sizes the advice in a backward-write error.
    private var furthestWrite: UInt64 = 0

    init(mode: StreamingConfiguration.Mode) {
        self.mode = mode
    }

    /// What a request at `offset` must do before it may touch the pipe.
    enum Plan: Equatable {
        /// Skip `gap` bytes (zero-fill in write mode, discard in read mode), then stream.
        case stream(gap: UInt64)
        /// Read mode, within `retain=`: the first `count` bytes were read before and
        /// are retained; the rest, if any, streams from the highwater on.
        case replay(count: UInt64)
        /// Wholly at or above the highwater in write mode: nothing streamed there yet.
        case zeroes
    }

    static let errorStatePrefix = "unrecoverable error state"

    /// Plans a write or write-zeroes (write mode only): the gap to fill before it.
    mutating func planWrite(offset: UInt64, length: UInt64) throws(PluginError) -> UInt64 {
        try checkHealthy()
        guard offset >= highwater else {
            throw fail("client tried to seek backwards and write: offset \(offset) is \(highwater - offset) bytes below "
                + "the \(highwater) bytes already streamed; \(Self.hint("reorder", needed: max(furthestWrite, highwater) - offset))")
        }
        furthestWrite = max(furthestWrite, offset + length)
        return offset - highwater
    }

    /// Plans a read; in read mode the `retained` bytes just below the highwater
    /// can still be served.
    mutating func planRead(offset: UInt64, length: UInt64, retained: UInt64 = 0) throws(PluginError) -> Plan {
        try checkHealthy()
        switch mode {
        case .write:
            guard offset >= highwater else {
                throw fail("client tried to read below the highwater: offset \(offset) is below the \(highwater) bytes already streamed")
            }
            return .zeroes
        case .read:
            if offset >= highwater { return .stream(gap: offset - highwater) }
            guard highwater - offset <= retained else {
                throw fail("client tried to seek backwards and read: offset \(offset) is \(highwater - offset) bytes below "
                    + "the \(highwater) bytes already read; \(Self.hint("retain", needed: highwater - offset))")
            }
            return .replay(count: min(length, highwater - offset))
        }
    }

    /// Advice for a backward request: how far out of order the client ran,
    /// rounded up to a power of two of at least 1 MiB so it is ready to paste.
    /// It is a lower bound: a client that ran this far may run further.
    static func hint(_ key: String, needed: UInt64) -> String {
        var size: UInt64 = 1 << 20
        while size < needed && size < 1 << 62 { size <<= 1 }
        let text = size >= 1 << 30 ? "\(size >> 30)G" : "\(size >> 20)M"
        return "the client ran at least \(needed) bytes out of order: \(key)=\(text) or more would be needed "
            + "(the README lists sizes that suit qemu-img and nbdcopy)"
    }

    /// Requests that do not move the stream (flush, cache, block status) still
    /// fail once the stream has.
    func checkHealthy() throws(PluginError) {
        if let failure { throw PluginError(.ioError, "\(Self.errorStatePrefix): \(failure)") }
    }

    /// Records bytes that reached (or came from) the pipe.
    mutating func advance(to offset: UInt64) {
        highwater = max(highwater, offset)
    }

    /// Enters the error state; the first cause is the one reported ever after.
    @discardableResult
    mutating func fail(_ message: String) -> PluginError {
        if failure == nil { failure = message }
        return PluginError(.ioError, message)
    }

    /// base:allocation: in write mode what lies at or above the highwater has not
    /// been streamed and reads as zeroes (or as held data, which the plugin
    /// reports), so it is a hole; everything else is data.
    func extents(length: UInt32, offset: UInt64) -> [PluginExtent] {
        let end = offset + UInt64(length)
        guard mode == .write, end > highwater else { return [PluginExtent(length: length, kind: .data)] }
        guard offset < highwater else { return [PluginExtent(length: length, kind: [.hole, .zero])] }
        let data = UInt32(highwater - offset)
        return [PluginExtent(length: data, kind: .data), PluginExtent(length: length - data, kind: [.hole, .zero])]
    }
}
