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
    public private(set) var highwater: UInt64 = 0
    public private(set) var inErrorState = false
    /// Write mode: the bytes the pipe must receive. Read mode: the bytes consumed from the pipe.
    public private(set) var stream = ExpectedStream()

    public init(mode: StreamMode, exportSize: UInt64, maximumPayload: UInt64 = StreamModel.advertisedMaximumPayload,
                pipeLength: UInt64 = .max) {
        self.mode = mode
        self.exportSize = exportSize
        self.maximumPayload = maximumPayload
        self.pipeLength = pipeLength
    }

    /// 32 MiB, the maximum block size the server advertises.
    public static let advertisedMaximumPayload: UInt64 = 32 * 1024 * 1024

    /// Starts the model where an earlier stream left off (a `--target` that already streamed `position` bytes).
    public mutating func assumeStreamed(upTo position: UInt64) {
        stream.append(.pattern, length: position - highwater)
        highwater = position
    }

    public mutating func apply(_ request: StreamRequest) -> ExpectedOutcome {
        switch (request, mode) {
        case (.flush, _):
            return inErrorState ? .failure(errno: EIO) : .success
        case (.write(let offset, let length, _), .write):
            return append(.pattern, offset: offset, length: length, isPayload: true)
        case (.zero(let offset, let length), .write):
            return append(.zeroes, offset: offset, length: length, isPayload: false)
        case (.write(let offset, let length, _), .read), (.zero(let offset, let length), .read):
            if offset + length > exportSize { return .anyFailure }
            return .failure(errno: EPERM)
        case (.read(let offset, let length), .write):
            return readInWriteMode(offset: offset, length: length)
        case (.read(let offset, let length), .read):
            return readFromPipe(offset: offset, length: length)
        }
    }

    private mutating func append(_ content: ExpectedStream.Content, offset: UInt64, length: UInt64, isPayload: Bool) -> ExpectedOutcome {
        if isPayload, length > maximumPayload { return .anyFailure }
        if offset > exportSize || length > exportSize - offset { return .failure(errno: ENOSPC) }
        if inErrorState { return .failure(errno: EIO) }
        guard offset >= highwater else { return enterErrorState() }
        stream.append(.zeroes, length: offset - highwater)
        stream.append(content, length: length)
        highwater = offset + length
        return .success
    }

    private mutating func readInWriteMode(offset: UInt64, length: UInt64) -> ExpectedOutcome {
        if length > maximumPayload { return .anyFailure }
        if offset > exportSize || length > exportSize - offset { return .failure(errno: EINVAL) }
        if inErrorState { return .failure(errno: EIO) }
        guard offset >= highwater else { return enterErrorState() }
        return .data(.zeroes)
    }

    private mutating func readFromPipe(offset: UInt64, length: UInt64) -> ExpectedOutcome {
        if length > maximumPayload { return .anyFailure }
        if offset > exportSize || length > exportSize - offset { return .failure(errno: EINVAL) }
        if inErrorState { return .failure(errno: EIO) }
        guard offset >= highwater else { return enterErrorState() }
        guard offset + length <= pipeLength else { return enterErrorState() }
        stream.append(.pattern, length: offset + length - highwater)
        highwater = offset + length
        return .data(.pattern)
    }

    private mutating func enterErrorState() -> ExpectedOutcome {
        inErrorState = true
        return .failure(errno: EIO)
    }
}

public enum StreamMode: String, Sendable, Codable {
    case write
    case read
}
