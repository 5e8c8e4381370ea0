import Glibc
import NBDClient

/// Linear streams (nbdkit-streaming-plugin(1): "writes from the start to the end of the disk without seeking
/// backwards"), checked byte for byte through the pipe.
enum SequentialCases {
    private static let kib = Requests.kib
    private static let mib = Requests.mib
    private static let streamSize: UInt64 = 64 * Requests.mib

    static let all: [ConformanceCase] = [
        ConformanceCase(
            "sequential/write-request-sizes",
            "Writes of 1 B to 32 MiB (in pieces above a smaller advertised maximum) and odd sizes, one at a time, reach the pipe in order",
            .manPage("If the NBD client opens the NBD port and writes from the start to the end of the disk without seeking backwards, then you can turn that into a stream of data on a local pipe or socket"), size: streamSize
        ) { context in
            try context.runStream([Requests.sequentialWrites(Requests.mixedSizes)])
        },
        writesInFlight(16, requestLength: 64 * kib, count: 256),
        writesInFlight(64, requestLength: 4 * kib + 1, count: 1024),
        ConformanceCase(
            "sequential/write-zeroes-interleaved",
            "NBD_CMD_WRITE_ZEROES between writes appends zeroes to the stream",
            .spec(.must, "Request types", "The server MUST zero out the data on disk, and then send the reply message."), size: streamSize
        ) { context in
            try context.requireAdvertised("NBD_FLAG_SEND_WRITE_ZEROES", \.zero)
            let requests: [StreamRequest] = [
                .write(offset: 0, length: 4096, fua: false), .zero(offset: 4096, length: 8192),
                .write(offset: 12288, length: 1000, fua: false), .zero(offset: 13288, length: 1),
                .write(offset: 13289, length: 65536, fua: false), .zero(offset: 78825, length: 3 * mib),
                .write(offset: 78825 + 3 * mib, length: 17, fua: false),
            ]
            try context.runStream([requests])
        },
        ConformanceCase(
            "sequential/flush",
            "NBD_CMD_FLUSH between writes is answered and the stream stays intact",
            .spec(.must, "Request types", "The server MUST NOT send a successful reply header for this request before all write requests for which a reply has already been sent to the client have reached permanent storage"), size: streamSize
        ) { context in
            try context.requireAdvertised("NBD_FLAG_SEND_FLUSH", \.flush)
            let writes = Requests.sequentialWrites([4096, 100, 65536, 3])
            try context.runStream([[writes[0], .flush, writes[1], writes[2], .flush, writes[3], .flush]])
        },
        ConformanceCase(
            "sequential/fua",
            "Writes with NBD_CMD_FLAG_FUA are answered and reach the pipe",
            .spec(.must, "Ordering of messages and writes", "A server MUST NOT reply to a command that has `NBD_CMD_FLAG_FUA` set in its command flags until the data (if any) written by that command is persisted to non-volatile storage."), size: streamSize
        ) { context in
            try context.requireAdvertised("NBD_FLAG_SEND_FUA", \.fua)
            try context.runStream([Requests.sequentialWrites([512, 4096, 77, mib], fua: true)])
        },
        ConformanceCase(
            "sequential/empty-stream",
            "A client that connects and disconnects leaves an empty pipe that reaches end of file",
            .manPage("If the NBD client opens the NBD port and writes from the start to the end of the disk without seeking backwards, then you can turn that into a stream of data on a local pipe or socket"), size: streamSize
        ) { context in
            try context.runStream([[]])
        },
        ConformanceCase(
            "sequential/read-at-or-above-highwater-returns-zeroes",
            "In write mode reads at or above the highwater return zeroes and leave the stream alone",
            .reference("Allow reads which are entirely >= highest. These return zeroes."), size: streamSize
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: 5000, fua: false), .read(offset: 5000, length: 4096),
                .read(offset: 10 * mib, length: 512), .write(offset: 5000, length: 300, fua: false),
            ]])
        },
        ConformanceCase(
            "sequential/second-connection-continues",
            "A second connection continues the stream where the first one stopped",
            .manPage("If the NBD client opens the NBD port and writes from the start to the end of the disk without seeking backwards, then you can turn that into a stream of data on a local pipe or socket"), size: streamSize
        ) { context in
            let lengths: [UInt64] = [4096, 333, 65536, 1, 8192, 70000]
            let writes = Requests.sequentialWrites(lengths)
            try context.runStream([Array(writes[0 ..< 3]), Array(writes[3...])])
        },
        ConformanceCase(
            "sequential/read-request-sizes",
            "In read mode, reads of 1 B to 32 MiB (in pieces above a smaller advertised maximum) and odd sizes return the bytes fed into the pipe",
            .manPage("If the NBD client opens the NBD port and reads from the start to the end of the disk without seeking backwards, then you can turn a local pipe or socket into a stream of data for that client"), mode: .read, size: streamSize
        ) { context in
            try context.runStream([Requests.sequentialReads(Requests.mixedSizes)])
        },
        readsInFlight(16, requestLength: 64 * kib, count: 128),
        readsInFlight(64, requestLength: 4 * kib + 1, count: 1024),
        ConformanceCase(
            "sequential/read-end-of-file-is-eio",
            "In read mode, a pipe that ends before the request is satisfied gives EIO",
            .reference("read: unexpected end of file reading from the pipe"), mode: .read, size: streamSize, role: .endsStream(order: 1)
        ) { context in
            let reads = Requests.sequentialReads([4096, 4096, 4096])
            try context.runStream([reads], pipeLength: 4096 + 100)
        },
        ConformanceCase(
            "sequential/read-mode-rejects-writes",
            "In read mode, writes fail with EPERM and do not disturb the stream",
            .spec(.must, "Transmission flags", "If this flag is set, the server MUST error subsequent write operations to the export."), mode: .read, size: streamSize
        ) { context in
            try context.runStream([[
                .read(offset: 0, length: 4096), .write(offset: 4096, length: 512, fua: false), .read(offset: 4096, length: 512),
            ]])
        },
    ]

    private static func writesInFlight(_ depth: Int, requestLength: UInt64, count: Int) -> ConformanceCase {
        ConformanceCase(
            "sequential/write-\(depth)-in-flight",
            "\(count) writes of \(requestLength) B with \(depth) in flight reach the pipe in order",
            .manPage("If the NBD client opens the NBD port and writes from the start to the end of the disk without seeking backwards, then you can turn that into a stream of data on a local pipe or socket"), size: streamSize
        ) { context in
            try context.runStream([Requests.sequentialWrites(Array(repeating: requestLength, count: count))], depth: depth)
        }
    }

    private static func readsInFlight(_ depth: Int, requestLength: UInt64, count: Int) -> ConformanceCase {
        ConformanceCase(
            "sequential/read-\(depth)-in-flight",
            "In read mode, \(count) reads of \(requestLength) B with \(depth) in flight return the pipe's bytes in order",
            .manPage("If the NBD client opens the NBD port and reads from the start to the end of the disk without seeking backwards, then you can turn a local pipe or socket into a stream of data for that client"), mode: .read, size: streamSize
        ) { context in
            try context.runStream([Requests.sequentialReads(Array(repeating: requestLength, count: count))], depth: depth)
        }
    }
}
