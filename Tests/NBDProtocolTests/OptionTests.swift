import NBDProtocol
import Testing

@Suite struct OptionTests {
    @Test func optionHeaderDecodes() throws {
        let bytes: [UInt8] = [0x49, 0x48, 0x41, 0x56, 0x45, 0x4f, 0x50, 0x54, 0, 0, 0, 7, 0, 0, 0, 6]
        #expect(try OptionHeader.decode(bytes) == OptionHeader(code: .go, length: 6))
    }

    @Test func optionHeaderWithBadMagicIsRefused() {
        let bytes: [UInt8] = [0x49, 0x48, 0x41, 0x56, 0x45, 0x4f, 0x50, 0x00, 0, 0, 0, 7, 0, 0, 0, 6]
        #expect(throws: DecodeError.self) { try OptionHeader.decode(bytes) }
    }

    @Test func infoRequestDecodes() throws {
        let payload: [UInt8] = [0, 0, 0, 2, 0x73, 0x64, 0, 2, 0, 3, 0, 1]
        #expect(try InfoRequest.decode(payload) == InfoRequest(exportName: "sd", requests: [.blockSize, .name]))
    }

    @Test(arguments: [
        [0, 0, 0, 9, 0x73, 0, 0] as [UInt8],  // name longer than the payload
        [0, 0, 0, 0, 0, 2, 0, 3],  // two requests announced, one present
        [0, 0, 0, 0, 0, 0, 0, 3],  // a trailing request beyond the count
        [0, 0, 0],  // shorter than a length
    ])
    func malformedInfoRequestsAreRefused(payload: [UInt8]) {
        #expect(throws: DecodeError.self) { try InfoRequest.decode(payload) }
    }

    @Test func metaContextRequestDecodes() throws {
        let payload: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5] + Array("base:".utf8)
        #expect(try MetaContextRequest.decode(payload) == MetaContextRequest(exportName: "", queries: ["base:"]))
    }

    @Test func hugeQueryCountIsRefusedBeforeAnythingIsAllocated() {
        let payload: [UInt8] = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        #expect(throws: DecodeError.truncated(needed: Int(UInt32.max) * 4, available: 4)) { try MetaContextRequest.decode(payload) }
    }

    @Test func optionReplyEncodes() {
        let reply = OptionReply.error(.go, .errUnsupported, message: "no")
        #expect(reply.encode() == [
            0x00, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9,
            0, 0, 0, 7,
            0x80, 0, 0, 1,
            0, 0, 0, 2, 0x6e, 0x6f,
        ])
    }

    @Test func infoExportAndBlockSizePayloads() {
        #expect(OptionReply.infoExport(.go, size: 1, flags: [.hasFlags, .readOnly]).payload == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3])
        let sizes = BlockSizeConstraints(minimum: 1, preferred: 4096, maximum: 1 << 25)
        #expect(OptionReply.infoBlockSize(.go, sizes).payload == [0, 3, 0, 0, 0, 1, 0, 0, 0x10, 0, 0x02, 0, 0, 0])
    }

    @Test func listServerReplyCarriesLengthPrefixedName() {
        #expect(OptionReply.server(name: "ab", description: nil).payload == [0, 0, 0, 2, 0x61, 0x62])
    }
}
