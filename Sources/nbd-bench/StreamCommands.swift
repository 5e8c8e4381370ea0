import ArgumentParser
import NBDClient

/// What both NBD subcommands take: the same options, so read and write runs are described alike.
struct StreamOptions: ParsableArguments {
    @Option(help: "The server, as an NBD URI (e.g. nbd+unix:///?socket=PATH, or nbds+unix://USER@/?socket=PATH&tls-psk-file=FILE).")
    var uri: String

    @Option(help: "Bytes to stream, from offset 0 upwards.")
    var size: ByteCount

    @Option(name: .customLong("request-size"), help: "Bytes per request (the last one may be shorter).")
    var requestSize: ByteCount

    @Option(name: .customLong("in-flight"), help: "Requests kept in flight at once.")
    var inFlight: Int = 1

    func validate() throws {
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
    }

    func run(_ direction: TransferDirection) throws {
        let transfer = SequentialTransfer(
            direction: direction, size: size.value, requestSize: requestSize.value, inFlight: inFlight)
        let connection = try NBDConnection()
        let connecting = monotonicSeconds()
        try connection.connect(.uri(uri))
        let connectSeconds = monotonicSeconds() - connecting
        let result = try transfer.run(on: connection)
        try connection.shutdown()
        report(direction.rawValue, bytes: result.bytes, seconds: result.seconds, requests: result.requests, connectSeconds: connectSeconds)
    }
}

struct WriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write pattern data sequentially, keeping --in-flight requests in flight.")

    @OptionGroup var options: StreamOptions

    func run() throws { try options.run(.write) }
}

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Read sequentially, keeping --in-flight requests in flight; the data is dropped.")

    @OptionGroup var options: StreamOptions

    func run() throws { try options.run(.read) }
}
