import Logging
import NBDProtocol
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

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

/// Listens, hands each client its own thread, and stops on a signal, when the
/// captive command exits, or when the single `-s` client leaves.
public final class Server: Sendable {
    let plugin: any NBDPlugin
    let options: ServerOptions
    let logger: Logger
    private let connections = Atomic<Int>(0)

    public init(plugin: any NBDPlugin, options: ServerOptions, logger: Logger) {
        self.plugin = plugin
        self.options = options
        self.logger = logger
    }

    /// Runs until stopped; returns the process exit status.
    public func run() throws -> Int32 {
        let stop = try StopSignal()
        stop.installHandlers()
        if options.exitWithParent { try Daemon.exitWithParent() }

        if options.listen == .single {
            let channel = Channel(input: FileDescriptor(rawValue: STDIN_FILENO), output: FileDescriptor(rawValue: STDOUT_FILENO))
            detachThread { [self] in
                serve(channel, peer: "stdin")
                stop.stop(exitStatus: 0)
            }
            return finish(waitForStop(stop, listeners: []), cleanup: {})
        }

        let (listeners, endpoint, cleanup) = try listen()
        if !options.staysInForeground { try Daemon.detach() }
        if let pidFile = options.pidFile { try Daemon.writePIDFile(pidFile) }
        var child: pid_t?
        if let captive = options.captive {
            let pid = try captive.spawn(extraEnvironment: CaptiveCommand.environment(for: endpoint, exportName: options.configuration.exportName))
            child = pid
            detachThread { stop.stop(exitStatus: CaptiveCommand.wait(for: pid)) }
        }
        let reason = waitForStop(stop, listeners: listeners)
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

    /// Accepts clients until the stop pipe wakes.
    private func waitForStop(_ stop: StopSignal, listeners: [FileDescriptor]) -> StopReason {
        var polled = ([stop.readDescriptor] + listeners).map { pollfd(fd: $0.rawValue, events: Int16(POLLIN), revents: 0) }
        while true {
            guard poll(&polled, nfds_t(polled.count), -1) > 0 else { continue }
            if polled[0].revents != 0 {
                var byte: UInt8 = 0
                _ = read(stop.readDescriptor.rawValue, &byte, 1)
                return stop.reason(afterWakeByte: byte)
            }
            for (index, listener) in listeners.enumerated() where polled[index + 1].revents != 0 {
                accept(from: listener)
            }
        }
    }

    private func accept(from listener: FileDescriptor) {
        let client: FileDescriptor
        do { client = try Socket.accept(listener) } catch {
            logger.error("accept: \(error)")
            return
        }
        let limit = options.configuration.maximumConnections
        guard connections.add(1, ordering: .relaxed).newValue <= limit else {
            connections.subtract(1, ordering: .relaxed)
            logger.warning("refusing a client: \(limit) connections are already open")
            try? client.close()
            return
        }
        detachThread { [self] in
            serve(Channel(socket: client), peer: "client \(client.rawValue)")
            try? client.close()
            connections.subtract(1, ordering: .relaxed)
        }
    }

    /// One client from greeting to disconnect.
    private func serve(_ channel: Channel, peer: String) {
        let logger = self.logger
        var handshake = channel
        if options.configuration.handshakeTimeout > 0 {
            handshake.deadline = .now + .seconds(options.configuration.handshakeTimeout)
        }
        var negotiation = Negotiation(channel: handshake, plugin: plugin, configuration: options.configuration, logger: logger)
        do {
            switch try negotiation.run() {
            case let .transmission(session):
                // Between requests a client may rightly stay silent for as long as it likes.
                channel.clearReadTimeout()
                defer { plugin.closeConnection() }
                try Transmission(channel: channel, plugin: plugin, session: session, configuration: options.configuration, logger: logger).run()
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
