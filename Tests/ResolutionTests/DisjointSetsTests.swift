import Testing

@testable import Resolution

/// `DisjointSets`, which learned aliases (records one identifier joins) and Families (households
/// joined by their links) both group with: the groups and their roots must not depend on the order
/// of the unions.
@Suite("Disjoint sets")
struct DisjointSetsTests {
    @Test("groups are the connected parts, each rooted at its smallest member, whatever the order")
    func groupsIndependentOfOrder() {
        let unions = [(9, 4), (4, 7), (1, 3), (3, 8), (8, 1), (6, 6), (2, 5)]
        let expected: [[Int]] = [[0], [1, 3, 8], [2, 5], [4, 7, 9], [6]]
        for order in [unions, unions.reversed(), unions.map { ($0.1, $0.0) }] {
            var sets = DisjointSets(count: 10)
            for (a, b) in order { sets.union(a, b) }
            var groups: [Int: [Int]] = [:]
            for member in 0..<10 { groups[sets.find(member), default: []].append(member) }
            #expect(groups.keys.sorted().map { groups[$0]! } == expected)
            #expect(groups.allSatisfy { root, members in root == members.min() })
        }
    }
}
