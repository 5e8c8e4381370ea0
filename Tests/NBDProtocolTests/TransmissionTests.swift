import NBDProtocol
import Testing

@Suite struct TransmissionTests {
    let writeRequest: [UInt8] = [
        0x25, 0x60, 0x95, 0x13,  // magic
        0x00, 0x01,  // FUA
        0x00, 0x01,  // WRITE
        0, 0, 0, 0, 0, 0, 0, 9,  // cookie
        0, 0, 0, 0, 0, 0, 0x10, 0,  // offset 4096
        0, 0, 0x02, 0,  // length 512
    ]

    @Test func requestDecodes() throws {
        let header = try RequestHeader.decode(writeRequest)
        #expect(header == RequestHeader(flags: .fua, command: .write, cookie: 9, offset: 4096, length: 512))
        #expect(header.hasPayload)
    }

    @Test func requestWithBadMagicIsRefused() {
        var bytes = writeRequest
        bytes[0] = 0
        #expect(throws: DecodeError.self) { try RequestHeader.decode(bytes) }
    }

    @Test func simpleReply() {
        #expect(Reply.simple(cookie: 9, error: .io) == [0x67, 0x44, 0x66, 0x98, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 9])
    }

    @Test func structuredOffsetDataHeader() {
        #expect(Reply.offsetDataHeader(cookie: 1, offset: 2, dataLength: 3, done: true) == [
            0x66, 0x8e, 0x33, 0xef, 0, 1, 0, 1,
            0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 11,
            0, 0, 0, 0, 0, 0, 0, 2,
        ])
    }

    @Test func errorChunkCarriesTheMessage() {
        #expect(Reply.errorChunk(cookie: 1, error: .invalid, message: "x") == [
            0x66, 0x8e, 0x33, 0xef, 0, 1, 0x80, 0x01,
            0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 7,
            0, 0, 0, 22, 0, 1, 0x78,
        ])
    }

    @Test func wireMessagesAreCutAtTheStringLimitOnACharacterBoundary() {
        // 4095 ASCII bytes then a 2-byte character: it would end at 4097, so it is left out whole.
        let message = wireMessage(String(repeating: "a", count: 4095) + "é" + "tail")
        #expect(message.count == 4095)
        #expect(String(validating: message, as: UTF8.self) != nil)
        #expect(wireMessage("short é") == Array("short é".utf8))
    }

    @Test func blockStatusChunk() {
        let bytes = Reply.blockStatus(cookie: 1, contextID: 1, extents: [Extent(length: 512, flags: [.hole, .zero])])
        #expect(Array(bytes[4..<8]) == [0, 1, 0, 5])
        #expect(Array(bytes[16...]) == [0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 3])
    }

    @Test func replyHeadersDecode() throws {
        #expect(try ReplyHeader.decode(Reply.simple(cookie: 3, error: .noSpace)) == .simple(cookie: 3, error: .noSpace))
        #expect(try ReplyHeader.decode(Reply.none(cookie: 4)) == .chunk(cookie: 4, type: .none, flags: .done, length: 0))
        #expect(ReplyHeader.length(forMagic: 0x1234) == nil)
    }
}
