import Foundation
import Synchronization
import TestSupport

/// Hostile sessions on a few threads until their count or the time runs
/// out. Session i is built from (seed, i) alone, so its bytes replay exactly.
enum HostileRun {
    struct Figures {
        var played = 0, refused = 0, closedByServer = 0, sent = 0, received = 0
        var firstRefused: Int?
    }

    static func play(_ sessions: Int, seed: UInt64, forbidsReads: Bool, at address: ServerAddress, workers: Int, seconds: Double) throws -> Figures {
        let next = Atomic<Int>(0)
        let figures = Mutex(Figures())
        let failure = Mutex<String?>(nil)
        let deadline = Date().addingTimeInterval(seconds)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while Date() < deadline {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < sessions else { return }
                let session: HostileSession
                do {
                    session = try HostileSession(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15), exportSize: HostileClientTests.exportSize,
                                                 forbidsReads: forbidsReads)
                } catch {
                    failure.withLock { $0 = "session \(index): \(error)" }
                    return
                }
                let outcome = SessionPlayer.play(session, at: address)
                figures.withLock {
                    $0.played += 1
                    $0.sent += outcome.sent
                    $0.received += outcome.received
                    if outcome.closedByServer { $0.closedByServer += 1 }
                    if !outcome.connected {
                        $0.refused += 1
                        $0.firstRefused = min($0.firstRefused ?? index, index)
                    }
                }
            }
        }
        if let message = failure.withLock({ $0 }) { throw TestFailure(message) }
        return figures.withLock { $0 }
    }
}
