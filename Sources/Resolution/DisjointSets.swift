/// Disjoint sets over `0..<count` (union–find with path halving). A set's root is its smallest
/// member, so a grouping does not depend on the order the unions came in.
package struct DisjointSets {
    private var parent: [Int]

    package init(count: Int) { parent = Array(0..<count) }

    package mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }

    package mutating func union(_ a: Int, _ b: Int) {
        let (ra, rb) = (find(a), find(b))
        if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
    }
}
