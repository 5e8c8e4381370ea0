import Foundation

/// Plays a hostile session over a non-blocking socket: sends while
/// draining whatever the server answers (so neither side can block the other
/// on a full socket buffer), stops sending when the server hangs up, and
/// leaves once everything is sent and the server has closed or gone quiet.
/// Every session is bounded in time, whatever the server does.
enum SessionPlayer {
    struct Outcome {
        var connected = false
        var sent = 0
        var received = 0
        var closedByServer = false
    }

    static func play(_ session: HostileSession, at address: ServerAddress, seconds: Double = 2) -> Outcome {
        var outcome = Outcome()
        guard let fd = address.connect() else { return outcome }
        defer { close(fd) }
        outcome.connected = true
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)

        let deadline = Date().addingTimeInterval(seconds)
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        var sending = true
        while Date() < deadline {
            sending = sending && outcome.sent < session.bytes.count
            // Gone with replies unread: on a Unix socket the server's next send gets ECONNRESET.
            if !sending && session.leavesAbruptly { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN) | (sending ? Int16(POLLOUT) : 0), revents: 0)
            // Quiet for 20 ms after the last byte went out: the session is over.
            guard poll(&poller, 1, 20) > 0 else {
                if sending { continue } else { break }
            }
            if poller.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let got = recv(fd, &scratch, scratch.count, 0)
                if got > 0 {
                    outcome.received += got
                } else if got == 0 || errno != EAGAIN {
                    outcome.closedByServer = true
                    break
                }
            }
            if sending && poller.revents & Int16(POLLOUT) != 0 {
                let count = session.bytes[outcome.sent...].withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, 1 << 16), Int32(MSG_NOSIGNAL)) }
                if count > 0 { outcome.sent += count } else if errno != EAGAIN { sending = false }
            }
        }
        return outcome
    }
}
