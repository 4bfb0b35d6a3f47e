import Testing

@testable import Resolution

/// How an incremental run pairs the existing records that share blocking keys with new ones
/// (`Resolver.pairs`): the pairs a full run's blocking makes between them, each once.
@Suite("Pairs of candidates with new records")
struct CandidatePairingTests {
    func record(_ id: Int64) -> MatchRecord {
        MatchRecord(
            id: id, kind: 0, nhs: 0, upn: 0, given: NameKey("Ann"), preferredGiven: nil, family: NameKey("Lee"),
            preferredFamily: nil, dob: 20160101, approximateAge: -1, ageYear: 0, sex: 0, postcode: nil,
            addressKey: 0, carerNHS: 0, sideBySideKey: 0)
    }

    @Test("a candidate pairs once with each new record sharing any of its keys, none with the others; sorted")
    func pairsOncePerNewRecord() {
        // New records 0, 1 and 2 (offsets); keys 10 (new 0 and 2), 20 (new 0), 30 (new 1).
        let holding: [Int64: [Int32]] = [10: [0, 2], 20: [0], 30: [1]]
        let candidates: [(record: MatchRecord, keys: [Int64])] = [
            (record(100), [20, 10]),  // new 0 through two keys: one pair; new 2 through key 10
            (record(101), [30]),  // new 1 only
            (record(102), [99]),  // a key no new record holds: no pair
        ]
        let pairs = Resolver.pairs(candidates, holding, firstNew: 3)
        func pair(_ candidate: UInt64, _ new: UInt64) -> UInt64 { candidate << 32 | (3 + new) }
        #expect(pairs == [pair(0, 0), pair(0, 2), pair(1, 1)])
    }
}
