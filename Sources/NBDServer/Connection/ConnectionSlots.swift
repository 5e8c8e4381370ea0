import Synchronization
import SystemIO
import SystemPackage

/// The server's two kinds of room for clients, kept apart so that clients
/// which never finish a handshake cannot keep out one that would.
///
/// Handshake slots hold clients that have not chosen an export yet. A new
/// client always gets one: when all are taken, the handshake that has waited
/// longest for its client is ended to make room. That is a client silent
/// past `HandshakeSlot.silenceGrace` if there is one (the oldest), else the
/// client heard from longest ago, a client that has said nothing yet counting
/// from its connection. A legitimate client talks back at once, so from its
/// connection on it is among the last to go (docs/limits.md gives the reasoning).
///
/// Transmission slots (`--max-connections`) hold clients that chose an
/// export. Nothing displaces them; when they are all taken, a client's GO is
/// refused and it may keep negotiating or leave.
final class ConnectionSlots: Sendable {
    let handshakeCapacity: Int
    let transmissionCapacity: Int
    private let state = Mutex(State())

    private struct State {
        var handshakes: [ObjectIdentifier: HandshakeSlot] = [:]
        var transmissions = 0
    }

    init(handshakes: Int, transmissions: Int) {
        precondition(handshakes >= 1 && transmissions >= 1, "a server needs room for at least one client of each kind")
        handshakeCapacity = handshakes
        transmissionCapacity = transmissions
    }

    /// A handshake that was ended to make room, for the log.
    struct Displacement: Sendable, CustomStringConvertible {
        let socket: FileDescriptor
        let idle: Duration
        let silent: Bool

        var description: String {
            "client \(socket.rawValue) (\(silent ? "silent for \(idle.inSeconds) since it connected" : "idle for \(idle.inSeconds)"))"
        }
    }

    /// Gives a client accepted on `socket` at `now` a handshake slot, ending
    /// the handshake idle longest first when all are taken.
    func admit(_ socket: FileDescriptor, at now: ContinuousClock.Instant = .now) -> (slot: HandshakeSlot, displaced: [Displacement]) {
        let slot = HandshakeSlot(socket: socket, connected: now)
        let victims = state.withLock { state in
            var victims: [HandshakeSlot] = []
            while state.handshakes.count >= handshakeCapacity, let victim = Self.removeIdlest(&state, at: now) {
                victims.append(victim)
            }
            state.handshakes[ObjectIdentifier(slot)] = slot
            return victims
        }
        return (slot, victims.map { Self.displace($0, at: now) })
    }

    /// Ends the handshake idle longest to free its descriptor (the process ran
    /// out of them); nil when no client is in its handshake.
    func displaceIdlest(at now: ContinuousClock.Instant = .now) -> Displacement? {
        state.withLock { Self.removeIdlest(&$0, at: now) }.map { Self.displace($0, at: now) }
    }

    private static func removeIdlest(_ state: inout State, at now: ContinuousClock.Instant) -> HandshakeSlot? {
        // Each slot's rank is read once: its client may be heard from meanwhile.
        guard let victim = state.handshakes.values.lazy.map({ ($0, $0.displacementRank(at: now)) }).min(by: { $0.1 < $1.1 })?.0 else { return nil }
        state.handshakes[ObjectIdentifier(victim)] = nil
        return victim
    }

    /// Outside the lock: waking the victim's thread is the costly part.
    private static func displace(_ victim: HandshakeSlot, at now: ContinuousClock.Instant) -> Displacement {
        victim.shutDown()
        return Displacement(socket: victim.socket, idle: now - victim.lastHeard, silent: victim.isSilent)
    }

    /// Gives up a handshake slot, however the handshake ended; nothing
    /// happens if the slot was displaced or is in transmission.
    func leaveHandshake(_ slot: HandshakeSlot) {
        _ = state.withLock { $0.handshakes.removeValue(forKey: ObjectIdentifier(slot)) }
    }

    /// Moves a client from its handshake slot into a transmission slot, from
    /// where nothing displaces it. False when all transmission slots are
    /// taken, or when the handshake was displaced meanwhile (its socket is
    /// shut down already): the client then stays where it was.
    func enterTransmission(_ slot: HandshakeSlot) -> Bool {
        state.withLock { state in
            guard state.transmissions < transmissionCapacity,
                  state.handshakes.removeValue(forKey: ObjectIdentifier(slot)) != nil else { return false }
            state.transmissions += 1
            return true
        }
    }

    /// Gives up a transmission slot: after transmission, or when the client
    /// goes on negotiating (after INFO, or a GO the plugin refused). It is
    /// back in a handshake slot, and may be displaced again, until it leaves.
    func leaveTransmission(_ slot: HandshakeSlot) {
        state.withLock { state in
            state.transmissions -= 1
            state.handshakes[ObjectIdentifier(slot)] = slot
        }
    }

    var counts: (handshakes: Int, transmissions: Int) {
        state.withLock { ($0.handshakes.count, $0.transmissions) }
    }
}

/// One client's place among the handshakes: its socket, when it connected,
/// and when it was last heard from, which its connection records on every read.
final class HandshakeSlot: Sendable {
    let socket: FileDescriptor
    let connected: ContinuousClock.Instant
    /// Nanoseconds after `connected` when bytes last arrived; -1 while silent.
    private let heardAfter = Atomic<Int64>(-1)
    /// Whether the socket is still open. Its owner closes it and a
    /// displacement shuts it down, one at a time, so the descriptor shut
    /// down is never a number another client has been given since.
    private let socketOpen = Mutex(true)

    /// How long a client may take to send its first bytes (its flags, one
    /// round trip after the greeting) before it counts as a silent one, which
    /// makes room before every client that spoke. Generous for a slow link;
    /// a flood reconnecting faster than this never reaches it, and then only
    /// recency ranks.
    static let silenceGrace: Duration = .seconds(1)

    init(socket: FileDescriptor, connected: ContinuousClock.Instant) {
        self.socket = socket
        self.connected = connected
    }

    /// Wakes the thread serving the client (its read sees the end), which
    /// then leaves and closes the socket itself.
    func shutDown() {
        socketOpen.withLock { open in if open { Socket.shutdown(socket) } }
    }

    func closeSocket() {
        socketOpen.withLock { open in
            open = false
            try? socket.close()
        }
    }

    /// Bytes arrived from the client.
    func heard(at instant: ContinuousClock.Instant = .now) {
        let (seconds, attoseconds) = (instant - connected).components
        heardAfter.store(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000), ordering: .relaxed)
    }

    var isSilent: Bool { heardAfter.load(ordering: .relaxed) < 0 }

    var lastHeard: ContinuousClock.Instant {
        connected + .nanoseconds(max(0, heardAfter.load(ordering: .relaxed)))
    }

    /// The lowest rank makes room first: silent past the grace (0) before
    /// the rest (1), and within each, heard from longest ago, a client that
    /// has said nothing counting from its connection.
    func displacementRank(at now: ContinuousClock.Instant) -> (Int, ContinuousClock.Instant) {
        let heard = heardAfter.load(ordering: .relaxed)
        guard heard >= 0 else { return (now - connected > Self.silenceGrace ? 0 : 1, connected) }
        return (1, connected + .nanoseconds(heard))
    }
}
