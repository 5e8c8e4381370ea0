extension Duration {
    /// How the log gives a duration: "2.3 s", to a tenth, rounded down.
    var inSeconds: String {
        let tenths = components.seconds * 10 + components.attoseconds / 100_000_000_000_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
