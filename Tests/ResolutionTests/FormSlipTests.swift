import Testing

@testable import Resolution

/// A slip of another form of the name: Cahrlie for Charlotte, who is known as Charlie. The slip is
/// one edit from a form of the other name, and written as a first name far less often than that form
/// is used; a name of its own one edit from a form (Joan, John for Jonathan) stays a different name.
@Suite("Slips of another form of the name")
struct FormSlipTests {
    static func frequencies(_ counts: [String: Int]) -> NameFrequencies {
        var frequencies = NameFrequencies()
        for (name, count) in counts { frequencies.given[NameKey(name)!.fingerprint] = count }
        return frequencies
    }

    static func level(_ x: String, _ y: String, _ frequencies: NameFrequencies) -> NameLevel {
        var comparer = RecordComparer(frequencies: frequencies)
        return comparer.givenLevel(NameKey(x), NameKey(y))
    }

    @Test("a rare spelling one edit from a common form of the name is an edit, and a typo to the twin rule")
    func slipOfAForm() {
        let frequencies = Self.frequencies(["Charlie": 40, "Charlotte": 30, "Cahrlie": 1])
        #expect(Self.level("Cahrlie", "Charlotte", frequencies) == .editDistance1or2)
        #expect(Self.level("Charlotte", "Cahrlie", frequencies) == .editDistance1or2)
        let clusterer = Clusterer(records: [], apart: [], nicknames: .standard, frequencies: frequencies)
        var scratch = NameScratch()
        #expect(clusterer.agreement(NameKey("Cahrlie")!, NameKey("Charlotte")!, scratch: &scratch) == .typo)
    }

    @Test("a slip of a three-letter form counts too: Liiv for Olivia known as Liv, Phi for Filip known as Phil")
    func slipOfAShortForm() {
        let frequencies = Self.frequencies(["Liv": 40, "Olivia": 60, "Liiv": 1, "Phil": 30, "Filip": 20, "Phi": 1])
        #expect(Self.level("Liiv", "Olivia", frequencies) == .editDistance1or2)
        #expect(Self.level("Filip", "Phi", frequencies) == .editDistance1or2)
        let clusterer = Clusterer(records: [], apart: [], nicknames: .standard, frequencies: frequencies)
        var scratch = NameScratch()
        #expect(clusterer.agreement(NameKey("Liiv")!, NameKey("Olivia")!, scratch: &scratch) == .typo)
        // A three-letter spelling in use as often as the form is a name of its own.
        let inUse = Self.frequencies(["Liv": 40, "Olivia": 60, "Liiv": 30])
        #expect(Self.level("Liiv", "Olivia", inUse) == .different)
    }

    @Test("a spelling as common as the form is a name of its own; with no form near it, names stay different")
    func nameOfItsOwn() {
        let common = Self.frequencies(["Charlie": 40, "Charlotte": 30, "Cahrlie": 20])
        #expect(Self.level("Cahrlie", "Charlotte", common) == .different)
        let rare = Self.frequencies(["Charlie": 40, "Charlotte": 30, "Cahrlie": 1])
        #expect(Self.level("Chrlotx", "Charles", rare) == .different)
    }
}
