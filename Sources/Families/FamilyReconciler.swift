import Identifiers

/// Gives each newly computed group a stable family id, keeping the ids people already use — the
/// same method as child ids.
///
/// The group holding most of an old family's members keeps its id (largest overlaps first, so the
/// outcome does not depend on processing order); an old id whose members all went to a group that
/// kept another id is merged into it and stays as an alias; an old id none of whose members is in
/// any group is retired; a group with no id left gets a new one (and, if it took members from a
/// family that lives on elsewhere, the history says it was split from that family).
struct FamilyReconciler {
    struct Outcome {
        var groupIDs: [String] = []
        var minted: [String] = []
        var merges: [(from: String, into: String)] = []
        var splits: [(new: String, from: String)] = []
        var retired: [String] = []
    }

    /// `groups`: member keys per group. `previous`: member key → family id before this run.
    static func reconcile<G: RandomNumberGenerator>(
        groups: [[String]], previous: [String: String], generator: inout G, isTaken: (String) throws -> Bool
    ) rethrows -> Outcome {
        var overlaps: [(count: Int, group: Int, id: String)] = []
        var membersPerOldID: [String: Int] = [:]
        for (index, group) in groups.enumerated() {
            var counts: [String: Int] = [:]
            for member in group { if let id = previous[member] { counts[id, default: 0] += 1 } }
            for (id, count) in counts {
                overlaps.append((count, index, id))
                membersPerOldID[id, default: 0] += count
            }
        }
        overlaps.sort { ($0.count, $1.id, $1.group) > ($1.count, $0.id, $0.group) }
        var outcome = Outcome()
        outcome.groupIDs = [String](repeating: "", count: groups.count)
        var used: Set<String> = []
        for overlap in overlaps where outcome.groupIDs[overlap.group].isEmpty && !used.contains(overlap.id) {
            outcome.groupIDs[overlap.group] = overlap.id
            used.insert(overlap.id)
        }
        var fresh: Set<String> = []
        for index in groups.indices where outcome.groupIDs[index].isEmpty {
            var id: String
            repeat {
                id = OpaqueID.mint(prefix: "F", using: &generator).value
            } while try isTaken(id) || fresh.contains(id)
            fresh.insert(id)
            outcome.groupIDs[index] = id
            outcome.minted.append(id)
            if let origin = overlaps.first(where: { $0.group == index }) { outcome.splits.append((id, origin.id)) }
        }
        for (id, _) in membersPerOldID.sorted(by: { $0.key < $1.key }) where !used.contains(id) {
            if let best = overlaps.first(where: { $0.id == id }) {
                outcome.merges.append((id, outcome.groupIDs[best.group]))
            }
        }
        let oldIDs = Set(previous.values)
        outcome.retired = oldIDs.subtracting(used).subtracting(outcome.merges.map(\.from)).sorted()
        return outcome
    }
}
