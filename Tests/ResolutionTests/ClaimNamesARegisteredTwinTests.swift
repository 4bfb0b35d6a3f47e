import Testing

@testable import Resolution

/// A record of twins at one home: kind 1 a school row (registered names), 2 a meals claim, 3 a police row.
private func twinRecord(
    _ id: Int64, kind: UInt8, given: String, preferred: String? = nil, upn: UInt64 = 0, report: UInt64 = 0,
    home: (family: String, dob: UInt32, postcode: String, address: UInt64)
) -> MatchRecord {
    MatchRecord(
        id: id, kind: kind, nhs: 0, upn: upn, given: NameKey(given), preferredGiven: preferred.flatMap { NameKey($0) },
        family: NameKey(home.family), preferredFamily: nil, dob: home.dob, approximateAge: -1, ageYear: 0, sex: 0,
        postcode: PostcodeKey(home.postcode), addressKey: home.address, carerNHS: 0, sideBySideKey: report)
}

/// Twins at one address (100k harsh seed 2): James, known as Jamie, is on a school's roll; his twin
/// has no records of his own. A meals claim names "James" and "Jamie". The claim's "Jamie" fits the
/// school's child by the name he goes by, its "James" by his registered name: the school's child is
/// the claim's James, and the claim's Jamie is the twin.
@Suite("A claim naming a twin by his registered name")
struct ClaimNamesARegisteredTwinTests {
    static let claim: UInt64 = 0xC1A1

    static let home = (family: "Harrison", dob: UInt32(20150325), postcode: "IP20 1WU", address: UInt64(7))

    static func pupil(_ id: Int64, given: String, preferred: String?, upn: UInt64) -> MatchRecord {
        twinRecord(id, kind: 1, given: given, preferred: preferred, upn: upn, home: home)
    }

    static func claimed(_ id: Int64, given: String) -> MatchRecord {
        twinRecord(id, kind: 2, given: given, report: claim, home: home)
    }

    /// Applies the UPN link of the first two records (a pupil's two terms), then the model's links.
    static func clustered(_ records: [MatchRecord], _ links: [(Int, Int)]) -> Clusterer {
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply(
            [Link(a: 0, b: 1, method: .upn, weight: 60, vector: nil)]
                + links.enumerated().map {
                    Link(a: $1.0, b: $1.1, method: .probabilistic, weight: 40 - Double($0), vector: nil)
                })
        return clusterer
    }

    @Test("the claim's James joins James known as Jamie; the claim's Jamie stays apart")
    func registeredNameJoins() {
        let records = [
            Self.pupil(1, given: "James", preferred: "Jamie", upn: 0xA1),
            Self.pupil(2, given: "James", preferred: "Jamie", upn: 0xA1),
            Self.claimed(3, given: "James"), Self.claimed(4, given: "Jamie"),
        ]
        var clusterer = Self.clustered(records, [(0, 2), (0, 3)])
        let roots = clusterer.roots()
        #expect(roots[2] == roots[0])
        #expect(roots[3] != roots[0])
        #expect(clusterer.applied.contains { $0.a == 0 && $0.b == 2 })
    }

    @Test("twins each known by the other's name: the claim's Oliver may be either twin's and joins neither")
    func eachKnownByTheOthersName() {
        // Oliver known as Ollie, and Ollie known as Oliver, each on the roll under his own UPN.
        let records = [
            Self.pupil(1, given: "Oliver", preferred: "Ollie", upn: 0xA1),
            Self.pupil(2, given: "Oliver", preferred: "Ollie", upn: 0xA1),
            Self.pupil(3, given: "Ollie", preferred: "Oliver", upn: 0xB2),
            Self.claimed(4, given: "Oliver"), Self.claimed(5, given: "Ollie"),
        ]
        var clusterer = Self.clustered(records, [(0, 3), (2, 4)])
        let roots = clusterer.roots()
        #expect(roots[3] != roots[0])
        #expect(roots[4] != roots[2])
        #expect(clusterer.refused.map(\.reason) == [.twins, .twins])
    }

