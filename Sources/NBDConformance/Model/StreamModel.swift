import Glibc

/// The streaming contract (nbdkit-streaming-plugin(1) and docs/protocol.md) as a state machine: given requests in order,
/// it says what each must return and what the pipe must carry. Workloads are checked against it, not against
/// hand-computed expectations, so random workloads get exact verdicts too.
public struct StreamModel: Sendable {
    public let mode: StreamMode
    public let exportSize: UInt64
    public let maximumPayload: UInt64
    /// In read mode, how many bytes the feeder puts into the pipe before closing it.
    public let pipeLength: UInt64
    /// nbd-streaming's windows: write mode holds out-of-order writes, read mode keeps recent bytes.
    public let windows: StreamWindows
    /// Writes held by the reorder window, sorted and never overlapping.
    private var held: [HeldWrite] = []
    public private(set) var highwater: UInt64 = 0
    public private(set) var inErrorState = false
    /// Read mode: a read went past `pipeLength`, so the server must see the pipe's end of file.
    public private(set) var readsPastPipeEnd = false
    /// Write mode: the bytes the pipe must receive. Read mode: the bytes consumed from the pipe.
    public private(set) var stream = ExpectedStream()
    /// The end of the last WRITE_ZEROES longer than the maximum payload, which the server may refuse. Its zeroes are
    /// modelled as streamed: refused or not, the pipe carries them once a write at or beyond this end fills the gap.
    /// Any other request before that would depend on the answer, which the model cannot know, so none is sent.
    private var refusableZeroesEnd: UInt64?

    public init(mode: StreamMode, exportSize: UInt64, maximumPayload: UInt64 = StreamModel.defaultMaximumPayload,
                pipeLength: UInt64 = .max, windows: StreamWindows = .none) {
        self.mode = mode
        self.exportSize = exportSize
        self.maximumPayload = maximumPayload
        self.pipeLength = pipeLength
        self.windows = windows
    }

    /// 32 MiB: without an advertised maximum, the payload a server "SHOULD support" (proto.md § Size constraints).
    public static let defaultMaximumPayload: UInt64 = 32 * 1024 * 1024

    /// Starts the model where an earlier stream left off (a `--target` that already streamed `position` bytes).
    public mutating func assumeStreamed(upTo position: UInt64) {
        stream.append(.pattern, length: position - highwater)
        highwater = position
    }

    public mutating func apply(_ request: StreamRequest) -> ExpectedOutcome {
        if let end = refusableZeroesEnd {
            switch request {
            case .write(let offset, _, _) where offset >= end, .zero(let offset, _) where offset >= end: refusableZeroesEnd = nil
            default: preconditionFailure("only a write beyond a WRITE_ZEROES the server may refuse is modelled, not \(request)")
            }
        }
        switch (request, mode) {
        case (.flush, _):
            if inErrorState { return .failure(errno: EIO) }
            streamAllHeld()
            return .success
        case (.write(let offset, let length, let fua), .write):
            let outcome = append(.pattern, offset: offset, length: length, isPayload: true)
            if fua, outcome == .success { streamAllHeld() }
            return outcome
        case (.zero(let offset, let length), .write):
            return append(.zeroes, offset: offset, length: length, isPayload: false)
        case (.write(let offset, let length, _), .read), (.zero(let offset, let length), .read):
            if offset + length > exportSize { return .anyFailure }
            return .refused(preferring: EPERM)
        case (.read(let offset, let length), .write):
            return readInWriteMode(offset: offset, length: length)
        case (.read(let offset, let length), .read):
            return readFromPipe(offset: offset, length: length)
        }
    }

    private mutating func append(_ content: ExpectedStream.Content, offset: UInt64, length: UInt64, isPayload: Bool) -> ExpectedOutcome {
        if isPayload, length > maximumPayload { return .anyFailure }
        if offset > exportSize || length > exportSize - offset { return .refused(preferring: ENOSPC) }
        if inErrorState { return .failure(errno: EIO) }
        guard offset >= highwater else { return enterErrorState() }
        let refusable = !isPayload && length > maximumPayload
        if refusable {
            precondition(windows.reorder == 0, "WRITE_ZEROES over the maximum payload with a reorder window are not modelled")
            refusableZeroesEnd = offset + length
        }
        if windows.reorder == 0 || offset == highwater {
            forgetHeld(from: offset, to: offset + length)
            stream.append(.zeroes, length: offset - highwater)
            stream.append(content, length: length)
            highwater = offset + length
            streamContiguousHeld()
        } else {
            hold(HeldWrite(offset: offset, length: length, content: content))
            while heldBytes > windows.reorder { streamFirstHeld() }
        }
        return refusable ? .successOrFailure(errnos: [EOVERFLOW, EINVAL]) : .success
    }

