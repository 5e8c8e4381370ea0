import NBDProtocol
@testable import NBDServer
import SystemPackage
import Testing

/// RequestValidation, one row per rule: what each request gets before any
/// plugin sees it, as an errno and as the NBD error it becomes on the wire.
@Suite struct RequestValidationTests {
    static let export = ExportDescription(size: 1 << 20, isReadOnly: false, maximumPayload: 64 * 1024)
    static let readOnly = ExportDescription(size: 1 << 20, isReadOnly: true, maximumPayload: 64 * 1024)

    static var simple: Session { Session() }
    static var structured: Session {
        var session = Session()
        session.structuredReplies = true
        return session
    }
    static var withContext: Session {
        var session = structured
        session.baseAllocationContext = 1
        return session
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let label: String
        let header: RequestHeader
        var export: ExportDescription = RequestValidationTests.export
        var session: Session = RequestValidationTests.simple
        /// nil: admitted.
        let expected: (Errno, WireError)?

        var testDescription: String { label }
    }

    static func request(_ command: Command, _ flags: CommandFlags = [], offset: UInt64 = 0, length: UInt32 = 512) -> RequestHeader {
        RequestHeader(flags: flags, command: command, cookie: 7, offset: offset, length: length)
    }

    static let rows: [Row] = [
        Row(label: "plain read", header: request(.read), expected: nil),
        Row(label: "plain write", header: request(.write), expected: nil),
        Row(label: "FUA on every command", header: request(.flush, [.fua], length: 0), expected: nil),
        Row(label: "FUA on read", header: request(.read, [.fua]), expected: nil),
        Row(label: "unknown command", header: request(Command(rawValue: 42)), expected: (.invalidArgument, .invalid)),
        Row(label: "TRIM is not advertised", header: request(.trim), expected: (.invalidArgument, .invalid)),
        Row(label: "unknown flag", header: request(.write, CommandFlags(rawValue: 1 << 9)), expected: (.invalidArgument, .invalid)),
        Row(label: "DF without structured replies", header: request(.read, [.dontFragment]), expected: (.invalidArgument, .invalid)),
        Row(label: "DF with structured replies", header: request(.read, [.dontFragment]), session: structured, expected: nil),
        Row(label: "NO_HOLE on write", header: request(.write, [.noHole]), expected: (.invalidArgument, .invalid)),
        Row(label: "NO_HOLE on write zeroes", header: request(.writeZeroes, [.noHole]), expected: nil),
        Row(label: "block status without a context", header: request(.blockStatus), session: structured, expected: (.invalidArgument, .invalid)),
        Row(label: "block status with a context", header: request(.blockStatus, [.requestOne]), session: withContext, expected: nil),
        Row(label: "write on a read-only export", header: request(.write), export: readOnly, expected: (.readOnlyFileSystem, .permissionDenied)),
        Row(label: "write zeroes on a read-only export", header: request(.writeZeroes), export: readOnly, expected: (.readOnlyFileSystem, .permissionDenied)),
        Row(label: "read on a read-only export", header: request(.read), export: readOnly, expected: nil),
        Row(label: "flush with a length", header: request(.flush, length: 1), expected: (.invalidArgument, .invalid)),
        Row(label: "flush with an offset", header: request(.flush, offset: 1, length: 0), expected: (.invalidArgument, .invalid)),
        Row(label: "zero-length read", header: request(.read, length: 0), expected: (.invalidArgument, .invalid)),
        Row(label: "read over the maximum payload", header: request(.read, length: 64 * 1024 + 1), expected: (.invalidArgument, .invalid)),
        Row(label: "write zeroes over the maximum payload", header: request(.writeZeroes, length: 1 << 20), expected: nil),
        Row(label: "write past the end", header: request(.write, offset: 1 << 20, length: 1), expected: (.noSpace, .noSpace)),
        Row(label: "read past the end", header: request(.read, offset: (1 << 20) - 1, length: 2), expected: (.invalidArgument, .invalid)),
        Row(label: "offset that overflows", header: request(.read, offset: .max, length: 2), expected: (.invalidArgument, .invalid)),
        Row(label: "last byte", header: request(.write, offset: (1 << 20) - 1, length: 1), expected: nil),
        Row(label: "fast zero refused", header: request(.writeZeroes, [.fastZero]), expected: (.notSupported, .notSupported)),
    ]

    @Test(arguments: rows)
    func rule(_ row: Row) {
        let refusal = RequestValidation.check(row.header, export: row.export, session: row.session)
        #expect(refusal?.errno == row.expected?.0)
        if let refusal, let expected = row.expected {
            #expect(WireErrors.wireError(for: refusal.errno, flags: row.header.flags) == expected.1)
        }
    }
}
