import Testing

@testable import Resolution

/// The model's u for an exact name agreement (Σ f²) must not depend on the order a dictionary
/// happens to hold the names in: that order differs in every process, and the weights a run stores
/// should be the same bit for bit when the records are.
@Suite struct NameFrequencyTests {
    /// 2,000 names with uneven counts, as a county's first names are.
    static let counts: [(UInt64, Int)] = (0..<2_000).map { index in
        (UInt64(index) &* 0x9E37_79B9_7F4A_7C15, 1 + (index * 7_919) % 997)
    }

    static func frequencies(_ counts: [(UInt64, Int)], capacity: Int) -> NameFrequencies {
        var frequencies = NameFrequencies()
        frequencies.given.reserveCapacity(capacity)
        frequencies.family.reserveCapacity(capacity)
        for (fingerprint, count) in counts {
            frequencies.given[fingerprint] = count
            frequencies.family[fingerprint] = count
        }
        frequencies.total = counts.reduce(0) { $0 + $1.1 }
        return frequencies
    }

    @Test("average u is the exact Σ count² / total², whatever order the names are held in")
    func averageUIndependentOfOrder() {
        let held = Self.frequencies(Self.counts, capacity: 0)
        let heldOtherwise = Self.frequencies(Self.counts.reversed(), capacity: 65_536)
        let total = Double(held.total)
        let exact = Double(Self.counts.reduce(0) { $0 + $1.1 * $1.1 }) / (total * total)
        #expect(Array(held.given.keys) != Array(heldOtherwise.given.keys))
        #expect(held.averageU(given: true) == exact)
        #expect(heldOtherwise.averageU(given: true) == exact)
        #expect(held.averageU(given: false) == heldOtherwise.averageU(given: false))
    }
}
