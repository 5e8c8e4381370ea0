import Glibc
import Logging
import NBDServer
import SystemIO
import SystemPackage

/// The local end of the stream: a FIFO, a Unix-domain socket, or a file.
/// It is opened on the first request that needs it, so start-up and the
/// handshake never wait for the other side of the pipe.
final class StreamEndpoint {
    enum Kind: Equatable {
        case fifo
        case socket
        /// A regular file or a device, used from its start as nbdkit does.
        case file
    }

    let path: String
    let mode: StreamingConfiguration.Mode
    let kind: Kind
    private let logger: Logger
    private var descriptor: FileDescriptor?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Creates the FIFO when `path` does not exist, and finds out what `path` is.
    init(path: String, mode: StreamingConfiguration.Mode, logger: Logger) throws(Failure) {
        self.path = path
        self.mode = mode
        self.logger = logger
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw Failure(description: "\(path): \(Errno(rawValue: errno))") }
            guard mkfifo(path, 0o666) == 0 else { throw Failure(description: "mkfifo: \(path): \(Errno(rawValue: errno))") }
            info.st_mode = S_IFIFO
        }
        switch info.st_mode & S_IFMT {
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFDIR: throw Failure(description: "\(path) is a directory")
        default: kind = .file
        }
    }

    var isOpen: Bool { descriptor != nil }

    /// The open descriptor, opening it first if needed. For a FIFO this waits,
    /// like `cat > fifo`, until the other side opens it.
    func open() throws(Failure) -> FileDescriptor {
        if let descriptor { return descriptor }
        let opened: FileDescriptor
        do {
            switch kind {
            case .socket: opened = try connectSocket()
            case .fifo: opened = try openFIFO()
            case .file: opened = try FileDescriptor.open(path, mode == .write ? .writeOnly : .readOnly, options: .closeOnExec)
            }
        } catch {
            throw Failure(description: "cannot open \(path): \(error)")
        }
        descriptor = opened
        return opened
    }

    /// Opens without blocking, so the wait for the other side can be noticed
    /// and logged, then waits for it and makes the descriptor blocking again.
    private func openFIFO() throws -> FileDescriptor {
        let fd: FileDescriptor
        switch mode {
        case .write:
            do {
                fd = try FileDescriptor.open(path, .writeOnly, options: [.closeOnExec, .nonBlocking])
            } catch Errno.noSuchAddressOrDevice {
                // No reader yet: wait in open(), as `cat > fifo` does.
                logger.notice("waiting for a reader to open \(path)")
                let fd = try FileDescriptor.open(path, .writeOnly, options: .closeOnExec)
                fd.enlargePipeBuffer()
                return fd
            }
        case .read:
            // A read end opened without a writer would read end of file at once;
            // poll() instead reports nothing until a writer has come and written or gone.
            fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec, .nonBlocking])
            if try Poll.wait([(fd, .readable)], timeout: .zero)[0].isEmpty {
                logger.notice("waiting for a writer to open \(path)")
                _ = try Poll.wait([(fd, .readable)])
            }
        }
        try fd.setBlocking(true)
        fd.enlargePipeBuffer()
        return fd
    }

    private func connectSocket() throws -> FileDescriptor {
        let fd = try Socket.connectUnix(path: path)
        // The stream runs one way; saying so lets the peer see end of file early.
        shutdown(fd.rawValue, mode == .write ? Int32(SHUT_RD) : Int32(SHUT_WR))
        return fd
    }

    func writeAll(_ data: UnsafeRawBufferPointer) throws(Failure) {
        let fd = try open()
        do {
            _ = try fd.writeAll(data)
        } catch Errno.brokenPipe, Errno.connectionReset {
            throw Failure(description: "the reader of \(path) went away")
        } catch {
            throw Failure(description: "write to \(path): \(error)")
        }
    }

    func writeAll(_ bytes: ArraySlice<UInt8>) throws(Failure) {
        // withUnsafeBytes rethrows untyped errors; a Result keeps the type.
        try bytes.withUnsafeBytes { raw in Result { () throws(Failure) in try writeAll(raw) } }.get()
    }

    /// Moves a client's payload into the FIFO without copying it.
    func move(_ payload: SocketPayload) throws(Failure) {
        let pipe = try open()
        do {
            try payload.move(into: pipe)
        } catch {
            switch error {
            case let .clientWentAway(moved):
                throw Failure(description: "the client went away after \(moved) of \(payload.count) payload bytes, which are in \(path)")
            case .failed(.brokenPipe, _):
                throw Failure(description: "the reader of \(path) went away")
            case let .failed(error, moved):
                throw Failure(description: "splice into \(path) after \(moved) of \(payload.count) bytes: \(error)")
            }
        }
    }

    /// Reads exactly `buffer.count` bytes; false if the stream ended first.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Bool {
        let fd = try open()
        do { return try fd.readFully(into: buffer) == buffer.count } catch {
            throw Failure(description: "read from \(path): \(error)")
        }
    }

    /// Makes written data durable where that means something (a regular file);
    /// a pipe or socket holds nothing the server could still lose.
    func flush() throws(Failure) {
        guard kind == .file, mode == .write, let descriptor else { return }
        do { try descriptor.synchronize() } catch {
            // EINVAL: a file that cannot be synchronized has nothing to make durable.
            guard error == .invalidArgument else { throw Failure(description: "fsync \(path): \(error)") }
        }
    }

    /// At shutdown, an endpoint never opened still has a peer that may be waiting
    /// in open() or accept(): meet it and close at once, so it sees an empty stream.
    func releaseWaitingPeer() {
        switch kind {
        case .fifo:
            let fd = Glibc.open(path, (mode == .write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { close(fd) }
        case .socket:
            if let fd = try? Socket.connectUnix(path: path) { try? fd.close() }
        case .file:
            break
        }
    }
}
