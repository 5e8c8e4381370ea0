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
    /// Write mode: bytes of out-of-order writes held until what precedes them arrives.
    public var reorder: UInt64
    /// Read mode: bytes already read that stay available to later reads.
    public var retain: UInt64

    public init(mode: Mode, path: String, size: UInt64 = defaultSize, reorder: UInt64 = 0, retain: UInt64 = 0) {
        self.mode = mode
        self.path = path
        self.size = size
        self.reorder = reorder
        self.retain = retain
    }

    /// Either window makes out-of-order access safe, and so several connections.
    public var hasWindow: Bool { reorder > 0 || retain > 0 }

    /// The retention ring is allocated whole; keep it addressable.
    static let maximumRetain: UInt64 = 1 << 40

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Builds the configuration from the command line's parameters, in order.
    /// `pipe=` is nbdkit's older spelling of `write=`.
    public static func parse(_ parameters: [String], currentDirectory: String) throws(Invalid) -> StreamingConfiguration {
        var endpoint: (Mode, String)?
        var size = defaultSize
        var windows: [String: UInt64] = [:]
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
            case "reorder", "retain":
                do { windows[key] = try SizeParser.parse(value) } catch { throw Invalid(description: "\(key)=: \(error.description)") }
            default:
                throw Invalid(description: "unknown parameter '\(key)'")
            }
        }
        guard let (mode, path) = endpoint else {
            throw Invalid(description: "you must supply either read=<PIPE> or write=<PIPE>")
        }
        if mode == .read, windows["reorder"] ?? 0 > 0 { throw Invalid(description: "reorder= applies to write mode; read mode has retain=") }
        if mode == .write, windows["retain"] ?? 0 > 0 { throw Invalid(description: "retain= applies to read mode; write mode has reorder=") }
        if windows["retain"] ?? 0 > maximumRetain { throw Invalid(description: "retain= is limited to \(maximumRetain) bytes") }
        return StreamingConfiguration(mode: mode, path: path, size: size, reorder: windows["reorder"] ?? 0, retain: windows["retain"] ?? 0)
    }

    /// `path` made absolute against `directory`; a leading `./` is dropped so
    /// log lines name the file the way a person would.
    public static func absolute(_ path: String, in directory: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        return (directory.hasSuffix("/") ? directory : directory + "/") + relative
    }
}
