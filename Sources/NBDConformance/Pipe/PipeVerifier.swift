import Foundation
import Glibc
import Synchronization

/// Reads the server's output pipe on its own thread while the workload runs and compares every byte with the
/// expected stream, chunk by chunk, so memory stays constant however long the stream is.
final class PipeVerifier: Sendable {
    enum Ending {
        /// Read until end of file: the server has been stopped, so every writer is gone.
        case endOfFile
        /// Read exactly the expected length, then look briefly for extra bytes: a server that keeps running
        /// (a `--target`) never closes the pipe.
        case knownLength
    }

    private let end: PipeEnd
    private let expected: ExpectedStream
    /// The stream offset of the pipe's first unread byte; non-zero when an earlier reader consumed the start.
    private let origin: UInt64
    /// How many bytes this reader must see.
    private var expectedLength: UInt64 { expected.length - origin }
    private let pattern: StreamPattern
    private let ending: Ending
    private let finished = DispatchSemaphore(value: 0)
    /// Signalled once the verifier's open of the pipe has returned.
    private let opened = DispatchSemaphore(value: 0)
    private let verdict = Mutex<PipeVerdict?>(nil)
    private static let chunkSize = 1 << 20

    init(end: PipeEnd, expected: ExpectedStream, origin: UInt64 = 0, pattern: StreamPattern, ending: Ending) {
        self.end = end
        self.expected = expected
        self.origin = origin
        self.pattern = pattern
        self.ending = ending
    }

    func start() {
        let thread = Thread { [self] in
            let found = verify()
            verdict.withLock { $0 = found }
            finished.signal()
        }
        thread.name = "pipe-verifier"
        thread.start()
    }

    /// The verdict once the pipe has been read to its end; nil if that did not happen within `seconds`.
    func result(within seconds: Double) -> PipeVerdict? {
        guard finished.wait(timeout: .now() + seconds) == .success else { return nil }
        finished.signal()
        return verdict.withLock { $0 }
    }

    /// Once every writer is gone (the server stopped), lets the verifier's open of its own FIFO return, whether
    /// it is blocked in open() or its thread has not even reached it (a loaded machine can delay the thread past a
    /// short case): the FIFO is held open for reading and writing, which never blocks, until that open has
    /// returned, then let go, so the verifier reads to end of file.
    func releaseOpen(within seconds: Double) {
        guard case .own(let path) = end else { return }
        let holder = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        defer { if holder >= 0 { close(holder) } }
        if opened.wait(timeout: .now() + seconds) == .success { opened.signal() }
    }

    private func verify() -> PipeVerdict {
        let fd: Int32
        let acquired = end.acquire(flags: O_RDONLY)
        opened.signal()
        switch acquired {
        case .success(let descriptor): fd = descriptor
        case .failure(let error):
            return .unreadable(error.reason)
        }
        defer { if case .own = end { close(fd) } }
        let actual = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 8)
        let wanted = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 8)
        defer {
            actual.deallocate()
            wanted.deallocate()
        }
        var position: UInt64 = 0
        var mismatch: StreamMismatch?
        while true {
            let limit = readLimit(at: position)
            if limit == 0 { break }
            let count = read(fd, actual.baseAddress, limit)
            if count < 0 {
                if errno == EINTR { continue }
                return .unreadable("read \(end.path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            if mismatch == nil {
                mismatch = compare(UnsafeMutableRawBufferPointer(rebasing: actual[0 ..< count]), at: position, scratch: wanted)
            }
            position += UInt64(count)
        }
        if ending == .knownLength, position == expectedLength, hasExtraBytes(fd) {
            return .ranLong(received: position + 1, expected: expectedLength, mismatch: mismatch)
        }
        if let mismatch { return .mismatch(mismatch, received: position, expected: expectedLength) }
        if position < expectedLength { return .endedEarly(received: position, expected: expectedLength) }
        if position > expectedLength { return .ranLong(received: position, expected: expectedLength, mismatch: nil) }
        return .matched(bytes: position)
    }

    private func readLimit(at position: UInt64) -> Int {
        switch ending {
        case .endOfFile: Self.chunkSize
        case .knownLength: Int(min(UInt64(Self.chunkSize), expectedLength - min(position, expectedLength)))
        }
    }

    private func hasExtraBytes(_ fd: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 200) == 1, poller.revents & Int16(POLLIN) != 0 else { return false }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 1
    }

    /// Compares one chunk; bytes past the expected end are left for the length check.
    private func compare(_ actual: UnsafeMutableRawBufferPointer, at position: UInt64, scratch: UnsafeMutableRawBufferPointer) -> StreamMismatch? {
        guard position < expectedLength else { return nil }
        let count = Int(min(UInt64(actual.count), expectedLength - position))
        let want = UnsafeMutableRawBufferPointer(rebasing: scratch[0 ..< count])
        expected.fill(want, from: origin + position, pattern: pattern)
        guard memcmp(actual.baseAddress!, want.baseAddress!, count) != 0 else { return nil }
        let index = (0 ..< count).first { actual[$0] != want[$0] }!
        return StreamMismatch(offset: origin + position + UInt64(index), index: index, actual: actual, expected: want, count: count)
    }
}
