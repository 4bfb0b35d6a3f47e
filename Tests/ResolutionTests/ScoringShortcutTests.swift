import Foundation
import Postgres
import PostgresTestSupport
import Testing

@testable import Resolution

/// The scoring loop skips pairs whose pattern cannot reach the review band before reading their
/// records (`Linkage.patternsBelowReview`): that must never skip a pair the full test would keep.
@Suite("Scoring shortcut")
struct ScoringShortcutTests {
    @Test(
        "a pattern is skipped only when even the largest name-frequency adjustment on each exact name leaves it below the band"
    )
    func boundAllowsForEachExactName() {
        let review = 10.0
        let bound = NameFrequencies.adjustmentBound
        // A weight just short of the band by less than the adjustments its exact names allow is kept;
        // just beyond them, skipped. Patterns the model never links are skipped whatever their weight.
        var nearly = [Double](repeating: 0, count: ComparisonVector.patternCount)
        var beyond = nearly
        var exactNames = [Int](repeating: 0, count: ComparisonVector.patternCount)
        for index in nearly.indices {
            let vector = ComparisonVector(patternIndex: index)
            exactNames[index] = (vector[.givenName] == 0 ? 1 : 0) + (vector[.familyName] == 0 ? 1 : 0)
            let allowance = Double(exactNames[index]) * bound
            nearly[index] = review - allowance + 0.01
            beyond[index] = review - allowance - 0.01
        }
        let keptNearly = Linkage.patternsBelowReview(nearly, review: review)
        let skippedBeyond = Linkage.patternsBelowReview(beyond, review: review)
        var vouchable = 0
        for index in nearly.indices {
            let vector = ComparisonVector(patternIndex: index)
            let neverLinked = Linkage.neverLink(vector) != nil
            // A pattern a police incident could vouch for below the band is never skipped.
            let couldVouch = Linkage.incidentCouldVouch(vector)
            if couldVouch { vouchable += 1 }
            #expect(
                keptNearly[index] == (neverLinked && !couldVouch), "pattern \(index), \(exactNames[index]) exact names")
            #expect(skippedBeyond[index] == !couldVouch, "pattern \(index)")
        }
        #expect(vouchable > 0)
        #expect(exactNames.contains(2) && exactNames.contains(1) && exactNames.contains(0))
    }

    @Test("every blocked pair whose pattern is skipped early scores below the review band or is never linked")
    func skippedPatternsNeverReachReview() throws {
        try TestDatabase.with(.migrated) { database in
            let connection = try database.connect()
            _ = try ResolverTests.load(children: 1500, seed: 31, into: connection)
            let records = try MatchRecordLoader.loadAll(connection)
            let settings = ResolutionSettings()
            let linkage = Linkage(settings: settings, nicknames: .standard)
            let result = linkage.run(records: records, model: nil, decisions: [])
            let model = result.model
            let review = settings.bands(prior: model.prior ?? MatchModel.fallbackPrior).review
            let patternWeights = (0..<ComparisonVector.patternCount).map {
                model.weight(ComparisonVector(patternIndex: $0))
            }
            let skipped = Linkage.patternsBelowReview(patternWeights, review: review)
            let candidates = CandidatePairs(
                records: records, rules: settings.blockingRules, nicknames: linkage.nicknames,
                maxBlock: settings.maxBlockSize)
            let patterns = linkage.compareAll(records, candidates.packed, frequencies: result.frequencies)
            var skippedPairs = 0
            var keptPairs = 0
            var rareNameExact = 0
            for (index, pair) in candidates.packed.enumerated() {
                let (a, b) = (records[Int(pair >> 32)], records[Int(pair & 0xFFFF_FFFF)])
                let vector = ComparisonVector(patternIndex: Int(patterns[index]))
                let weight = Linkage.weight(vector, a, b, model: model, frequencies: result.frequencies)
                if skipped[Int(patterns[index])] {
                    skippedPairs += 1
                    #expect(weight < review || Linkage.neverLink(vector) != nil, "pair \(index) skipped at \(weight)")
                    #expect(!Linkage.incidentCouldVouch(vector), "pair \(index) could be vouched for")
                } else {
                    keptPairs += 1
                    if weight > patternWeights[Int(patterns[index])] { rareNameExact += 1 }
                }
            }
            // The shortcut is exercised both ways (in a population this small the review band is
            // low, so fewer pairs are skipped than at a county's scale), and the adjustment it allows
            // for does occur.
            #expect(skippedPairs > 100, "skipped \(skippedPairs) of \(candidates.count)")
            #expect(keptPairs > 1000)
            #expect(rareNameExact > 0)
        }
    }
}
