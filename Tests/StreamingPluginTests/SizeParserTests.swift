@testable import StreamingPlugin
import Testing

@Suite struct SizeParserTests {
    @Test(arguments: [
        ("0", 0), ("1", 1), ("512", 512), ("10b", 10), ("2s", 1024), ("1k", 1024), ("1K", 1024),
        ("3M", 3 << 20), ("2G", 2 << 30), ("1T", 1 << 40), ("1P", 1 << 50), ("7E", 7 << 60),
        ("9223372036854775807", 9_223_372_036_854_775_807),
    ] as [(String, UInt64)])
    func parsesBytesAndSuffixes(text: String, expected: UInt64) throws {
        #expect(try SizeParser.parse(text) == expected)
    }

    @Test(arguments: ["", "k", "-1", "-1M", "1.5G", "12Q", "0x10", " 1", "8E", "9223372036854775808", "99999999999999999999"])
    func rejectsMalformedNegativeAndOverflowingSizes(text: String) {
        #expect(throws: SizeParser.Invalid.self) { try SizeParser.parse(text) }
    }

    @Test func negativeSizeSaysSo() {
        #expect(throws: SizeParser.Invalid(text: "-5", reason: "size cannot be negative")) { try SizeParser.parse("-5") }
    }
}
