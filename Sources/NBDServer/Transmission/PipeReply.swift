import NBDProtocol
import SystemIO
import SystemPackage

/// A READ's reply, handed to a zero-copy plugin (`ZeroCopyPlugin`). The plugin
/// either moves the bytes from its pipe to the client with `send(from:)`, or
/// fills `buffer` and returns, and the server sends that. The reply never
/// fails after its header is out, except by the client leaving, or, in a
/// structured reply, with an error chunk after the data sent so far.
public final class PipeReply {
    private let connection: Connection
    private let socket: FileDescriptor
    private let cookie: UInt64
    private let offset: UInt64
    private let structured: Bool
    private let dontFragment: Bool
    public let length: Int
    /// Memory for a plugin that produces the bytes itself, `length` long.
    public let buffer: UnsafeMutableRawBufferPointer
    /// The whole reply went out.
    private(set) var isSent = false
    /// The client went away while the reply was going out.
    public private(set) var clientFailed = false
    /// Bytes went by splice (for the `-v` log).
    private(set) var spliced = false

    /// Reads up to this size wait for all their bytes in memory when the pipe
    /// does not hold them yet; a pipe's buffer is usually this large, so a
    /// larger read may never find itself whole in the pipe.
    static let wholeInMemory = 1 << 20

    /// What `send(from:)` did: `moved` bytes left the pipe, whatever became of them.
    public struct Transfer: Equatable {
        public enum Outcome: Equatable {
            case sent
            /// The pipe ended first.
            case endOfInput
            case pipeFailed(Errno)
            /// The client went away; the request's other bytes are still the plugin's to consume.
            case clientGone
        }

        public var moved: Int
        public var outcome: Outcome
    }

    init(connection: Connection, socket: FileDescriptor, header: RequestHeader, structured: Bool, buffer: UnsafeMutableRawBufferPointer) {
        self.connection = connection
        self.socket = socket
        cookie = header.cookie
        offset = header.offset
        length = Int(header.length)
        self.structured = structured
        dontFragment = header.flags.contains(.dontFragment)
        self.buffer = UnsafeMutableRawBufferPointer(rebasing: buffer[..<Int(header.length)])
    }

    /// Moves the reply's `length` bytes from `pipe` to the client, the one way
    /// the moment allows: straight through when the pipe already holds them
    /// all; as data chunks of what the pipe holds when the read is larger
    /// than a pipe usually holds and structured replies allow chunks;
    /// otherwise through memory, since a simple reply's header promises all
    /// its data, and an early end of the pipe must still be a clean error.
    public func send(from pipe: FileDescriptor) -> Transfer {
        if pipe.readableBytes >= length { return sendChunks(from: pipe) }
        if length > Self.wholeInMemory && structured && !dontFragment { return sendChunks(from: pipe) }
        return sendThroughMemory(from: pipe)
    }

    private func header(at position: Int, count: Int) -> [UInt8] {
        structured
            ? Reply.offsetDataHeader(cookie: cookie, offset: offset + UInt64(position), dataLength: UInt32(count), done: position + count == length)
            : Reply.simple(cookie: cookie, error: .ok)
    }

    /// One chunk per batch of bytes the pipe holds (a single one when it
    /// holds them all). When it holds none, the wait is a read(), which
    /// returns what arrives first and, unlike poll() on a FIFO opened after
    /// its writer left, also sees end of file; those bytes go out from memory.
    private func sendChunks(from pipe: FileDescriptor) -> Transfer {
        var moved = 0
        while moved < length {
            let ready = min(pipe.readableBytes, length - moved)
            if ready > 0 {
                do { try connection.send(header(at: moved, count: ready)) } catch { return clientGone(moved: moved) }
                if let part = forward(ready, from: pipe) { return clientGone(moved: moved + part) }
                moved += ready
                continue
            }
            let arrived: Int
            do { arrived = try pipe.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[moved...])) } catch {
                return Transfer(moved: moved, outcome: .pipeFailed(error as? Errno ?? .ioError))
            }
            guard arrived > 0 else { return Transfer(moved: moved, outcome: .endOfInput) }
            do {
                try connection.queue(header: header(at: moved, count: arrived), data: UnsafeRawBufferPointer(rebasing: buffer[moved..<moved + arrived]))
                try connection.flushReplies()
            } catch {
                return clientGone(moved: moved + arrived)
            }
            moved += arrived
        }
        isSent = true
        return Transfer(moved: moved, outcome: .sent)
    }

    /// Moves `count` bytes that the pipe already holds to the client: spliced,
    /// or copied where the kernel cannot splice the client's descriptor.
    /// Returns the bytes taken from the pipe if the client went away.
    private func forward(_ count: Int, from pipe: FileDescriptor) -> Int? {
        do {
            try Splice.move(count, from: pipe, to: socket)
            spliced = true
            return nil
        } catch {
            switch error {
            case .unsupported: break
            case let .endOfInput(moved), let .failed(_, moved): return moved
            }
        }
        let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
        let read = (try? pipe.readFully(into: data)) ?? 0
        do { try connection.channel.write([UnsafeRawBufferPointer(rebasing: data[..<read])]) } catch { return read }
        return read == count ? nil : read
    }

    /// Reads every byte before the header goes out, so an early end of the
    /// pipe is still an ordinary error reply.
    private func sendThroughMemory(from pipe: FileDescriptor) -> Transfer {
        let read: Int
        do { read = try pipe.readFully(into: buffer) } catch { return Transfer(moved: 0, outcome: .pipeFailed(error)) }
        guard read == length else { return Transfer(moved: read, outcome: .endOfInput) }
        do {
            try connection.queue(header: header(at: 0, count: length), data: UnsafeRawBufferPointer(buffer))
            try connection.flushReplies()
        } catch {
            return clientGone(moved: read)
        }
        isSent = true
        return Transfer(moved: read, outcome: .sent)
    }

    private func clientGone(moved: Int) -> Transfer {
        clientFailed = true
        return Transfer(moved: moved, outcome: .clientGone)
    }
}
