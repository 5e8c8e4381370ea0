import Glibc

/// One request a workload sends; data for writes and reads comes from the stream pattern at the request's offset.
public enum StreamRequest: Sendable, Equatable, CustomStringConvertible {
    case write(offset: UInt64, length: UInt64, fua: Bool)
    case zero(offset: UInt64, length: UInt64)
    case read(offset: UInt64, length: UInt64)
    case flush

    public var description: String {
        switch self {
        case .write(let offset, let length, let fua): "WRITE\(fua ? "+FUA" : "") offset=\(offset) length=\(length)"
        case .zero(let offset, let length): "WRITE_ZEROES offset=\(offset) length=\(length)"
        case .read(let offset, let length): "READ offset=\(offset) length=\(length)"
        case .flush: "FLUSH"
        }
    }
}

extension StreamRequest {
    /// Whether offset and length are multiples of `block` (FLUSH always is).
    func isAligned(to block: UInt64) -> Bool {
        switch self {
        case .write(let offset, let length, _), .zero(let offset, let length), .read(let offset, let length):
            offset % block == 0 && length % block == 0
        case .flush: true
        }
    }

    /// The same request `distance` bytes further on (saturating, so a request past the end stays past it).
    func shifted(by distance: UInt64) -> StreamRequest {
        func move(_ offset: UInt64) -> UInt64 { offset.addingReportingOverflow(distance).overflow ? .max : offset + distance }
        switch self {
        case .write(let offset, let length, let fua): return .write(offset: move(offset), length: length, fua: fua)
        case .zero(let offset, let length): return .zero(offset: move(offset), length: length)
        case .read(let offset, let length): return .read(offset: move(offset), length: length)
        case .flush: return .flush
        }
    }
}

/// What the server must answer to one request.
public enum ExpectedOutcome: Sendable, Equatable, CustomStringConvertible {
    case success
    /// The read must succeed and return zeroes, or the stream pattern at the request's offset.
    case data(ExpectedStream.Content)
    case failure(errno: Int32)
    /// Must fail; the spec says the server SHOULD use this errno, which `--strict` checks.
    case refused(preferring: Int32)
    /// Any error will do, e.g. a payload over the maximum, where the spec lets the server choose.
    case anyFailure
    /// Success, or failure with one of these errnos, where the spec lets the server choose: a WRITE_ZEROES longer
    /// than the maximum payload "MAY reply with an `NBD_EOVERFLOW` or `NBD_EINVAL` error".
    case successOrFailure(errnos: [Int32])

    public var description: String {
        switch self {
        case .success: "success"
        case .data(let content): "success returning \(content == .zeroes ? "zeroes" : "the stream's bytes")"
        case .failure(let errno): "failure \(errnoName(errno))"
        case .refused(let errno): "failure (SHOULD be \(errnoName(errno)))"
        case .anyFailure: "any failure"
        case .successOrFailure(let errnos): "success or failure \(errnos.map(errnoName).joined(separator: " or "))"
        }
    }
}

/// "EIO (5)" style names, so reports read like the man pages.
public func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", EIO: "EIO", ENOMEM: "ENOMEM", EINVAL: "EINVAL", ENOSPC: "ENOSPC",
        EOVERFLOW: "EOVERFLOW", ENOTSUP: "ENOTSUP", ESHUTDOWN: "ESHUTDOWN", ENOTCONN: "ENOTCONN",
        ERANGE: "ERANGE", ECANCELED: "ECANCELED", ECONNRESET: "ECONNRESET", EPIPE: "EPIPE",
    ]
    return "\(names[code] ?? "errno") (\(code))"
}
