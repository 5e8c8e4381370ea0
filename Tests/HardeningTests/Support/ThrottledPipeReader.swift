import Foundation
import TestSupport

/// A reader slower than the server: it drains a FIFO at about
/// `bytesPerSecond`, so the pipe stays full and the server must wait on it.
/// The pause between reads is the throttle itself, not a wait for an event.
final class ThrottledPipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var bytes: [UInt8] = []

    init(path: String, bytesPerSecond: Int) throws {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path): \(String(cString: strerror(errno)))") }
        let slice = 16 * 1024
        let pause = UInt32(1_000_000 * slice / bytesPerSecond)
        Thread.detachNewThread { [self] in
            defer {
                close(fd)
                done.signal()
            }
            var chunk = [UInt8](repeating: 0, count: slice)
            var sawWriter = false
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) >= 0 else { return }
                let got = read(fd, &chunk, slice)
                if got > 0 {
                    sawWriter = true
                    bytes += chunk[..<got]
                    usleep(pause)
                } else if got == 0 && sawWriter {
                    return
                }
            }
        }
    }

    /// Everything read up to end of file, which comes when the server stops.
    func contents(within seconds: Double = 60) throws -> [UInt8] {
        guard done.wait(timeout: .now() + seconds) == .success else { throw TestFailure("the slow reader did not reach end of file within \(seconds) s") }
        return bytes
    }
}
