/// Gives each newly computed cluster a stable child id, keeping the ids people already use.
///
/// The cluster holding most of an old id's records keeps that id (largest overlaps first, so
/// the outcome does not depend on processing order); an old id whose records all went to a
/// cluster that kept another id is merged into it and stays as an alias; a cluster with no id
/// left gets a new one (and, if it took records from an id that lives on elsewhere, the history
/// says it was split from that id).
struct IdentityReconciler {
    struct Outcome {
        /// Child id for every cluster, by cluster index.
        var clusterIDs: [String] = []
        var minted: [String] = []
        /// (old id, surviving id).
        var merges: [(from: String, into: String)] = []
        /// (new id, the id it took records from).
        var splits: [(new: String, from: String)] = []
    }

    /// `clusters`: record ids per cluster. `previous`: record id → child id before this run.
    static func reconcile<G: RandomNumberGenerator>(
        clusters: [[Int64]], previous: [Int64: String], generator: inout G, isTaken: (String) -> Bool
    ) -> Outcome {
        var overlaps: [(count: Int, cluster: Int, id: String)] = []
        var recordsPerOldID: [String: Int] = [:]
        for (index, cluster) in clusters.enumerated() {
            var counts: [String: Int] = [:]
            for record in cluster { if let id = previous[record] { counts[id, default: 0] += 1 } }
            for (id, count) in counts {
                overlaps.append((count, index, id))
                recordsPerOldID[id, default: 0] += count
            }
        }
        overlaps.sort { ($0.count, $1.id, $1.cluster) > ($1.count, $0.id, $0.cluster) }
        var outcome = Outcome()
        outcome.clusterIDs = [String](repeating: "", count: clusters.count)
        var usedIDs: Set<String> = []
        for overlap in overlaps where outcome.clusterIDs[overlap.cluster].isEmpty && !usedIDs.contains(overlap.id) {
            outcome.clusterIDs[overlap.cluster] = overlap.id
            usedIDs.insert(overlap.id)
        }
        // The largest overlap of each cluster (the first in sorted order): a split's origin.
        var largestOverlap: [Int: String] = [:]
        for overlap in overlaps where largestOverlap[overlap.cluster] == nil {
            largestOverlap[overlap.cluster] = overlap.id
        }
        var newlyMinted: Set<String> = []
        for index in clusters.indices where outcome.clusterIDs[index].isEmpty {
            var id: String
            repeat { id = ChildID.mint(using: &generator).value } while isTaken(id) || newlyMinted.contains(id)
            newlyMinted.insert(id)
            outcome.clusterIDs[index] = id
            outcome.minted.append(id)
            // Which surviving id did it take most records from? That is the split's origin.
            if let origin = largestOverlap[index] { outcome.splits.append((id, origin)) }
        }
        // Old ids that kept no cluster merge into the cluster holding most of their records.
        for (id, _) in recordsPerOldID.sorted(by: { $0.key < $1.key }) where !usedIDs.contains(id) {
            if let best = overlaps.first(where: { $0.id == id }) {
                outcome.merges.append((id, outcome.clusterIDs[best.cluster]))
            }
        }
        return outcome
    }
}
