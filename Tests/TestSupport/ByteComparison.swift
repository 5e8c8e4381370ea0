/// Where two byte strings part, for expectations on megabytes of stream:
/// `#expect(a == b)` on arrays that differ makes Swift Testing compute a
/// diff, which on a few hundred KiB runs for many minutes. Nil when equal.
public func firstDifference(_ actual: [UInt8], _ expected: [UInt8]) -> String? {
    guard actual != expected else { return nil }
    let common = zip(actual, expected).prefix { $0 == $1 }.count
    return "\(actual.count) bytes where \(expected.count) were expected; they part at offset \(common)"
}
