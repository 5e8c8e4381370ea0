import SystemIO
import SystemPackage

/// A WRITE's payload still in the client's socket, handed to a zero-copy
/// plugin (`ZeroCopyPlugin`). The plugin either moves it into its pipe
/// without copying, or asks for it in memory. Whatever it leaves unread, the
/// server skips, so the connection stays in step.
public final class SocketPayload {
    private let connection: Connection
    private let socket: FileDescriptor
    /// Memory for `bytes()`, at least `count` long.
    private let buffer: UnsafeMutableRawBufferPointer
    public let count: Int
    /// Bytes not taken yet.
    public private(set) var remaining: Int
    /// Some of the payload went by splice (for the `-v` log).
    private(set) var spliced = false

    public enum Failure: Error, Equatable {
        /// The client closed its connection after `moved` bytes reached the pipe.
        case clientWentAway(moved: Int)
        case failed(Errno, moved: Int)
    }

    init(connection: Connection, socket: FileDescriptor, buffer: UnsafeMutableRawBufferPointer, count: Int) {
        self.connection = connection
        self.socket = socket
        self.buffer = buffer
        self.count = count
        remaining = count
    }

    /// Moves the whole payload into `pipe`: the part the server already read
    /// ahead is written from memory, the rest spliced from the socket. On
    /// failure the bytes already moved are in the pipe.
    public func move(into pipe: FileDescriptor) throws(Failure) {
        let readAhead = min(remaining, connection.buffered.count)
        if readAhead > 0 {
            do { try pipe.writeAll(gathering: [UnsafeRawBufferPointer(rebasing: connection.buffered[..<readAhead])]) } catch {
                throw .failed(error, moved: count - remaining)
            }
            connection.consume(readAhead)
            remaining -= readAhead
        }
        do {
            try Splice.move(remaining, from: socket, to: pipe)
            spliced = spliced || remaining > 0
            remaining = 0
        } catch {
            switch error {
            case .unsupported: try copy(into: pipe)
            case let .endOfInput(moved):
                remaining -= moved
                throw .clientWentAway(moved: count - remaining)
            case let .failed(errno, moved):
                remaining -= moved
                throw .failed(errno, moved: count - remaining)
            }
        }
    }

    /// Where the kernel cannot splice the socket: through memory instead.
    private func copy(into pipe: FileDescriptor) throws(Failure) {
        let moved = count - remaining
        let data: UnsafeRawBufferPointer
        do { data = try bytes() } catch { throw .clientWentAway(moved: moved) }
        do { try pipe.writeAll(gathering: [data]) } catch { throw .failed(error, moved: moved) }
    }

    /// The rest of the payload, read into memory.
    public func bytes() throws -> UnsafeRawBufferPointer {
        let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<remaining])
        try connection.readExactly(into: data)
        remaining = 0
        return UnsafeRawBufferPointer(data)
    }

    /// Skips what the plugin did not take.
    func drain() throws {
        try connection.discard(UInt64(remaining))
        remaining = 0
    }
}
