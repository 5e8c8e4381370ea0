import Glibc
import Logging
import SystemIO
import SystemPackage

/// Accepts clients until the stop pipe wakes, and never spins doing it.
///
/// Normally it waits in poll(2) on the stop pipe and the listeners, and
/// accepts from each ready listener until its queue is empty (listeners are
/// non-blocking, so an empty queue is EAGAIN, never a wait). When accept
/// fails for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM, or no thread
/// for the client) an `ExhaustionEpisode` begins: the listeners, which stay
/// readable, leave the poll set, and the loop waits for a connection to close
/// its descriptor (`freed`) or for the episode's back-off, whichever comes
/// first; out of descriptors, it also ends the handshake idle longest to free
/// one. The episode ends, with one log line and a count, once a round of
/// accepts has emptied the queues. A failing poll backs off the same way: it
/// sleeps (on the stop pipe alone, if that much works) before trying again.
struct AcceptLoop {
    let stop: StopSignal
    let listeners: [FileDescriptor]
    /// Signalled by every connection that has closed its descriptor.
    let freed: WakeUp
    let slots: ConnectionSlots
    let logger: Logger
    /// Hands an accepted client to its own thread.
    let start: (FileDescriptor, HandshakeSlot) throws(Errno) -> Void

    /// Clients accepted from one listener before the loop looks at the stop pipe again.
    static let batch = 64
    /// Descriptors no client may take: the stream opens its pipe or socket
    /// on the first request, after handshakes have come and gone, and a
    /// flood must not have used its descriptor by then. A client that would
    /// take one of these finds the server out of descriptors (EMFILE).
    static let reservedDescriptors = 4

    func run() -> StopReason {
        var episode: ExhaustionEpisode?
        while true {
            // Exhausted, a listener would stay readable and wake poll at once, forever.
            let exhausted = episode?.lastOperation == .accept
            let watched = [stop.readDescriptor] + (exhausted ? [freed.descriptor] : listeners)
            let events: [Poll.Events]
            do {
                events = try Poll.wait(watched.map { ($0, .readable) }, timeout: exhausted ? episode?.retryDelay : nil)
            } catch {
                record(error, of: .poll, progressed: false, in: &episode)
                if let reason = pauseUnlessStopped(for: episode!.retryDelay) { return reason }
                continue
            }
            if episode?.operation == .poll { end(&episode) }
            if !events[0].isEmpty { return stopReason() }
            let ready: [FileDescriptor]
            if episode != nil {
                freed.drain()
                ready = listeners
            } else {
                ready = zip(listeners, events.dropFirst()).filter { !$0.1.isEmpty }.map(\.0)
            }
            let round = acceptRound(from: ready)
            if let failure = round.failure {
                record(failure, of: .accept, progressed: round.accepted > 0, in: &episode)
                if failure == .tooManyOpenFiles || failure == .tooManyOpenFilesInSystem, let displaced = slots.displaceIdlest() {
                    logger.warning("out of descriptors: ended the handshake of \(displaced) to free its descriptor")
                }
            } else if round.drained, episode != nil {
                end(&episode)
            }
        }
    }

    private struct Round {
        var accepted = 0
        /// Every listener's queue was emptied.
        var drained = false
        /// What stopped the round short: the start of an exhaustion episode, or more of one.
        var failure: Errno?
    }

    private func acceptRound(from ready: [FileDescriptor]) -> Round {
        var round = Round()
        var emptied = 0
        for listener in ready {
            accepting: for _ in 0..<Self.batch {
                let client: FileDescriptor
                do throws(Errno) {
                    // The client's descriptor and the reserve.
                    guard listener.canDuplicate(Self.reservedDescriptors + 1) else { throw Errno.tooManyOpenFiles }
                    client = try Socket.accept(listener)
                } catch {
                    switch error {
                    case .resourceTemporarilyUnavailable:
                        emptied += 1
                        break accepting
                    case .tooManyOpenFiles where !someoneWaits(on: listener), .tooManyOpenFilesInSystem where !someoneWaits(on: listener):
                        // accept(2) takes a descriptor before it looks at the queue (and
                        // the reserve is looked at first): out of them, it fails even
                        // when nobody is waiting.
                        emptied += 1
                        break accepting
                    case _ where Self.connectionErrors.contains(error):
                        continue accepting
                    default:
                        round.failure = error
                        return round
                    }
                }
                let (slot, displaced) = slots.admit(client)
                for handshake in displaced {
                    logger.warning("all \(slots.handshakeCapacity) handshake slots are taken (--max-handshakes): ended the handshake of \(handshake) to make room")
                }
                do { try start(client, slot) } catch {
                    slots.leaveHandshake(slot)
                    try? client.close()
                    round.failure = error
                    return round
                }
                round.accepted += 1
            }
        }
        round.drained = emptied == ready.count
        return round
    }

    private func someoneWaits(on listener: FileDescriptor) -> Bool {
        (try? Poll.wait([(listener, .readable)], timeout: .zero))?[0].isEmpty != true
    }

    /// Failures of one connection that accept(2) reports instead of the
    /// connection (Linux passes on the network's errors): that client is
    /// gone, the next one may be fine, so they are not an episode.
    private static let connectionErrors: Set<Errno> = [
        .connectionAbort, .protocolError, .networkDown, .protocolNotAvailable, .hostIsDown,
        Errno(rawValue: ENONET), .noRouteToHost, .notSupportedOnSocket, .networkUnreachable, .notPermitted,
    ]

    /// One episode at a time: whatever fails during one counts in it.
    private func record(_ error: Errno, of operation: ExhaustionEpisode.Operation, progressed: Bool, in episode: inout ExhaustionEpisode?) {
        if episode != nil {
            episode!.failedAgain(operation, with: error, afterProgress: progressed)
            return
        }
        let started = ExhaustionEpisode(operation, failedWith: error)
        logger.error("\(started.startMessage)")
        episode = started
    }

    private func end(_ episode: inout ExhaustionEpisode?) {
        guard let ended = episode else { return }
        logger.notice("\(ended.endMessage())")
        episode = nil
    }

    /// The back-off after a failed poll: on the stop pipe alone, which a
    /// limit that fails a poll of every descriptor still lets through; if
    /// even that fails, a plain sleep.
    private func pauseUnlessStopped(for delay: Duration) -> StopReason? {
        do {
            if try !Poll.wait([(stop.readDescriptor, .readable)], timeout: delay)[0].isEmpty { return stopReason() }
        } catch {
            Poll.sleep(for: delay)
        }
        return nil
    }

    private func stopReason() -> StopReason {
        var byte: UInt8 = 0
        _ = read(stop.readDescriptor.rawValue, &byte, 1)
        return stop.reason(afterWakeByte: byte)
    }
}
