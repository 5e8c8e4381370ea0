/// Every case, in the order a run reports them.
public enum Catalog {
    public static let all: [ConformanceCase] =
        NegotiationCases.all + SequentialCases.all + SeekingCases.all + OversizedCases.all + WindowCases.all

    public static let groups = ["negotiation", "sequential", "seeking", "oversized", "windows"]
}
