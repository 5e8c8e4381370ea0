import Foundation
import Synchronization
import TestSupport
import Testing

/// Clients that connect and then idle, each reconnecting as soon as the
/// server closes it: the flood that used to keep a stream's real client out.
/// One thread, one poll over all the sockets.
final class IdleFlood: @unchecked Sendable {
    /// What each client says before it idles.
    enum Kind: Sendable, CustomTestStringConvertible {
        /// Not a byte.
        case silent
        /// Its flags as soon as the greeting is in (as a real client does), then nothing.
        case flagsThenIdle

        var testDescription: String { self == .silent ? "silent flood" : "flags-then-idle flood" }
    }

    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let made = Atomic<Int>(0)
    private let closedByServer = Atomic<Int>(0)

    /// Connections made so far, and how many of them the server has closed.
    var connectionsMade: Int { made.load(ordering: .relaxed) }
    var connectionsClosedByServer: Int { closedByServer.load(ordering: .relaxed) }

    init(_ address: ServerAddress, clients: Int, kind: Kind = .silent) {
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            run(address, clients: clients, kind: kind)
        }
    }

    /// Stops the flood and closes its sockets; waits (bounded) for the thread.
    func stop() throws {
        stopping.store(true, ordering: .relaxed)
        guard done.wait(timeout: .now() + 10) == .success else { throw TestFailure("the flood did not stop within 10 s") }
    }

    private struct Client {
        var fd: Int32
        var established: Bool
        /// Bytes of the greeting received so far.
        var received = 0
    }

    /// The fixed newstyle greeting's length, and the flags a client answers it with (FIXED_NEWSTYLE | NO_ZEROES).
    private static let greetingLength = 18
    private static let flags: [UInt8] = [0, 0, 0, 3]

    private func run(_ address: ServerAddress, clients: Int, kind: Kind) {
        var open: [Client] = []
        defer { open.forEach { close($0.fd) } }
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !stopping.load(ordering: .relaxed) {
            while open.count < clients, let (fd, established) = address.startConnecting() {
                open.append(Client(fd: fd, established: established))
                if established { made.add(1, ordering: .relaxed) }
            }
            var pollers = open.map { pollfd(fd: $0.fd, events: Int16($0.established ? POLLIN : POLLOUT), revents: 0) }
            // A short timeout: the stop flag, and a full Unix listen queue that refused a connect, are looked at again soon.
            guard poll(&pollers, nfds_t(pollers.count), 10) >= 0 else { continue }
            var survivors: [Client] = []
            for (index, var client) in open.enumerated() {
                let revents = pollers[index].revents
                if !client.established, revents != 0 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(client.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    guard error == 0 else {
                        close(client.fd)
                        continue
                    }
                    client.established = true
                    made.add(1, ordering: .relaxed)
                } else if revents != 0 {
                    // The greeting, then the end when the server makes room.
                    let got = recv(client.fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
                    if got == 0 || (got < 0 && errno != EAGAIN) {
                        close(client.fd)
                        closedByServer.add(1, ordering: .relaxed)
                        continue
                    }
                    let before = client.received
                    client.received += max(0, got)
                    if kind == .flagsThenIdle, before < Self.greetingLength, client.received >= Self.greetingLength {
                        _ = send(client.fd, Self.flags, Self.flags.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                    }
                }
                survivors.append(client)
            }
            open = survivors
        }
    }
}
