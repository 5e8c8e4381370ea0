/// The plugin's `key=value` parameters, checked as nbdkit's streaming plugin checks them.
public struct StreamingConfiguration: Equatable, Sendable {
    public enum Mode: String, Sendable {
        /// Client writes come out of the pipe.
        case write
        /// The pipe feeds client reads.
        case read
    }

    /// qemu's NBD driver rejects larger disks, so nbdkit settled on 2^63 - 2^30.
    public static let defaultSize: UInt64 = 1 << 63 - 1 << 30

    public var mode: Mode
    /// Absolute, so that it survives the daemon's change of directory.
    public var path: String
    public var size: UInt64

    public init(mode: Mode, path: String, size: UInt64 = defaultSize) {
        self.mode = mode
        self.path = path
        self.size = size
    }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Builds the configuration from the command line's parameters, in order.
    /// `pipe=` is nbdkit's older spelling of `write=`.
    public static func parse(_ parameters: [String], currentDirectory: String) throws(Invalid) -> StreamingConfiguration {
        var endpoint: (Mode, String)?
        var size = defaultSize
        for parameter in parameters {
            guard let equals = parameter.firstIndex(of: "=") else {
                throw Invalid(description: "expected key=value, got '\(parameter)'")
            }
            let key = String(parameter[..<equals])
            let value = String(parameter[parameter.index(after: equals)...])
            switch key {
            case "read", "write", "pipe":
                guard endpoint == nil else { throw Invalid(description: "exactly one of read= or write= is allowed") }
                guard !value.isEmpty else { throw Invalid(description: "\(key)= needs a path") }
                endpoint = (key == "read" ? .read : .write, absolute(value, in: currentDirectory))
            case "size":
                do { size = try SizeParser.parse(value) } catch { throw Invalid(description: error.description) }
            default:
                throw Invalid(description: "unknown parameter '\(key)'")
            }
        }
        guard let (mode, path) = endpoint else {
            throw Invalid(description: "you must supply either read=<PIPE> or write=<PIPE>")
        }
        return StreamingConfiguration(mode: mode, path: path, size: size)
    }

    public static func absolute(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : (directory.hasSuffix("/") ? directory : directory + "/") + path
    }
}
