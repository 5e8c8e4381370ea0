import ArgumentParser
import Glibc
import Logging
import NBDServer
import StreamingPlugin
import TLS

/// The executables' one entry point. The test-only faulty build wraps the
/// plugin and each connection's channel, and may weaken the TLS mode, through
/// the hooks, so its faults live outside the production types; the real
/// server passes everything through.
public enum StreamingMain {
    public static func run(decoratePlugin: (any NBDPlugin) -> any NBDPlugin = { $0 },
                           decorateChannel: @escaping ChannelDecorator = { $0 },
                           decorateTLS: (TLSMode) -> TLSMode = { $0 }) -> Never {
        let command: StreamingCommand
        do {
            command = try StreamingCommand.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            let exitCode = StreamingCommand.exitCode(for: error)
            guard exitCode != .success else { StreamingCommand.exit(withError: error) }
            // nbdkit exits 1 on every usage error; scripts test for that.
            fail(StreamingCommand.fullMessage(for: error) + "\nTry 'nbd-streaming --help'.")
        }
        if command.dumpPlugin {
            print("path=\(CommandLine.arguments[0])\n" + StreamingCommand.dumpedProperties)
            exit(0)
        }
        if command.readOnly { fail("you cannot use the -r option with the streaming plugin") }

        let logger = Logger(label: "nbd-streaming") { label in
            RateLimitedLogHandler(wrapping: StandardErrorLogHandler(label: label, logLevel: command.verbose ? .debug : .notice))
        }
        do {
            // Credentials are checked before anything is created or listens.
            let tls = decorateTLS(try command.tlsMode(logger: logger))
            command.warnAboutPlaintext(tls, logger: logger)
            let configuration = try StreamingConfiguration.parse(command.parameters, currentDirectory: currentDirectory())
            let plugin = decoratePlugin(try StreamingPlugin(configuration: configuration, logger: logger))
            let server = Server(plugin: plugin, options: command.serverOptions(tls: tls), logger: logger, decorateChannel: decorateChannel)
            exit(try server.run())
        } catch {
            fail("\(error)")
        }
    }

    static func fail(_ message: String) -> Never {
        writeToStandardError("nbd-streaming: error: \(message)\n")
        exit(1)
    }
}