    /// The end of the last connection: no client is left to fill the window's gaps.
    public mutating func lastConnectionClosed() {
        precondition(refusableZeroesEnd == nil, "a stream that ends with a WRITE_ZEROES the server may refuse is not modelled")
        if !inErrorState { streamAllHeld() }
    }

    // MARK: The reorder window

    struct HeldWrite: Equatable {
        var offset: UInt64
        var length: UInt64
        var content: ExpectedStream.Content
        var end: UInt64 { offset + length }
    }

    /// Held write data costs memory; held zeroes do not.
    private var heldBytes: UInt64 { held.reduce(0) { $0 + ($1.content == .pattern ? $1.length : 0) } }

    private mutating func hold(_ write: HeldWrite) {
        forgetHeld(from: write.offset, to: write.end)
        held.insert(write, at: held.firstIndex { $0.offset > write.offset } ?? held.endIndex)
    }

    /// A later write over held bytes replaces them.
    private mutating func forgetHeld(from start: UInt64, to end: UInt64) {
        held = held.flatMap { write -> [HeldWrite] in
            guard write.offset < end && write.end > start else { return [write] }
            var pieces: [HeldWrite] = []
            if write.offset < start { pieces.append(HeldWrite(offset: write.offset, length: start - write.offset, content: write.content)) }
            if write.end > end { pieces.append(HeldWrite(offset: end, length: write.end - end, content: write.content)) }
            return pieces
        }
    }

    private mutating func streamContiguousHeld() {
        while let first = held.first, first.offset == highwater {
            held.removeFirst()
            stream.append(first.content, length: first.length)
            highwater = first.end
        }
    }

    /// Gives up on the oldest gap: zeroes, then the held writes behind it.
    private mutating func streamFirstHeld() {
        guard let first = held.first else { return }
        stream.append(.zeroes, length: first.offset - highwater)
        highwater = first.offset
        streamContiguousHeld()
    }

    private mutating func streamAllHeld() {
        while !held.isEmpty { streamFirstHeld() }
    }

    private mutating func readInWriteMode(offset: UInt64, length: UInt64) -> ExpectedOutcome {
        // The server answers with held data where a window holds some; the model's outcomes cannot say "these
        // bytes, then zeroes", so the catalog never asks.
        precondition(!held.contains { $0.content == .pattern && $0.offset < offset + length && $0.end > offset },
                     "reads of bytes a reorder window holds are not modelled")
        if length > maximumPayload { return .anyFailure }
        if offset > exportSize || length > exportSize - offset { return .refused(preferring: EINVAL) }
        if inErrorState { return .failure(errno: EIO) }
        guard offset >= highwater else { return enterErrorState() }
        return .data(.zeroes)
    }

    private mutating func readFromPipe(offset: UInt64, length: UInt64) -> ExpectedOutcome {
        if length > maximumPayload { return .anyFailure }
        if offset > exportSize || length > exportSize - offset { return .refused(preferring: EINVAL) }
        if inErrorState { return .failure(errno: EIO) }
        // retain= keeps the last bytes read, so a read may reach that far back.
        guard offset >= highwater || highwater - offset <= windows.retain else { return enterErrorState() }
        guard offset + length <= pipeLength else {
            readsPastPipeEnd = true
            return enterErrorState()
        }
        if offset + length > highwater {
            stream.append(.pattern, length: offset + length - highwater)
            highwater = offset + length
        }
        return .data(.pattern)
    }

    private mutating func enterErrorState() -> ExpectedOutcome {
        inErrorState = true
        held.removeAll()
        return .failure(errno: EIO)
    }
}

public enum StreamMode: String, Sendable, Codable {
    case write
    case read
}
