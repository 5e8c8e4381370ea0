import NBDClient

/// nbd-streaming's out-of-order windows (`reorder=`, `retain=`; docs and README): not part of the nbdkit contract,
/// so these run only under `--windows`, each on a server started with its window.
enum WindowCases {
    private static let kib: UInt64 = 1024
    private static let mib = Requests.mib
    private static let streamSize: UInt64 = 64 * Requests.mib

    static let all: [ConformanceCase] = [
        ConformanceCase(
            "windows/reorder-permuted-writes-stream-exactly",
            "Writes that arrive out of order within reorder= come out of the pipe in order, exactly",
            .project("README.md", "whatever becomes contiguous is streamed at once"), size: streamSize, windows: StreamWindows(reorder: mib)
        ) { context in
            // Pairs swapped, then a run of four reversed: every write but the first of each group arrives early.
            let order: [UInt64] = [1, 0, 3, 2, 5, 4, 9, 8, 7, 6]
            try context.runStream([order.map { .write(offset: $0 * 64 * kib, length: 64 * kib, fua: false) }], depth: 4)
        },
        ConformanceCase(
            "windows/reorder-flush-fills-held-gaps",
            "FLUSH zero-fills the gaps before held writes, so a later write into such a gap is a backward write",
            .project("README.md", "A gap is zero-filled only when it must be: on FLUSH or FUA"), size: streamSize,
            windows: StreamWindows(reorder: mib)
        ) { context in
            // The write at 0 comes late but is absorbed; the one at 32 KiB comes after the FLUSH filled its gap.
            try context.runStream([[
                .write(offset: 64 * kib, length: 64 * kib, fua: false), .write(offset: 0, length: 4 * kib, fua: false), .flush,
                .write(offset: 32 * kib, length: 4 * kib, fua: false),
            ]])
        },
        ConformanceCase(
            "windows/reorder-fua-fills-held-gaps",
            "A write with FUA streams everything held before it is answered",
            .project("README.md", "A gap is zero-filled only when it must be: on FLUSH or FUA"), size: streamSize,
            windows: StreamWindows(reorder: mib)
        ) { context in
            try context.runStream([[
                .write(offset: 128 * kib, length: 64 * kib, fua: false), .write(offset: 0, length: 4 * kib, fua: false),
                .write(offset: 256 * kib, length: 64 * kib, fua: true), .write(offset: 64 * kib, length: 4 * kib, fua: false),
            ]])
        },
        ConformanceCase(
            "windows/reorder-full-window-fills-oldest-gap",
            "When held writes exceed reorder=, the oldest gap is zero-filled and the data behind it streamed",
            .project("README.md", "when the window is full (then the oldest gap is filled"), size: streamSize, windows: StreamWindows(reorder: 256 * kib)
        ) { context in
            try context.runStream([[
                .write(offset: 512 * kib, length: 64 * kib, fua: false),
                .write(offset: mib, length: 256 * kib, fua: false),  // 320 KiB held: the gap below 512 KiB gives way
                .write(offset: 0, length: 4 * kib, fua: false),  // into that gap: backward, the error state
            ]])
        },
        ConformanceCase(
            "windows/reorder-connections-share-one-window",
            "With reorder=, multi-conn is advertised and writes from several open connections make one stream",
            .project("README.md", "With either window the export advertises multi-conn: every connection shares one stream"), size: streamSize,
            windows: StreamWindows(reorder: mib)
        ) { context in
            let probe = try context.connect()
            let multiConn = try probe.canMultiConn()
            try? probe.shutdown()
            try expect(multiConn, "multi-conn is not advertised", expected: "NBD_FLAG_CAN_MULTI_CONN", actual: "not set")
            try context.runStream([
                [.write(offset: 64 * kib, length: 64 * kib, fua: false)],
                [.write(offset: 192 * kib, length: 64 * kib, fua: false)],
                [.write(offset: 0, length: 64 * kib, fua: false), .write(offset: 128 * kib, length: 64 * kib, fua: false)],
            ], concurrent: true)
        },
        ConformanceCase(
            "windows/retain-serves-recent-and-skipped-bytes",
            "With retain=, reads slightly behind the highwater, or over bytes a forward read skipped, succeed",
            .project("README.md", "the last SIZE bytes read from the pipe, including bytes a forward read skipped, stay available to later reads"), mode: .read, size: streamSize, windows: StreamWindows(retain: mib)
        ) { context in
            try context.runStream([[
                .read(offset: 64 * kib, length: 64 * kib), .read(offset: 0, length: 64 * kib),
                .read(offset: 96 * kib, length: 64 * kib), .read(offset: 160 * kib, length: 64 * kib),
            ]], depth: 2)
        },
        ConformanceCase(
            "windows/retain-reads-beyond-the-window-fail",
            "A read further back than retain= fails with EIO and the error state",
            .project("README.md", "the last SIZE bytes read from the pipe, including bytes a forward read skipped, stay available to later reads"), mode: .read, size: streamSize, windows: StreamWindows(retain: 64 * kib)
        ) { context in
            try context.runStream([[
                .read(offset: 0, length: 256 * kib), .read(offset: 128 * kib, length: 4 * kib), .read(offset: 256 * kib, length: 4 * kib),
            ]])
        },
    ]
}
