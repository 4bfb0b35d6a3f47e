import Testing

@testable import Resolution

/// How an incremental run pairs the existing records that share blocking keys with new ones
/// (`Resolver.newPartners`, `Resolver.pairs`): the pairs a full run's blocking makes between them,
/// each once, whichever batch a candidate arrives in.
@Suite("Pairs of candidates with new records")
struct CandidatePairingTests {
    func record(_ id: Int64) -> MatchRecord {
        MatchRecord(
            id: id, kind: 0, nhs: 0, upn: 0, given: NameKey("Ann"), preferredGiven: nil, family: NameKey("Lee"),
            preferredFamily: nil, dob: 20160101, approximateAge: -1, ageYear: 0, sex: 0, postcode: nil,
            addressKey: 0, carerNHS: 0, sideBySideKey: 0)
    }

    @Test(
        "a candidate partners once with each new record sharing any key; blocks too large and identifier finds left out"
    )
    func partnersOncePerNewRecord() {
        // New records 0, 1 and 2 hold keys 10 and 20, 30, and 10; key 40 is held by too many.
        let freshKeys: [[Int64]] = [[10, 20], [30, 40], [10]]
        let holders: [Int64: [Int64]] = [10: [100, 102], 20: [100], 30: [101, 103], 40: [104, 105, 106]]
        let partners = Resolver.newPartners(
            holders: holders, freshKeys: freshKeys, maxBlockSize: 2, besides: [103])
        #expect(partners == [100: [0, 2], 102: [0, 2], 101: [1]])
        // In whatever order and batches the candidates arrive, each pair is made once, sorted.
        let pairs = Resolver.pairs([record(102), record(101), record(999)], partners, firstNew: 3)
        func pair(_ candidate: UInt64, _ new: UInt64) -> UInt64 { candidate << 32 | (3 + new) }
        #expect(pairs == [pair(0, 0), pair(0, 2), pair(1, 1)])
    }
}
