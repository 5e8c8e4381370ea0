import Glibc
import Logging
import SystemIO
import SystemPackage

/// Start-up choices of the server process, from nbdkit's command line.
public struct ServerOptions: Sendable {
    public var listen: ListenMode = .tcp(host: nil, port: 10809)
    public var foreground = false
    public var pidFile: String?
    public var exitWithParent = false
    public var captive: CaptiveCommand?
    /// Permissions of a Unix socket the server creates.
    public var socketMode: mode_t = 0o600
    public var configuration = ServerConfiguration()

    public init() {}

    /// nbdkit stays in the foreground whenever something waits on it.
    var staysInForeground: Bool {
        foreground || captive != nil || exitWithParent || listen == .single
    }
}

/// Wraps each connection's channel; the identity in the real server. The
/// test-only faulty build misbehaves on the wire through it, from outside
/// the server's own types.
public typealias ChannelDecorator = @Sendable (any ByteChannel) -> any ByteChannel

/// Listens, hands each client its own thread, and stops on a signal, when the
/// captive command exits, or when the single `-s` client leaves.
public final class Server: Sendable {
    let plugin: any NBDPlugin
    let options: ServerOptions
    let logger: Logger
    private let decorateChannel: ChannelDecorator
    private let slots: ConnectionSlots

    public init(plugin: any NBDPlugin, options: ServerOptions, logger: Logger, decorateChannel: @escaping ChannelDecorator = { $0 }) {
        self.plugin = plugin
        self.options = options
        self.logger = logger
        self.decorateChannel = decorateChannel
        slots = ConnectionSlots(handshakes: options.configuration.maximumHandshakes, transmissions: options.configuration.maximumConnections)
    }

    /// Runs until stopped; returns the process exit status.
    public func run() throws -> Int32 {
        let stop = try StopSignal()
        stop.installHandlers()
        if options.exitWithParent { try Daemon.exitWithParent() }

        let freed = try WakeUp()
        if options.listen == .single {
            let channel = PlainChannel(input: FileDescriptor(rawValue: STDIN_FILENO), output: FileDescriptor(rawValue: STDOUT_FILENO))
            let (slot, _) = slots.admit(channel.input)
            try detachThread { [self] in
                serve(channel, peer: "stdin", slot: slot)
                stop.stop(exitStatus: 0)
            }
            return finish(acceptLoop(stop, listeners: [], freed: freed).run(), cleanup: {})
        }

        let (listeners, endpoint, cleanup) = try listen()
        // The loop retries accept without waiting for readiness while resources are short: it must never block there.
        for listener in listeners { try listener.setBlocking(false) }
        if !options.staysInForeground { try Daemon.detach() }
        if let pidFile = options.pidFile { try Daemon.writePIDFile(pidFile) }
        var child: pid_t?
        if let captive = options.captive {
            let variables = CaptiveCommand.environment(for: endpoint, exportName: options.configuration.exportName, tls: options.configuration.tls)
            let pid = try captive.spawn(extraEnvironment: variables)
            child = pid
            try detachThread { stop.stop(exitStatus: CaptiveCommand.wait(for: pid)) }
        }
        let reason = acceptLoop(stop, listeners: listeners, freed: freed).run()
        // Stopped by a signal: the captive command goes too, as it cannot outlive its server usefully.
        if let child, case .signal = reason { kill(child, SIGTERM) }
        for listener in listeners { try? listener.close() }
        return finish(reason, cleanup: cleanup)
    }

    /// A stream left incomplete turns a clean exit into a failure, so a script
    /// that only checks the status still learns its output is short. A signal
    /// stops at once; otherwise a request still finishing gets a little time.
    private func finish(_ reason: StopReason, cleanup: () -> Void) -> Int32 {
        let status = reason.exitStatus
        let incomplete = plugin.shutdown(patience: reason == .requested(status) ? .seconds(30) : .zero)
        cleanup()
        guard let incomplete else { return status }
        logger.error("the stream is incomplete: \(incomplete.message)")
        return status == 0 ? 1 : status
    }

    private func listen() throws -> ([FileDescriptor], Endpoint, () -> Void) {
        switch options.listen {
        case let .unix(path):
            let fd = try Socket.listenUnix(path: path, mode: options.socketMode)
            return ([fd], .unix(path: path), { unlink(path) })
        case .privateUnix:
            let directory = try Daemon.makePrivateDirectory()
            let path = directory + "/socket"
            let fd = try Socket.listenUnix(path: path, mode: options.socketMode)
            return ([fd], .unix(path: path), {
                unlink(path)
                rmdir(directory)
            })
        case let .tcp(host, port):
            return (try Socket.listenTCP(host: host, port: port), .tcp(host: host, port: port), {})
        case .single:
            preconditionFailure("-s has no listener")
        }
    }

    /// Each accepted client gets its own thread, which gives up its slot and
    /// closes its descriptor at the end, then tells the loop a descriptor is free.
    private func acceptLoop(_ stop: StopSignal, listeners: [FileDescriptor], freed: WakeUp) -> AcceptLoop {
        AcceptLoop(stop: stop, listeners: listeners, freed: freed, slots: slots, logger: logger) { [self] client, slot throws(Errno) in
            try detachThread { [self] in
                serve(PlainChannel(input: client, output: client), peer: "client \(client.rawValue)", slot: slot)
                slots.leaveHandshake(slot)
                slot.closeSocket()
                freed.signal()
            }
        }
    }

    /// One client from greeting to disconnect.
    private func serve(_ channel: PlainChannel, peer: String, slot: HandshakeSlot) {
        let logger = self.logger
        let connection = Connection(channel: decorateChannel(channel))
        connection.handshakeSlot = slot
        if options.configuration.handshakeTimeout > 0 {
            connection.deadline = slot.connected + .seconds(options.configuration.handshakeTimeout)
        }
        let admission = Admission(plugin: plugin, slots: slots, slot: slot)
        var negotiation = Negotiation(connection: connection, admission: admission, configuration: options.configuration, logger: logger,
                                      decorateChannel: decorateChannel)
        defer { connection.channel.finish() }
        do {
            switch try negotiation.run() {
            case let .transmission(session):
                connection.deadline = nil
                connection.handshakeSlot = nil
                defer { admission.close() }
                try Transmission(connection: connection, plugin: plugin, session: session, configuration: options.configuration, logger: logger).run()
            case let .closed(ending):
                logger.log(level: ending == .clientAborted ? .debug : .error, "\(peer): \(ending)")
            }
        } catch is ConnectionClosed {
            logger.debug("\(peer) disconnected")
        } catch Errno.brokenPipe, Errno.connectionReset {
            // A client that leaves before reading its reply (a probe, a killed client) is not a fault of ours.
            logger.debug("\(peer) went away")
        } catch Errno.resourceTemporarilyUnavailable {
            logger.error("\(peer): no complete handshake within \(options.configuration.handshakeTimeout) s, dropped")
        } catch {
            logger.error("\(peer): \(error)")
        }
    }
}
