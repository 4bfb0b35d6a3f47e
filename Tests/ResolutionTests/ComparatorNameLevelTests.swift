import Resolution
import Testing

@Suite("Comparators: name levels")
struct ComparatorNameLevelTests {
    @Test(
        "given names",
        arguments: [
            ("Oliver", "OLIVER", NameLevel.exact),
            ("Zoë", "Zoe", .exact),
            ("Mary-Ann", "Maryann", .exact),
            ("Olly", "Oliver", .nickname),
            ("Charlie", "Charlotte", .nickname),
            ("Jon", "Jonathan", .nickname),
            ("J", "John", .initial),
            ("j.", "Jack", .initial),
            ("J", "Mary", .different),
            ("Kayleigh", "Kayliegh", .jaroWinkler95),  // 0.975
            ("Jayden", "Jaydon", .jaroWinkler88),  // 0.933
            ("Charles", "Charlotte", .jaroWinkler88),  // not nicknames of each other, but JW 0.905
            ("Katie", "Catie", .editDistance1or2),  // JW 0.867, one substitution, 5 letters
            ("Eva", "Ava", .different),  // JW 0.778; 3 letters: no edit-distance level
            ("Harry", "Harriet", .different),  // JW 0.874, distance 3
            ("Isla", "Ella", .different),  // JW 0.667, distance 2 with 4 letters
            ("Lewis", "Louis", .different),  // JW 0.76, distance 2 with 5 letters
        ])
    func givenNames(_ a: String, _ b: String, _ expected: NameLevel) {
        var scratch = NameScratch()
        let table = NicknameTable.standard
        #expect(
            NameComparison.compareGivenNames(NameKey(a), NameKey(b), nicknames: table, scratch: &scratch) == expected)
        #expect(
            NameComparison.compareGivenNames(NameKey(b), NameKey(a), nicknames: table, scratch: &scratch) == expected)
    }

    @Test func givenNamesMissing() {
        var scratch = NameScratch()
        let table = NicknameTable.standard
        #expect(NameComparison.compareGivenNames(nil, NameKey("John"), nicknames: table, scratch: &scratch) == .missing)
        #expect(NameComparison.compareGivenNames(NameKey("John"), nil, nicknames: table, scratch: &scratch) == .missing)
        #expect(
            NameComparison.compareGivenNames(NameKey("--"), NameKey("John"), nicknames: table, scratch: &scratch)
                == .missing)
    }

    @Test(
        "family names",
        arguments: [
            ("McDonald", "Mc Donald", FamilyNameLevel.exact),
            ("O'Brien", "OBRIEN", .exact),
            ("Smith-Jones", "Smith Jones", .exact),
            ("Smith-Jones", "Jones", .hyphenPart),
            ("Jones", "Smith Jones", .hyphenPart),
            ("Smith-Jones", "Jones-Smith", .hyphenPart),
            ("van der Berg", "Berg", .hyphenPart),
            ("De Souza", "DeSouza-Smith", .hyphenPart),
            ("Smith-Jones", "Brown-Jones", .different),  // a shared part is not containment; JW 0.567
            ("Thompson", "Thomson", .jaroWinkler95),  // 0.975
            ("Matthews", "Mathews", .jaroWinkler95),  // 0.971
            ("Smith", "Smyth", .jaroWinkler88),  // 0.893
            ("Taylor", "Tailor", .jaroWinkler88),  // 0.911
            ("Gray", "Grey", .editDistance1or2),  // JW 0.867, distance 1 with 4 letters
            ("Kowalski", "Cowalsky", .editDistance1or2),  // JW 0.833, distance 2 with 8 letters
            ("Brown", "Braun", .different),  // JW 0.787, distance 2 with 5 letters
            ("Smith", "Jones", .different),
        ])
    func familyNames(_ a: String, _ b: String, _ expected: FamilyNameLevel) {
        var scratch = NameScratch()
        #expect(NameComparison.compareFamilyNames(NameKey(a), NameKey(b), scratch: &scratch) == expected)
        #expect(NameComparison.compareFamilyNames(NameKey(b), NameKey(a), scratch: &scratch) == expected)
    }

    @Test func familyNamesMissing() {
        var scratch = NameScratch()
        #expect(NameComparison.compareFamilyNames(nil, NameKey("Smith"), scratch: &scratch) == .missing)
        #expect(NameComparison.compareFamilyNames(NameKey("Smith"), nil, scratch: &scratch) == .missing)
    }

    @Test func editDistanceAllowance() {
        #expect((0...3).allSatisfy { NameComparison.editDistanceAllowance(shorterLength: $0) == 0 })
        #expect((4...7).allSatisfy { NameComparison.editDistanceAllowance(shorterLength: $0) == 1 })
        #expect((8...40).allSatisfy { NameComparison.editDistanceAllowance(shorterLength: $0) == 2 })
    }

    @Test func levelRawValuesAreStable() {
        #expect(NameLevel.allCases.map(\.rawValue) == Array(0...7))
        #expect(FamilyNameLevel.allCases.map(\.rawValue) == Array(0...6))
        #expect(DateLevel.allCases.map(\.rawValue) == Array(0...5))
        #expect(PostcodeLevel.allCases.map(\.rawValue) == Array(0...4))
    }
}
