/// psktool's file of pre-shared keys: one `username:HEXKEY` line per user.
/// GnuTLS reads it again at every handshake; it is parsed here so that a
/// malformed file is an error at start-up, not at the first client.
struct PSKKeyFile {
    struct Entry: Equatable {
        let username: String
        let hexKey: String
    }

    let path: String
    let entries: [Entry]

    init(path: String) throws(TLSError) {
        let file = try CredentialFile(path: path)
        guard let text = String(validating: file.bytes, as: UTF8.self) else {
            throw .invalidFile(path: path, reason: "not text: expected username:HEXKEY lines as psktool writes them")
        }
        var entries: [Entry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            guard let entry = Self.entry(line) else {
                throw .invalidFile(path: path, reason: "line \(index + 1): expected username:HEXKEY as psktool writes it")
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw .invalidFile(path: path, reason: "holds no username:HEXKEY line") }
        self.path = path
        self.entries = entries
    }

    /// The key of `username`, as GnuTLS looks it up: the first line for that name.
    func hexKey(for username: String) -> String? {
        entries.first { $0.username == username }?.hexKey
    }

    /// GnuTLS splits at the first colon; the key must be whole bytes of hex.
    private static func entry(_ line: Substring) -> Entry? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let username = line[..<colon], key = line[line.index(after: colon)...]
        guard !username.isEmpty, !key.isEmpty, key.count.isMultiple(of: 2), key.allSatisfy(\.isHexDigit) else { return nil }
        return Entry(username: String(username), hexKey: String(key))
    }
}
