/// Parses `size=` as nbdkit does: decimal bytes with an optional suffix,
/// b (bytes), s (512-byte sectors), or k, M, G, T, P, E as powers of 1024.
public enum SizeParser {
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let text: String
        public let reason: String
        public var description: String { "size '\(text)': \(reason)" }
    }

    public static func parse(_ text: String) throws(Invalid) -> UInt64 {
        var digits = Substring(text)
        var multiplier: UInt64 = 1
        if let last = digits.last, !last.isNumber {
            guard let scale = scale(of: last) else { throw Invalid(text: text, reason: "unknown suffix '\(last)'") }
            multiplier = scale
            digits = digits.dropLast()
        }
        if digits.first == "-" { throw Invalid(text: text, reason: "size cannot be negative") }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw Invalid(text: text, reason: "not a number")
        }
        guard let value = UInt64(digits) else { throw Invalid(text: text, reason: "too large") }
        let (size, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, size <= UInt64(Int64.max) else { throw Invalid(text: text, reason: "too large (the limit is \(Int64.max))") }
        return size
    }

    private static func scale(of suffix: Character) -> UInt64? {
        switch suffix {
        case "b", "B": 1
        case "s", "S": 512
        case "k", "K": 1 << 10
        case "m", "M": 1 << 20
        case "g", "G": 1 << 30
        case "t", "T": 1 << 40
        case "p", "P": 1 << 50
        case "e", "E": 1 << 60
        default: nil
        }
    }
}
