import Testing

@testable import Resolution

/// A slip of a preferred name (Tikda for Tilda, Matilda's familiar form) is a slip of a name in use:
/// the twin rule's typo test counts names given as preferred names too.
@Suite("Slips of preferred names")
struct PreferredNameSlipTests {
    static func record(_ id: Int64, kind: UInt8, given: String, preferred: String? = nil) -> MatchRecord {
        MatchRecord(
            id: id, kind: kind, nhs: 0, upn: kind == 1 ? 41 : 0, given: NameKey(given),
            preferredGiven: preferred.flatMap { NameKey($0) }, family: NameKey("Evans"), preferredFamily: nil,
            dob: 20180104, approximateAge: -1, ageYear: 0, sex: 0, postcode: PostcodeKey("NR6 0NL"), addressKey: 9,
            carerNHS: 0)
    }

    /// Three school rows of Matilda known as Tilda, and a meals claim naming "Tikda".
    static let records = [
        record(1, kind: 1, given: "Matilda", preferred: "Tilda"),
        record(2, kind: 1, given: "Matilda", preferred: "Tilda"),
        record(3, kind: 1, given: "Matilda", preferred: "Tilda"), record(4, kind: 2, given: "Tikda"),
    ]

    static func joins(_ frequencies: NameFrequencies) -> Bool {
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: frequencies)
        clusterer.apply([
            Link(a: 0, b: 1, method: .upn, weight: 40, vector: nil),
            Link(a: 1, b: 2, method: .upn, weight: 40, vector: nil),
            Link(a: 2, b: 3, method: .probabilistic, weight: 25, vector: nil),
        ])
        return Set(clusterer.roots()).count == 1
    }

    @Test("counted from the records, Tilda is in use as a preferred name and Tikda is its slip: the claim joins")
    func slipOfAPreferredName() {
        var frequencies = NameFrequencies(records: Self.records)
        // A county's worth of Tildas known so: the slip is at most a tenth as common.
        frequencies.preferredGiven[NameKey("Tilda")!.fingerprint] = 40
        #expect(frequencies.isTypo(NameKey("Tikda")!, NameKey("Tilda")!))
        #expect(Self.joins(frequencies))
    }

    @Test("without the preferred counts Tilda is no name in use, and the claim stays apart as a possible twin")
    func legalCountsAlone() {
        var frequencies = NameFrequencies(records: Self.records)
        frequencies.preferredGiven = [:]
        #expect(!frequencies.isTypo(NameKey("Tikda")!, NameKey("Tilda")!))
        #expect(!Self.joins(frequencies))
    }

    @Test("two names both written as first names are two names, whatever their preferred use")
    func twoNamesInUse() {
        var frequencies = NameFrequencies(records: Self.records)
        frequencies.given[NameKey("Tilda")!.fingerprint] = 40
        frequencies.given[NameKey("Tikda")!.fingerprint] = 12
        #expect(!frequencies.isTypo(NameKey("Tikda")!, NameKey("Tilda")!))
        #expect(!Self.joins(frequencies))
    }
}
