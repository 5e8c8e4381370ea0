import Glibc
@testable import NBDServer
import SystemPackage
import Testing

/// Handshake slots make room by ending the handshake that waited longest for
/// its client; transmission slots are never taken from their client. Real
/// socketpairs, so a displaced handshake's socket is seen to be shut down.
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

    @Test func aSilentHandshakeMakesRoomBeforeOneThatTalks() throws {
        let slots = ConnectionSlots(handshakes: 2, transmissions: 1)
        let talker = try Pair(), silent = try Pair(), newcomer = try Pair()
        let (talking, _) = slots.admit(talker.server)
        // Heard from the moment it connected, before the silent one came: idler, yet it stays.
        talking.heard(at: talking.connected)
        _ = slots.admit(silent.server)
        let (_, displaced) = slots.admit(newcomer.server)
        #expect(displaced.map(\.socket) == [silent.server])
        #expect(displaced.first?.silent == true)
        #expect(silent.isShutDown)
        #expect(!talker.isShutDown && !newcomer.isShutDown)
        #expect(slots.counts == (handshakes: 2, transmissions: 0))
    }

    @Test func amongClientsThatTalkedTheIdlestMakesRoom() throws {
        let slots = ConnectionSlots(handshakes: 2, transmissions: 1)
        let early = try Pair(), late = try Pair(), newcomer = try Pair()
        let now = ContinuousClock.now
        let (a, _) = slots.admit(early.server)
        let (b, _) = slots.admit(late.server)
        // The first to connect talked last: the second is the idlest.
        a.heard(at: now + .seconds(2))
        b.heard(at: now + .seconds(1))
        let (_, displaced) = slots.admit(newcomer.server)
        #expect(displaced.map(\.socket) == [late.server])
        #expect(late.isShutDown && !early.isShutDown)
    }

    @Test func aClientInTransmissionIsNeverDisplaced() throws {
        let slots = ConnectionSlots(handshakes: 1, transmissions: 1)
        let served = try Pair()
        let (slot, _) = slots.admit(served.server)
        #expect(slots.enterTransmission(slot))
        // A flood of newcomers only ever displaces each other.
        let flood = try (0..<20).map { _ in try Pair() }
        for (index, pair) in flood.enumerated() {
            let (_, displaced) = slots.admit(pair.server)
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
        let (slot, _) = slots.admit(victim.server)
        _ = slots.admit(newcomer.server)
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
