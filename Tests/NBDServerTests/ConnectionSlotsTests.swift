import Glibc
@testable import NBDServer
import SystemPackage
import Testing

/// Handshake slots make room by ending the handshake that waited longest for
/// its client (docs/limits.md); transmission slots are never taken from their
/// client. Real socketpairs, so a displaced handshake's socket is seen to be
/// shut down; the clock is the tests', passed in.
@Suite struct ConnectionSlotsTests {
    /// A connected pair: the server's end (which the slots hold) and the client's.
    final class Pair {
        let server: FileDescriptor
        let client: FileDescriptor

        init() throws {
            var ends: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw Errno(rawValue: errno) }
            server = FileDescriptor(rawValue: ends[0])
            client = FileDescriptor(rawValue: ends[1])
            try client.setBlocking(false)
        }

        deinit {
            try? server.close()
            try? client.close()
        }

        /// The server's end was shut down: the client reads end of file.
        var isShutDown: Bool {
            var byte: UInt8 = 0
            return Glibc.read(client.rawValue, &byte, 1) == 0
        }
    }

    /// Times the tests give the slots, so the order never rests on the clock's resolution.
    let start = ContinuousClock.now

    func at(milliseconds: Int) -> ContinuousClock.Instant {
        start + .milliseconds(milliseconds)
    }

    @Test func aClientSilentPastTheGraceMakesRoomBeforeOneThatSpoke() throws {
        let slots = ConnectionSlots(handshakes: 2, transmissions: 1)
        let talker = try Pair(), silent = try Pair(), newcomer = try Pair()
        let (talking, _) = slots.admit(talker.server, at: at(milliseconds: 0))
        // Heard from the moment it connected, before the silent one came: idler, yet it stays.
        talking.heard(at: talking.connected)
        _ = slots.admit(silent.server, at: at(milliseconds: 100))
        let (_, displaced) = slots.admit(newcomer.server, at: at(milliseconds: 100) + HandshakeSlot.silenceGrace + .milliseconds(1))
        #expect(displaced.map(\.socket) == [silent.server])
        #expect(displaced.first?.silent == true)
        #expect(silent.isShutDown)
        #expect(!talker.isShutDown && !newcomer.isShutDown)
        #expect(slots.counts == (handshakes: 2, transmissions: 0))
    }

    /// A client has said nothing until its flags arrive, a round trip after
    /// the greeting: meanwhile it ranks by its connection, after every client
    /// heard from before it came.
    @Test func aNewcomerInItsFirstRoundTripStaysBeforeAClientThatSpokeOnceAndIdled() throws {
        let slots = ConnectionSlots(handshakes: 2, transmissions: 1)
        let spokeOnce = try Pair(), newcomer = try Pair(), next = try Pair()
        let (idle, _) = slots.admit(spokeOnce.server, at: at(milliseconds: 0))
        idle.heard(at: at(milliseconds: 1))
        _ = slots.admit(newcomer.server, at: at(milliseconds: 10))
        let (_, displaced) = slots.admit(next.server, at: at(milliseconds: 11))
        #expect(displaced.map(\.socket) == [spokeOnce.server])
        #expect(displaced.first?.silent == false)
        #expect(!newcomer.isShutDown)
    }

    /// The flood of clients that send their flags at once and then idle,
    /// reconnecting as they are closed: the legitimate client makes room only
    /// once as many flood clients as there are slots came after it last spoke.
    @Test func aSpeakOnceFloodDisplacesALegitimateClientOnlyAfterAsManyNewcomersAsSlots() throws {
        let capacity = 4
        let slots = ConnectionSlots(handshakes: capacity, transmissions: 1)
        var flood: [Pair] = []
        var clock = 0
        /// One flood client connects and, half a millisecond later, sends its flags.
        func floodClient() throws -> [FileDescriptor] {
            let pair = try Pair()
            flood.append(pair)
            clock += 1
            let (slot, displaced) = slots.admit(pair.server, at: at(milliseconds: clock))
            slot.heard(at: at(milliseconds: clock) + .microseconds(500))
            return displaced.map(\.socket)
        }
        for _ in 1..<capacity { _ = try floodClient() }
        let legitimate = try Pair()
        clock += 1
        let (slot, _) = slots.admit(legitimate.server, at: at(milliseconds: clock))
        // Its first round trip: every flood client already here makes room before it.
        for _ in 1..<capacity { #expect(try !floodClient().contains(legitimate.server)) }
        clock += 1
        slot.heard(at: at(milliseconds: clock))
        // Each message starts the count again.
        for _ in 1..<capacity { #expect(try !floodClient().contains(legitimate.server)) }
        #expect(!legitimate.isShutDown)
        // As many newcomers as slots since it last spoke: now it goes.
        #expect(try floodClient() == [legitimate.server])
        #expect(legitimate.isShutDown)
    }

    @Test func amongClientsThatTalkedTheIdlestMakesRoom() throws {
        let slots = ConnectionSlots(handshakes: 2, transmissions: 1)
        let early = try Pair(), late = try Pair(), newcomer = try Pair()
        let (a, _) = slots.admit(early.server, at: at(milliseconds: 0))
        let (b, _) = slots.admit(late.server, at: at(milliseconds: 1))
        // The first to connect talked last: the second is the idlest.
        a.heard(at: at(milliseconds: 2000))
        b.heard(at: at(milliseconds: 1000))
        let (_, displaced) = slots.admit(newcomer.server, at: at(milliseconds: 3000))
        #expect(displaced.map(\.socket) == [late.server])
        #expect(late.isShutDown && !early.isShutDown)
    }

    @Test func aClientInTransmissionIsNeverDisplaced() throws {
        let slots = ConnectionSlots(handshakes: 1, transmissions: 1)
        let served = try Pair()
        let (slot, _) = slots.admit(served.server, at: at(milliseconds: 0))
        #expect(slots.enterTransmission(slot))
        // A flood of newcomers only ever displaces each other.
        let flood = try (0..<20).map { _ in try Pair() }
        for (index, pair) in flood.enumerated() {
            let (_, displaced) = slots.admit(pair.server, at: at(milliseconds: index + 1))
            #expect(displaced.map(\.socket) == (index == 0 ? [] : [flood[index - 1].server]))
        }
        #expect(!served.isShutDown)
        #expect(slots.counts == (handshakes: 1, transmissions: 1))
    }

    @Test func transmissionSlotsAreBoundedAndComeBack() throws {
        let slots = ConnectionSlots(handshakes: 4, transmissions: 1)
        let first = try Pair(), second = try Pair()
        let (one, _) = slots.admit(first.server)
        let (two, _) = slots.admit(second.server)
        #expect(slots.enterTransmission(one))
        #expect(!slots.enterTransmission(two))
        slots.leaveTransmission(one)
        #expect(slots.enterTransmission(two))
        #expect(slots.counts == (handshakes: 1, transmissions: 1))
    }

    @Test func aDisplacedHandshakeCannotEnterTransmission() throws {
        let slots = ConnectionSlots(handshakes: 1, transmissions: 1)
        let victim = try Pair(), newcomer = try Pair()
        let (slot, _) = slots.admit(victim.server, at: at(milliseconds: 0))
        _ = slots.admit(newcomer.server, at: at(milliseconds: 1))
        #expect(!slots.enterTransmission(slot))
        #expect(slots.counts == (handshakes: 1, transmissions: 0))
    }

    @Test func outOfDescriptorsTheIdlestHandshakeGoesAndThenNoneIsLeft() throws {
        let slots = ConnectionSlots(handshakes: 4, transmissions: 1)
        let pair = try Pair()
        _ = slots.admit(pair.server)
        #expect(slots.displaceIdlest()?.socket == pair.server)
        #expect(pair.isShutDown)
        #expect(slots.displaceIdlest() == nil)
    }
}
