import Glibc
import NBDClient

/// Limits: payloads over the advertised maximum, requests past the export's end, huge zero runs and gaps in
/// constant memory, and offsets near 2^63.
enum OversizedCases {
    private static let kib = Requests.kib
    private static let mib = Requests.mib
    private static let gib = 1024 * Requests.mib
    private static let small: UInt64 = Requests.mib
    /// Far above what a streaming server needs (a few maximum-size buffers), far below the gigabytes it streams.
    private static let constantMemoryLimit: UInt64 = 512 * Requests.mib

    static let all: [ConformanceCase] = [
        ConformanceCase(
            "oversized/payload-over-advertised-maximum",
            "A WRITE over the advertised maximum payload is refused without touching the stream, or done exactly",
            .spec(.must, "Size constraints", "a server that enforces stricter size constraints than the defaults MUST cleanly error commands that fall outside the constraints without corrupting data"),
            size: 256 * mib, role: .freshServerOnly("the stream's length depends on the server's answer, so it needs a server of its own")
        ) { context in
            let advertised = try context.advertised()
            let maximum = advertised.maximumPayload
            guard maximum != 0 else { throw CaseSkip("the server advertises no maximum payload (see oversized/payload-over-32m-without-maximum)") }
            guard maximum < 64 * mib else { throw CaseSkip("the advertised maximum, \(maximum), is above the 64 MiB libnbd sends") }
            // Over the maximum by one byte, or by one block where a minimum block size is advertised.
            try context.runOversizedWriteProbe(after: [.write(offset: 0, length: 4096, fua: false)], offset: 4096,
                                               length: maximum + advertised.alignment)
        },
        ConformanceCase(
            "oversized/payload-over-32m-without-maximum",
            "Informational: what a server that advertises no maximum does with a 32 MiB + 1 read (at the highwater, so the stream is not touched)",
            .spec(.may, "Size constraints", "a maximum payload size that is at least 2^25 (33,554,432) (even if the export size is smaller)"),
            size: 256 * mib
        ) { context in
            guard try context.advertised().maximumPayload == 0 else {
                throw CaseSkip("the server advertises a maximum payload (see oversized/payload-over-advertised-maximum)")
            }
            // Either answer is permitted. A write-mode read at the highwater returns zeroes and leaves the pipe alone.
            let connection = try context.connect()
            defer { try? connection.shutdown() }
            do {
                _ = try connection.pread(count: Int(32 * mib + 1), offset: context.streamPosition)
                context.note("a 32 MiB + 1 read was served")
            } catch let error as NBDError {
                context.note("a 32 MiB + 1 read was refused: \(error.message)")
            }
        },
        ConformanceCase(
            "oversized/write-past-end-is-enospc",
            "A write crossing the end of the export fails (under --strict: with ENOSPC, as the spec recommends) and the stream is untouched",
            .spec(.must, "Request types", "If an error occurs, the server MUST set the appropriate error code in the error field."), size: small
        ) { context in
            let end = context.segmentEnd
            // Unaligned where the server allows it, whole blocks where it advertises a minimum.
            let unit = try context.advertised().alignment
            let (back, across) = unit == 1 ? (UInt64(100), UInt64(200)) : (unit, 2 * unit)
            try context.runStream([[
                .write(offset: 0, length: 4096, fua: false), .write(offset: end - back, length: across, fua: false),
                .write(offset: end + 4096, length: unit, fua: false), .write(offset: 4096, length: 4096, fua: false),
            ]])
        },
        ConformanceCase(
            "oversized/read-past-end-is-einval",
            "A read crossing the end of the export fails with EINVAL",
            .spec(.should, "Error values", "It SHOULD return `NBD_EINVAL` if it receives a read or trim request including one or more sectors beyond the size of the device"), size: small
        ) { context in
            let end = context.segmentEnd
            let unit = try context.advertised().alignment
            let (back, across) = unit == 1 ? (UInt64(100), UInt64(200)) : (unit, 2 * unit)
            try context.runStream([[
                .write(offset: 0, length: 4096, fua: false), .read(offset: end - back, length: across),
                .read(offset: end, length: unit), .write(offset: 4096, length: 4096, fua: false),
            ]])
        },
        ConformanceCase(
            "oversized/last-byte-and-exact-end",
            "Writes that end exactly at the export's end, including its last byte, succeed; one byte past fails",
            .spec(.must, "Size constraints", "For those requests, the client MUST NOT use a *length* which, when added to *offset*, would exceed the export size."), size: small,
            role: .freshServerOnly("fills the export to its last byte, so it needs an export of its own")
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: small - kib, fua: false), .write(offset: small - kib, length: kib - 1, fua: false),
                .write(offset: small - 1, length: 2, fua: false), .write(offset: small - 1, length: 1, fua: false),
                .write(offset: small, length: 1, fua: false),
            ]])
        },
        ConformanceCase(
            "oversized/write-zeroes-4gib",
            "Two NBD_CMD_WRITE_ZEROES of 2 GiB, past the maximum payload, are answered (zeroes, or EOVERFLOW or EINVAL) without a disconnect, and 4 GiB of zeroes reach the pipe in constant memory",
            .spec(.should, "Size constraints", "the server SHOULD NOT disconnect, but MAY reply with an `NBD_EOVERFLOW` or `NBD_EINVAL` error if the oversize request would require too many server resources"), size: 8 * gib, timeoutScale: 5
        ) { context in
            try context.requireAdvertised("NBD_FLAG_SEND_WRITE_ZEROES", \.zero)
            // One request's length field is 32 bits, so 4 GiB takes more than one. Refused or not, the zeroes reach
            // the pipe: the write after them zero-fills what a refusal left out.
            let half = 2 * gib
            try context.runStream([[
                .write(offset: 0, length: 512, fua: false), .zero(offset: 512, length: half),
                .zero(offset: 512 + half, length: half), .write(offset: 512 + 2 * half, length: 512, fua: false),
            ]], memoryLimit: constantMemoryLimit, splittingZeroes: false)
        },
        ConformanceCase(
            "oversized/forward-gap-1gib",
            "A write 1 GiB above the highwater zero-fills the whole gap",
            .reference("Need to write some zeroes."), size: 8 * gib, timeoutScale: 5
        ) { context in
            try context.runStream([[.write(offset: 0, length: 100, fua: false), .write(offset: 100 + gib, length: 4096, fua: false)]],
                                  memoryLimit: constantMemoryLimit)
        },
        ConformanceCase(
            "oversized/long-stream-8gib",
            "An 8 GiB stream of 1 MiB writes with 8 in flight reaches the pipe intact",
            .manPage("If the NBD client opens the NBD port and writes from the start to the end of the disk without seeking backwards, then you can turn that into a stream of data on a local pipe or socket"), size: 16 * gib, isLong: true, timeoutScale: 30
        ) { context in
            try context.runStream([Requests.sequentialWrites(Array(repeating: mib, count: 8192))], depth: 8,
                                  memoryLimit: constantMemoryLimit)
        },
        ConformanceCase(
            "oversized/offsets-near-2-63",
            "With the default size, reads near its end return zeroes and reads past it fail with EINVAL",
            .reference("This is 2^63 - 2^30. This is the largest disk that qemu supports."), size: nil
        ) { context in
            let connection = try context.connect()
            try expectEqual(try connection.exportSize(), CaseContext.defaultExportSize, "the default export size (2^63 - 2^30)")
            let end = context.segmentEnd
            try context.runStream([[
                .read(offset: end - 512, length: 512), .read(offset: end - 1, length: 1),
                .read(offset: end - 256, length: 512), .read(offset: end, length: 512), .read(offset: 1 << 63, length: 512),
            ]])
        },
    ]
}
