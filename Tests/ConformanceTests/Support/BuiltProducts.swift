import Foundation

/// Paths of the package and the binaries `swift build` leaves in .build/debug, found from this file's location.
enum BuiltProducts {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var binDirectory: String { packageRoot + "/.build/debug" }
    static var conformance: String { binDirectory + "/nbd-conformance" }
    static var streamingServer: String { binDirectory + "/nbd-streaming" }
    static var faultyServer: String { binDirectory + "/nbd-streaming-faulty" }
    static var faultProxy: String { binDirectory + "/nbd-fault-proxy" }
    static var junitSchema: String { packageRoot + "/fixtures/junit.xsd" }

    /// Fails the calling test, with the reason, when a binary it needs is missing: never a silent skip.
    static func require(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MissingTool(path: path)
        }
        return path
    }

    /// A program from PATH, e.g. xmllint or nbdkit.
    static func tool(_ name: String) throws -> String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let found = directories.map({ "\($0)/\(name)" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw MissingTool(path: name)
        }
        return found
    }
}

struct MissingTool: Error, CustomStringConvertible {
    let path: String
    var description: String { "required tool missing: \(path) (build it or install its package; see README)" }
}
