import NBDClient

extension CaseContext {
    /// Asks the server what it advertises, on a connection of its own.
    func advertised() throws -> Advertised {
        let connection = try connect { try $0.setRequestBlockSize(true) }
        defer { try? connection.shutdown() }
        return try Advertised(connection)
    }

    /// Skips the case when the server does not advertise the command or flag it needs.
    func requireAdvertised(_ flag: String, _ feature: KeyPath<Advertised, Bool>) throws {
        guard try advertised()[keyPath: feature] else { throw CaseSkip("the server does not advertise \(flag)") }
    }
}
