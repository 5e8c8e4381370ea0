import ArgumentParser

/// The benchmark's own tools: one libnbd client for every NBD contestant, so differences come from the servers,
/// and the two ends of a bare pipe, so the pipe's own limit can be measured with the same readers and writers.
@main
struct NBDBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd-bench",
        abstract: "Stream through an NBD server, or through a bare pipe, and print one line of figures.",
        discussion: """
            Every subcommand prints one line of key=value pairs on standard output, e.g.
              write bytes=1073741824 seconds=0.812 requests=1024 mib_per_s=1261.1 requests_per_s=1261.1
            Sizes take a suffix K, M, G or T (powers of 1024).
            """,
        subcommands: [WriteCommand.self, ReadCommand.self, DrainCommand.self, FeedCommand.self]
    )
}
