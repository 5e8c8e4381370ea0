import NBDProtocol
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

    init(mode: StreamingConfiguration.Mode) {
        self.mode = mode
    }

    /// What a request at `offset` must do before it may touch the pipe.
    enum Plan: Equatable {
        /// Skip `gap` bytes (zero-fill in write mode, discard in read mode), then stream.
        case stream(gap: UInt64)
        /// Wholly at or above the highwater in write mode: the answer is zeroes.
        case zeroes
    }

    static let errorStatePrefix = "unrecoverable error state"

    /// Plans a write or write-zeroes (write mode only).
    mutating func planWrite(offset: UInt64) throws(PluginError) -> Plan {
        try checkHealthy()
        guard offset >= highwater else {
            throw fail("client tried to seek backwards and write: offset \(offset) is below the \(highwater) bytes already streamed")
        }
        return .stream(gap: offset - highwater)
    }

    mutating func planRead(offset: UInt64) throws(PluginError) -> Plan {
        try checkHealthy()
        switch mode {
        case .write:
            guard offset >= highwater else {
                throw fail("client tried to read below the highwater: offset \(offset) is below the \(highwater) bytes already streamed")
            }
            return .zeroes
        case .read:
            guard offset >= highwater else {
                throw fail("client tried to seek backwards and read: offset \(offset) is below the \(highwater) bytes already read")
            }
            return .stream(gap: offset - highwater)
        }
    }

    /// Requests that do not move the stream (flush, cache, block status) still
    /// fail once the stream has.
    func checkHealthy() throws(PluginError) {
        if let failure { throw PluginError(.io, "\(Self.errorStatePrefix): \(failure)") }
    }

    /// Records bytes that reached (or came from) the pipe.
    mutating func advance(to offset: UInt64) {
        highwater = max(highwater, offset)
    }

    /// Enters the error state; the first cause is the one reported ever after.
    @discardableResult
    mutating func fail(_ message: String) -> PluginError {
        if failure == nil { failure = message }
        return PluginError(.io, message)
    }

    /// base:allocation: in write mode what lies at or above the highwater has not
    /// been written and reads as zeroes, so it is a hole; everything else is data.
    func extents(length: UInt32, offset: UInt64) -> [Extent] {
        let end = offset + UInt64(length)
        guard mode == .write, end > highwater else { return [Extent(length: length, flags: [])] }
        guard offset < highwater else { return [Extent(length: length, flags: [.hole, .zero])] }
        let data = UInt32(highwater - offset)
        return [Extent(length: data, flags: []), Extent(length: length - data, flags: [.hole, .zero])]
    }
}
