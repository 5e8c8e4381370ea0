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
            "oversized/payload-over-maximum-rejected",
            "Writes of 32 MiB + 1 and 64 MiB are rejected without touching the stream",
            reference: "proto.md Block size constraints (maximum payload); docs/protocol.md", size: 256 * mib
        ) { context in
            try context.runStream([
                [.write(offset: 0, length: 4096, fua: false), .write(offset: 4096, length: 32 * mib + 1, fua: false)],
                // A server may drop the connection past its bound instead of answering, so each probe gets its own.
                [.write(offset: 4096, length: 64 * mib, fua: false)],
                [.write(offset: 4096, length: 512, fua: false)],
            ])
        },
        ConformanceCase(
            "oversized/write-past-end-is-enospc",
            "A write crossing the end of the export fails with ENOSPC and the stream is untouched",
            reference: "proto.md NBD_CMD_WRITE (ENOSPC); docs/protocol.md out of range", size: small
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: 4096, fua: false), .write(offset: small - 100, length: 200, fua: false),
                .write(offset: small + 4096, length: 1, fua: false), .write(offset: 4096, length: 4096, fua: false),
            ]])
        },
        ConformanceCase(
            "oversized/read-past-end-is-einval",
            "A read crossing the end of the export fails with EINVAL",
            reference: "proto.md NBD_CMD_READ (EINVAL); docs/protocol.md out of range", size: small
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: 4096, fua: false), .read(offset: small - 100, length: 200),
                .read(offset: small, length: 1), .write(offset: 4096, length: 4096, fua: false),
            ]])
        },
        ConformanceCase(
            "oversized/last-byte-and-exact-end",
            "Writes that end exactly at the export's end, including its last byte, succeed; one byte past fails",
            reference: "proto.md NBD_CMD_WRITE; docs/protocol.md size=", size: small
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: small - kib, fua: false), .write(offset: small - kib, length: kib - 1, fua: false),
                .write(offset: small - 1, length: 2, fua: false), .write(offset: small - 1, length: 1, fua: false),
                .write(offset: small, length: 1, fua: false),
            ]])
        },
        ConformanceCase(
            "oversized/write-zeroes-4gib",
            "NBD_CMD_WRITE_ZEROES covering 4 GiB appends 4 GiB of zeroes",
            reference: "proto.md NBD_CMD_WRITE_ZEROES; docs/protocol.md (constant memory)", size: 8 * gib, timeoutScale: 5
        ) { context in
            // One request's length field is 32 bits, so 4 GiB takes more than one.
            let half = 2 * gib
            try context.runStream([[
                .write(offset: 0, length: 512, fua: false), .zero(offset: 512, length: half),
                .zero(offset: 512 + half, length: half), .write(offset: 512 + 2 * half, length: 512, fua: false),
            ]], memoryLimit: constantMemoryLimit)
        },
        ConformanceCase(
            "oversized/forward-gap-1gib",
            "A write 1 GiB above the highwater zero-fills the whole gap",
            reference: "nbdkit streaming plugin pwrite (zero-fill); docs/protocol.md (constant memory)", size: 8 * gib, timeoutScale: 5
        ) { context in
            try context.runStream([[.write(offset: 0, length: 100, fua: false), .write(offset: 100 + gib, length: 4096, fua: false)]],
                                  memoryLimit: constantMemoryLimit)
        },
        ConformanceCase(
            "oversized/long-stream-8gib",
            "An 8 GiB stream of 1 MiB writes with 8 in flight reaches the pipe intact",
            reference: "nbdkit-streaming-plugin(1) write=", size: 16 * gib, isLong: true, timeoutScale: 30
        ) { context in
            try context.runStream([Requests.sequentialWrites(Array(repeating: mib, count: 8192))], depth: 8,
                                  memoryLimit: constantMemoryLimit)
        },
        ConformanceCase(
            "oversized/offsets-near-2-63",
            "With the default size, reads near its end return zeroes and reads past it fail with EINVAL",
            reference: "nbdkit-streaming-plugin(1) size= default; proto.md NBD_CMD_READ", size: nil
        ) { context in
            let end = CaseContext.defaultExportSize
            let connection = try context.connect()
            try expectEqual(try connection.exportSize(), end, "the default export size (2^63 - 2^30)")
            try context.runStream([[
                .read(offset: end - 512, length: 512), .read(offset: end - 1, length: 1),
                .read(offset: end - 256, length: 512), .read(offset: end, length: 512), .read(offset: 1 << 63, length: 512),
            ]])
        },
    ]
}
