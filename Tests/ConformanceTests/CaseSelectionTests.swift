import Testing
@testable import NBDConformance

/// Selection is where a typo could turn a red run green, so its rules are pinned down.
struct CaseSelectionTests {
    private func select(_ filters: [String], excluding excludes: [String] = [], strict: Bool = false, long: Bool = false) throws -> CaseSelection {
        try CaseSelection(catalog: Catalog.cases(for: .streaming), filters: filters, excludes: excludes, strict: strict, long: long)
    }

    @Test func defaultRunHasTheMustTierWithoutLongCases() throws {
        let selection = try select([])
        #expect(selection.entries.allSatisfy { $0.testCase.level == .must && !$0.testCase.isLong && !$0.isExcluded })
        #expect(selection.entries.count == Catalog.cases(for: .streaming).filter(\.runsByDefault).count)
    }

    @Test func globsMatchAcrossTheSlash() throws {
        #expect(try select(["seeking*"]).entries.allSatisfy { $0.testCase.group == "seeking" })
        #expect(try select(["*/flush"]).entries.map(\.testCase.id) == ["sequential/flush"])
    }

    @Test func excludedCasesStaySelectedButMarked() throws {
        let selection = try select(["sequential/*"], excluding: ["*in-flight"])
        let excluded = selection.entries.filter(\.isExcluded).map(\.testCase.id)
        #expect(excluded == ["sequential/write-16-in-flight", "sequential/write-64-in-flight", "sequential/read-16-in-flight", "sequential/read-64-in-flight"])
    }

    @Test func filterMatchingNothingIsAUsageError() {
        #expect(throws: UsageError.self) { try select(["negotiation/no-such-case"]) }
    }

    @Test func shouldCasesNeedStrict() throws {
        let error = try #require(throws: UsageError.self) { try select(["negotiation/structured-replies"]) }
        #expect(error.message.contains("--strict"))
        #expect(try select(["negotiation/structured-replies"], strict: true).entries.count == 1)
    }

    @Test func excludingEverythingIsAUsageError() {
        #expect(throws: UsageError.self) { try select([], excluding: ["*"]) }
    }
}
