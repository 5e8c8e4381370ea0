import NBDProtocol
import Testing

/// Byte fixtures written from the spec's tables, not from the encoder.
@Suite struct HandshakeTests {
    @Test func newstyleGreeting() {
        #expect(Greeting.newstyle(flags: [.fixedNewstyle, .noZeroes]) == [
            0x4e, 0x42, 0x44, 0x4d, 0x41, 0x47, 0x49, 0x43,  // NBDMAGIC
            0x49, 0x48, 0x41, 0x56, 0x45, 0x4f, 0x50, 0x54,  // IHAVEOPT
            0x00, 0x03,
        ])
    }

    @Test func oldstyleGreetingIs152Bytes() {
        let bytes = Greeting.oldstyle(size: 0x1_0000, flags: [.hasFlags, .readOnly])
        #expect(bytes.count == 152)
        #expect(Array(bytes[8..<16]) == [0x00, 0x00, 0x42, 0x02, 0x81, 0x86, 0x12, 0x53])
        #expect(Array(bytes[16..<24]) == [0, 0, 0, 0, 0, 1, 0, 0])
        #expect(Array(bytes[24..<28]) == [0, 0, 0, 3])
        #expect(bytes[28...].allSatisfy { $0 == 0 })
    }

    @Test func exportNameReplyPadsUnlessNoZeroes() {
        let padded = Greeting.exportNameReply(size: 512, flags: [.hasFlags, .sendFlush], noZeroes: false)
        #expect(padded.count == 134)
        #expect(Array(padded[0..<10]) == [0, 0, 0, 0, 0, 0, 2, 0, 0x00, 0x05])
        #expect(Greeting.exportNameReply(size: 512, flags: [.hasFlags], noZeroes: true).count == 10)
    }

    @Test func clientFlags() throws {
        #expect(try Greeting.decodeClientFlags([0, 0, 0, 3]) == [.fixedNewstyle, .noZeroes])
        #expect(try !Greeting.decodeClientFlags([0, 0, 0, 4]).isSubset(of: .known))
    }
}
