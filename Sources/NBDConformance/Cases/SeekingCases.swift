import Glibc
import NBDClient

/// Forward gaps, backward access and the sticky error state (nbdkit streaming plugin; docs/protocol.md).
enum SeekingCases {
    private static let mib = Requests.mib
    private static let streamSize: UInt64 = 64 * Requests.mib

    static let all: [ConformanceCase] = [
        ConformanceCase(
            "seeking/forward-write-gap-zero-filled",
            "A write above the highwater first fills the gap with zeroes",
            .reference("Need to write some zeroes."), size: streamSize
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: 1000, fua: false), .write(offset: 5000, length: 3000, fua: false),
                .write(offset: 2 * mib + 1, length: 512, fua: false),
            ]])
        },
        ConformanceCase(
            "seeking/forward-read-gap-discarded",
            "In read mode a read above the highwater reads and discards the gap",
            .reference("If the offset is higher than previously read we must seek forwards and discard data."), mode: .read, size: streamSize
        ) { context in
            try context.runStream([[
                .read(offset: 0, length: 1000), .read(offset: 5000, length: 3000), .read(offset: 2 * mib + 1, length: 512),
            ]])
        },
        ConformanceCase(
            "seeking/backward-write-enters-error-state",
            "A write below the highwater fails with EIO and later requests fail with EIO too",
            .reference("client tried to seek backwards and write: the streaming plugin does not support this"),
            size: streamSize, role: .endsStream(order: 1)
        ) { context in
            try context.runStream([Requests.sequentialWrites([4096, 4096]) + [
                .write(offset: 4096, length: 512, fua: false), .write(offset: 8192, length: 512, fua: false),
                .read(offset: 8192 + mib, length: 512),
            ]])
        },
        ConformanceCase(
            "seeking/error-state-refuses-new-connections",
            "Once in the error state, new connections are refused",
            .reference("unrecoverable error state, no new connections can be opened"), size: streamSize, role: .endsStream(order: 2)
        ) { context in
            // The stream is first pushed into the error state, unless an earlier case on the target already ended it.
            let phases: [[StreamRequest]] = context.streamEnded
                ? [] : [[.write(offset: 0, length: 4096, fua: false), .write(offset: 0, length: 512, fua: false)]]
            try context.runStream(phases) {
                let late = try NBDConnection(cancellation: context.cancellation)
                do {
                    try late.connect(context.endpoint)
                } catch is NBDError {
                    return
                }
                throw CaseFailure("a new connection was accepted in the error state",
                                  details: "expected: connection refused\nactual:   negotiation completed")
            }
        },
        ConformanceCase(
            "seeking/read-below-highwater-enters-error-state",
            "In write mode a read below the highwater fails with EIO and so do later requests",
            .reference("client tried to read, but the streaming plugin is being used in write mode (write= parameter)"), size: streamSize,
            role: .endsStream(order: 1)
        ) { context in
            try context.runStream([[
                .write(offset: 0, length: 8192, fua: false), .read(offset: 0, length: 512),
                .write(offset: 8192, length: 512, fua: false),
            ]])
        },
        ConformanceCase(
            "seeking/backward-read-enters-error-state",
            "In read mode a read below the highwater fails with EIO and so do later reads",
            .reference("client tried to seek backwards and read: the streaming plugin does not support this"), mode: .read, size: streamSize, role: .endsStream(order: 1)
        ) { context in
            try context.runStream([[.read(offset: 0, length: 8192), .read(offset: 4096, length: 512), .read(offset: 8192, length: 512)]],
                                  pipeLength: 8192 + 4096)
        },
        ConformanceCase(
            "seeking/random-write-workload",
            "A seeded random write workload gives exactly the replies and pipe bytes the stream model predicts",
            .manPage("If the NBD client opens the NBD port and writes from the start to the end of the disk without seeking backwards, then you can turn that into a stream of data on a local pipe or socket"), size: streamSize
        ) { context in
            var generator = RandomWorkload(seed: context.seed)
            let commands = RandomWorkload.Commands(try context.advertised())
            // On a shared stream the workload must leave the stream usable for the cases after it.
            try context.runStream([generator.writeMode(count: 300, exportSize: streamSize, advertised: commands, mayEnd: context.isFreshServer)])
        },
        ConformanceCase(
            "seeking/random-read-workload",
            "A seeded random read workload gives exactly the replies and bytes the stream model predicts",
            .manPage("If the NBD client opens the NBD port and reads from the start to the end of the disk without seeking backwards, then you can turn a local pipe or socket into a stream of data for that client"), mode: .read, size: streamSize
        ) { context in
            var generator = RandomWorkload(seed: context.seed)
            try context.runStream([generator.readMode(count: 200, exportSize: streamSize, mayEnd: context.isFreshServer)], pipeLength: streamSize)
        },
    ]
}
