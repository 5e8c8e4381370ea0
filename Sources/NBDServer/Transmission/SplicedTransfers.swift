import SystemPackage

/// A WRITE's payload still in the client's socket, handed to a plugin that can
/// move it into a pipe without copying. Whatever the plugin leaves unread, the
/// server skips, so the connection stays in step.
public final class SocketPayload {
    private let channel: Channel
    private let buffer: UnsafeMutableRawBufferPointer
    public let count: Int
    public private(set) var remaining: Int

    init(channel: Channel, buffer: UnsafeMutableRawBufferPointer, count: Int) {
        self.channel = channel
        self.buffer = buffer
        self.count = count
        remaining = count
    }

    /// Moves the whole payload into `pipe`. On failure the bytes already moved
    /// are in the pipe: a client that leaves mid-payload leaves them behind.
    public func splice(into pipe: FileDescriptor) throws(Splice.Failure) {
        do {
            try Splice.move(remaining, from: channel.input, to: pipe)
            remaining = 0
        } catch {
            switch error {
            case let .endOfInput(moved), let .failed(_, moved): remaining -= moved
            case .unsupported: break
            }
            throw error
        }
    }

    /// The payload read into memory, for when splicing is unsupported.
    public func read() throws -> UnsafeRawBufferPointer {
        let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<remaining])
        try channel.readExactly(into: data)
        remaining = 0
        return UnsafeRawBufferPointer(data)
    }

    /// Skips what the plugin did not take.
    func drain() throws {
        try channel.discard(UInt64(remaining), scratch: buffer)
        remaining = 0
    }
}

/// A READ's reply whose data a plugin can move straight from a pipe to the
/// client. The plugin calls `send(from:)` only once the pipe holds all of it,
/// so the reply can no longer fail after its header is out.
public final class SplicedReply {
    private let channel: Channel
    private let header: [UInt8]
    private let buffer: UnsafeMutableRawBufferPointer
    public let length: Int
    /// The client went away while the reply was going out.
    public private(set) var clientFailed = false
    /// Bytes of the reply still in the pipe after a failed send: they belong
    /// to this request, so the plugin must consume them, as the copying path would.
    public private(set) var unsent = 0

    init(channel: Channel, header: [UInt8], buffer: UnsafeMutableRawBufferPointer, length: Int) {
        self.channel = channel
        self.header = header
        self.buffer = buffer
        self.length = length
    }

    public func send(from pipe: FileDescriptor) {
        do {
            try channel.write(header)
        } catch {
            return fail(unsent: length)
        }
        do {
            try Splice.move(length, from: pipe, to: channel.output)
        } catch {
            switch error {
            case .unsupported:
                // A client on a descriptor splice cannot reach: copy instead. The
                // pipe holds all the bytes, so reading them cannot fail half way.
                let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
                do {
                    try Channel(input: pipe, output: channel.output).readExactly(into: data)
                } catch {
                    return fail(unsent: length)
                }
                do { try channel.write(UnsafeRawBufferPointer(data)) } catch { fail(unsent: 0) }
            case let .endOfInput(moved), let .failed(_, moved):
                fail(unsent: length - moved)
            }
        }
    }

    private func fail(unsent: Int) {
        clientFailed = true
        self.unsent = unsent
    }
}
