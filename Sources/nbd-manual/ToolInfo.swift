/// The part of swift-argument-parser's `--experimental-dump-help` document
/// (ArgumentParserToolInfo's ToolInfoV0, serialization version 0) that a manual
/// page needs. The library keeps that module internal, so the shape is restated here.
struct ToolInfo: Decodable {
    let serializationVersion: Int
    let command: CommandInfo
}

struct CommandInfo: Decodable {
    let commandName: String
    let abstract: String?
    let discussion: String?
    let arguments: [ArgumentInfo]?
}

struct ArgumentInfo: Decodable {
    enum Kind: String, Decodable { case positional, option, flag }

    struct Name: Decodable {
        enum Kind: String, Decodable { case long, short, longWithSingleDash }
        let kind: Kind
        let name: String
    }

    let kind: Kind
    let shouldDisplay: Bool
    let isOptional: Bool
    let isRepeating: Bool
    let names: [Name]?
    let valueName: String?
    let defaultValue: String?
    let allValues: [String]?
    let abstract: String?
    let discussion: String?

    var shortNames: [String] { (names ?? []).filter { $0.kind == .short }.map(\.name) }
    var longNames: [String] { (names ?? []).filter { $0.kind != .short }.map(\.name) }
    var isHelpOrVersion: Bool { longNames.contains("help") || longNames.contains("version") }
}
