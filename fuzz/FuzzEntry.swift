// libFuzzer entry point for NBDProtocol's decoders. Built by scripts/fuzz.sh
// with `swiftc -sanitize=fuzzer,address` together with Sources/NBDProtocol/*.swift
// into one module, so no SwiftPM target is needed and nothing here ships.

/// Every input goes through every decoder: a mutation that turns one message
/// into another (a request header into an option header, say) then still
/// finds its way, and no decoder is starved by a selector byte the fuzzer
/// has not learnt yet.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    DecoderProperties.check(bytes)
    EncoderProperties.check(bytes)
    return 0
}

/// A broken property is a crash, which is how libFuzzer learns of it: it
/// saves the input as an artifact and the run exits non-zero.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("property violated: \(message())") }
}
