/// Every case, in the order a run reports them.
public enum Catalog {
    public static let all: [ConformanceCase] =
        NegotiationCases.all + SequentialCases.all + SeekingCases.all + OversizedCases.all + WindowCases.all + TLSCases.all + DiskCases.all

    /// The cases of one profile.
    public static func cases(for profile: Profile) -> [ConformanceCase] {
        all.filter { $0.profiles.contains(profile) }
    }

    public static let groups = ["negotiation", "sequential", "seeking", "oversized", "windows", "tls", "disk"]
}
