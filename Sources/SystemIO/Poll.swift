import Glibc
import SystemPackage

/// poll(2) over a few descriptors.
public enum Poll {
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: Int16(POLLIN))
        public static let writable = Events(rawValue: Int16(POLLOUT))
        public static let hangUp = Events(rawValue: Int16(POLLHUP))
        public static let error = Events(rawValue: Int16(POLLERR))
    }

    /// Waits until one of `descriptors` has one of its events, or `timeout`
    /// passes (nil: no limit); returns what happened to each, in order. EINTR
    /// continues the wait with the time that is left.
    public static func wait(_ descriptors: [(FileDescriptor, Events)], timeout: Duration? = nil) throws(Errno) -> [Events] {
        var polled = descriptors.map { pollfd(fd: $0.0.rawValue, events: $0.1.rawValue, revents: 0) }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let milliseconds = deadline.map { deadline -> Int32 in
                let left = deadline - .now
                guard left > .zero else { return 0 }
                let (seconds, attoseconds) = left.components
                return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            } ?? -1
            let result = poll(&polled, nfds_t(polled.count), milliseconds)
            if result >= 0 { return polled.map { Events(rawValue: $0.revents) } }
            guard errno == EINTR else { throw Errno(rawValue: errno) }
        }
    }

    /// Waits `duration` without any descriptor: for when poll itself fails
    /// and a retry must still not come at once. EINTR sleeps on with the time left.
    public static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&request, &left) == -1 && errno == EINTR { request = left }
    }
}
