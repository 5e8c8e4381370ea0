import CGnuTLS

/// The few conventions of GnuTLS's C API in one place: negative codes are
/// errors, and `gnutls_strerror` says what they mean.
enum GnuTLS {
    static func reason(_ code: Int32) -> String {
        String(cString: gnutls_strerror(code))
    }

    static func check(_ code: Int32, _ operation: String) throws(TLSError) {
        if code < 0 { throw .failed(operation: operation, code: code, reason: reason(code)) }
    }

    /// Calls `body` with a datum over `bytes`; GnuTLS copies what it keeps.
    static func withDatum<Result>(_ bytes: [UInt8], _ body: (inout gnutls_datum_t) throws(TLSError) -> Result) throws(TLSError) -> Result {
        var bytes = bytes
        let count = bytes.count
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(TLSError) -> Result in
            var datum = gnutls_datum_t(data: buffer.baseAddress, size: UInt32(count))
            return try body(&datum)
        }
    }
}