    @Test("a claim naming a twin only by the name he goes by stays apart when the other twin has that name")
    func preferredNameOnlyStaysApart() {
        // James known as Jamie, and his twin registered Jamie, each under his own UPN.
        let records = [
            Self.pupil(1, given: "James", preferred: "Jamie", upn: 0xA1),
            Self.pupil(2, given: "James", preferred: "Jamie", upn: 0xA1),
            Self.pupil(3, given: "Jamie", preferred: nil, upn: 0xB2),
            Self.claimed(4, given: "Jamie"),
        ]
        var clusterer = Self.clustered(records, [(0, 3)])
        let roots = clusterer.roots()
        #expect(roots[3] != roots[0])
        #expect(clusterer.refused.map(\.reason) == [.twins])
    }
}

/// Twins Sophia and Sophie (100k harsh seed 2), each on a school's roll under her own UPN. One police
/// incident names "Sophie" and "Sophua" with their date of birth: Sophie fits the twin Sophie exactly
/// and Sophia only by a form, "Sophua" is a slip that fits Sophia better than Sophie, so the incident
/// names each twin once and its Sophie is the twin Sophie.
@Suite("A report naming both twins")
struct ReportNamesBothTwinsTests {
    static let incident: UInt64 = 0x1DE5

    static let home = (family: "James", dob: UInt32(20110630), postcode: "NR4 4PN", address: UInt64(28))

    static func pupil(_ id: Int64, given: String, upn: UInt64) -> MatchRecord {
        twinRecord(id, kind: 1, given: given, preferred: given, upn: upn, home: home)
    }

    /// The incident gives the address as the police wrote it (another address key).
    static func police(_ id: Int64, given: String) -> MatchRecord {
        twinRecord(id, kind: 3, given: given, report: incident, home: (home.family, home.dob, home.postcode, 29))
    }

    /// The twins' school rows (joined by UPN), then the incident's "Sophie" joining the twin Sophie,
    /// then its companion joining the twin Sophia.
    static func clustered(companion: String) -> Clusterer {
        let records = [
            pupil(1, given: "Sophia", upn: 0xA1), pupil(2, given: "Sophia", upn: 0xA1),
            pupil(3, given: "Sophie", upn: 0xB2), pupil(4, given: "Sophie", upn: 0xB2),
            police(5, given: "Sophie"), police(6, given: companion),
        ]
        // Sophia and Sophie are common names, so a rare spelling one letter off is a slip of one.
        var frequencies = NameFrequencies(records: records)
        for name in ["Sophia", "Sophie"] { frequencies.given[NameKey(name)!.fingerprint] = 40 }
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard, frequencies: frequencies)
        clusterer.apply([
            Link(a: 0, b: 1, method: .upn, weight: 60, vector: nil),
            Link(a: 2, b: 3, method: .upn, weight: 60, vector: nil),
            Link(a: 2, b: 4, method: .probabilistic, weight: 42, vector: nil),
            Link(a: 0, b: 5, method: .probabilistic, weight: 36, vector: nil),
        ])
        return clusterer
    }

    static func policeSophieJoins(companion: String) -> (joined: Bool, refused: [LinkRefusal]) {
        var clusterer = clustered(companion: companion)
        let roots = clusterer.roots()
        #expect(roots[0] != roots[2])
        return (roots[4] == roots[2], clusterer.refused.filter { $0.link.b == 4 }.map(\.reason))
    }

    @Test("then the slip joins Sophia: the twin Sophie, apart from both sides, makes that join no guess")
    func slipJoinsTheOtherTwin() {
        var clusterer = Self.clustered(companion: "Sophua")
        let roots = clusterer.roots()
        #expect(roots[4] == roots[2])
        #expect(roots[5] == roots[0])
        #expect(roots[0] != roots[2])
        #expect(clusterer.refused.isEmpty)
    }

    @Test("the incident's Sophie joins the twin Sophie when its other child is a slip of Sophia")
    func companionIsTheOtherTwin() {
        let outcome = Self.policeSophieJoins(companion: "Sophua")
        #expect(outcome.joined)
        #expect(outcome.refused.isEmpty)
    }

    @Test(
        "a companion who is not the other twin says nothing: the incident's Sophie may be either twin's",
        arguments: ["Ava", "Sophie"])
    func companionNotTheOtherTwin(_ companion: String) {
        // "Ava" is a sister; a second "Sophie" fits Sophie as well as the first does.
        let outcome = Self.policeSophieJoins(companion: companion)
        #expect(!outcome.joined)
        #expect(outcome.refused == [.twins])
    }
}
