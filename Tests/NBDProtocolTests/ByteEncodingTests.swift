import NBDProtocol
import Testing

@Suite struct ByteEncodingTests {
    @Test func integersAreBigEndian() {
        var writer = ByteWriter()
        writer.write(UInt16(0x0102))
        writer.write(UInt32(0x0304_0506))
        writer.write(UInt64(0x0708_090a_0b0c_0d0e))
        #expect(writer.bytes == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    }

    @Test func readerRejectsShortInput() {
        var reader = ByteReader([0, 1, 2])
        #expect(throws: DecodeError.truncated(needed: 4, available: 3)) { try reader.read(UInt32.self) }
    }

    @Test func lengthPrefixedStringRefusesLengthsBeyondTheLimitBeforeReading() {
        // 0xFFFFFFFF bytes claimed, 1 present: must fail on the limit, not allocate.
        var reader = ByteReader([0xff, 0xff, 0xff, 0xff, 0x41])
        #expect(throws: DecodeError.stringTooLong(length: 0xffff_ffff, limit: 4096)) { try reader.readLengthPrefixedString() }
    }

    @Test func lengthPrefixedStringRejectsInvalidUTF8() {
        var reader = ByteReader([0, 0, 0, 2, 0xc3, 0x28])
        #expect(throws: DecodeError.invalidUTF8) { try reader.readLengthPrefixedString() }
    }
}
