import Testing

@testable import Resolution

@Suite("Stable child ids")
struct IdentityTests {
    @Test("minted ids have the documented shape and pass their own check")
    func minting() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let id = ChildID.mint(using: &generator)
            #expect(id.value.count == 10)
            #expect(id.value.first == "C")
            #expect(ChildID(id.value) == id)
            #expect(id.value.allSatisfy { !"ILOU".contains($0) })
        }
    }

    @Test("the check symbol catches a mistyped symbol and a swap of neighbours")
    func checkSymbol() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var caught = 0
        var tried = 0
        for _ in 0..<300 {
            let id = Array(ChildID.mint(using: &generator).value)
            for position in 1..<10 {
                for replacement in alphabet where replacement != id[position] {
                    var typo = id
                    typo[position] = replacement
                    tried += 1
                    if ChildID(String(typo)) == nil { caught += 1 }
                }
            }
            for position in 1..<9 where id[position] != id[position + 1] {
                var swapped = id
                swapped.swapAt(position, position + 1)
                #expect(
                    ChildID(String(swapped)) == nil
                        || abs(alphabet.firstIndex(of: id[position])! - alphabet.firstIndex(of: id[position + 1])!)
                            == 31
                )
            }
        }
        // Only 0↔Z in the same position escapes (documented): well under 1% of single typos.
        #expect(Double(caught) / Double(tried) > 0.99)
    }

    @Test("the largest overlap keeps its id; an id whose records all joined another is merged")
    func reconcileMerge() {
        var generator = SystemRandomNumberGenerator()
        let previous: [Int64: String] = [1: "CA", 2: "CA", 3: "CB"]
        let outcome = IdentityReconciler.reconcile(
            clusters: [[1, 2, 3], [4]], previous: previous, generator: &generator
        ) { _ in false }
        #expect(outcome.clusterIDs[0] == "CA")
        #expect(outcome.merges.count == 1 && outcome.merges[0].from == "CB" && outcome.merges[0].into == "CA")
        #expect(outcome.minted.count == 1 && outcome.clusterIDs[1] == outcome.minted[0])
        #expect(outcome.splits.isEmpty)
    }

    @Test("a split keeps the id on the larger part and records where the new id came from")
    func reconcileSplit() {
        var generator = SystemRandomNumberGenerator()
        let previous: [Int64: String] = [1: "CA", 2: "CA", 3: "CA"]
        let outcome = IdentityReconciler.reconcile(clusters: [[3], [1, 2]], previous: previous, generator: &generator) {
            _ in false
        }
        #expect(outcome.clusterIDs[1] == "CA")
        #expect(
            outcome.splits.count == 1 && outcome.splits[0].from == "CA"
                && outcome.splits[0].new == outcome.clusterIDs[0])
        #expect(outcome.merges.isEmpty)
    }

    @Test("unchanged clusters keep every id and mint nothing")
    func reconcileStable() {
        var generator = SystemRandomNumberGenerator()
        let previous: [Int64: String] = [1: "CA", 2: "CB", 3: "CB"]
        let outcome = IdentityReconciler.reconcile(clusters: [[2, 3], [1]], previous: previous, generator: &generator) {
            _ in false
        }
        #expect(outcome.clusterIDs == ["CB", "CA"])
        #expect(outcome.minted.isEmpty && outcome.merges.isEmpty && outcome.splits.isEmpty)
    }
}

@Suite("Constrained clustering")
struct ClustererTests {
    func record(
        _ id: Int64, nhs: UInt64 = 0, given: String, family: String, dob: UInt32, period: UInt64 = 0
    )
        -> MatchRecord
    {
        MatchRecord(
            id: id, kind: 0, nhs: nhs, upn: 0, given: NameKey(given), preferredGiven: nil, family: NameKey(family),
            preferredFamily: nil, dob: dob, approximateAge: -1, ageYear: 0, sex: 0, postcode: PostcodeKey("NR1 1AA"),
            addressKey: 7, carerNHS: 0, sideBySideKey: period)
    }

    @Test("a link that would put two different NHS numbers in one child is refused")
    func nhsConflict() {
        let records = [
            record(1, nhs: 9434765919, given: "Ann", family: "Lee", dob: 20160101),
            record(2, given: "Ann", family: "Lee", dob: 20160101),
            // A day later: at the same date of birth two numbered Anns would make record 2 fit
            // two known children equally, and the twin rule would join it to neither.
            record(3, nhs: 4010232137, given: "Ann", family: "Lee", dob: 20160102),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply([
            Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil),
            Link(a: 1, b: 2, method: .probabilistic, weight: 29, vector: nil),
        ])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[1])
        #expect(roots[1] != roots[2])
        #expect(clusterer.refused.map(\.reason) == [.differentNHSNumbers])
    }

    @Test("twins stay apart under the model but an identifier may join them")
    func twins() {
        let records = [
            record(1, given: "Olivia", family: "Smith", dob: 20200505),
            record(2, given: "Amelia", family: "Smith", dob: 20200505),
            record(3, given: "Ollie", family: "Smyth", dob: 20200505),
        ]
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 30, vector: nil)])
        #expect(clusterer.refused.map(\.reason) == [.twins])
        clusterer.apply([Link(a: 0, b: 1, method: .nhsNumber, weight: 30, vector: nil)])
        let roots = clusterer.roots()
        #expect(roots[0] == roots[1])
    }

    @Test("two rows one school sent for one term are two pupils, however alike; other terms and identifiers still join")
    func samePeriod() {
        let records = [
            record(1, given: "Muhammad", family: "Jenkins", dob: 20200606, period: 41),
            record(2, given: "Mohammed", family: "Jenkins", dob: 20200606, period: 41),
            record(3, given: "Mohammed", family: "Jenkins", dob: 20200606, period: 42),
            record(4, given: "Muhammad", family: "Jenkins", dob: 20200606, period: 42),
        ]
        // The spellings are one name to the twin rule: only the term tells these two apart.
        #expect(!Clusterer.looksLikeTwins(records[0], records[1], .standard))
        var clusterer = Clusterer(records: records, apart: [], nicknames: .standard)
        clusterer.apply([
            Link(a: 1, b: 2, method: .probabilistic, weight: 40, vector: nil),  // the same pupil, next term
            Link(a: 0, b: 3, method: .probabilistic, weight: 40, vector: nil),
            Link(a: 0, b: 1, method: .probabilistic, weight: 35, vector: nil),
        ])
        #expect(clusterer.refused.map(\.reason) == [.samePeriodInOneFeed])
        var roots = clusterer.roots()
        #expect(roots[1] == roots[2] && roots[0] == roots[3] && roots[0] != roots[1])
        // A shared identifier is stronger than the rule (a school that sent one pupil twice).
        clusterer.apply([Link(a: 0, b: 1, method: .upn, weight: 40, vector: nil)])
        roots = clusterer.roots()
        #expect(roots[0] == roots[1])
    }

    @Test("a data officer's 'different children' holds against any later link")
    func reviewedApart() {
        let records = [
            record(1, given: "Ann", family: "Lee", dob: 20160101),
            record(2, given: "Ann", family: "Lee", dob: 20160101),
        ]
        var clusterer = Clusterer(records: records, apart: [(0, 1)], nicknames: .standard)
        clusterer.apply([Link(a: 0, b: 1, method: .probabilistic, weight: 40, vector: nil)])
        #expect(clusterer.refused.map(\.reason) == [.reviewedApart])
    }
}
