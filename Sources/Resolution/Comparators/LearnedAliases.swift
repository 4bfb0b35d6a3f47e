/// Given-name pairs learned from the records themselves: two names that records of one child carry,
/// where an identifier (the same valid NHS number or permanent UPN) already says the records are one
/// child, in several children. Annie for Annabelle or Rube for Reuben, where the nickname table lacks
/// them. A learned alias counts as a familiar form (`NicknameTable`'s `@familiar` part): the model
/// reads it as a nickname, and the twin rule as one name only where no second child of that date of
/// birth is known.
///
/// Only fingerprints of the names are kept (as `name_frequencies` keeps them), with the number of
/// children that taught each pair and by which identifier, so `explain-pair` can say why.
public struct LearnedAliases: Sendable, Codable, Equatable {
    /// One learned pair: the two names' fingerprints (smaller first) and the children that taught it.
    public struct Alias: Sendable, Codable, Equatable {
        public var first: UInt64
        public var second: UInt64
        /// Distinct children (identifier-joined groups of records) carrying both names.
        public var children: Int
        /// Of those, the children whose records a valid NHS number joins (the others a UPN alone).
        public var byNHSNumber: Int
    }

    /// The learned pairs, ordered by fingerprints (the same records give the same table).
    public private(set) var aliases: [Alias]
    private var index: [UInt64: Int] = [:]

    /// Fewest distinct children that must carry a pair before it is learned: one child, or two, can be
    /// one keying mistake (a UPN keyed for two children).
    public static let minimumChildren = 3
    /// Fewest of the identifier-joined children carrying the rarer name that must also carry the
    /// other: a pair of common names met by chance in a few mixed-up children is not an alias.
    public static let minimumShareOfRarerName = 0.05

    public static let none = LearnedAliases(aliases: [])

    init(aliases: [Alias]) {
        self.aliases = aliases.sorted { ($0.first, $0.second) < ($1.first, $1.second) }
        for (position, alias) in self.aliases.enumerated() {
            index[Self.key(alias.first, alias.second)] = position
        }
    }

    enum CodingKeys: String, CodingKey { case aliases }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(aliases: try container.decode([Alias].self, forKey: .aliases))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(aliases, forKey: .aliases)
    }

    public static func == (a: Self, b: Self) -> Bool { a.aliases == b.aliases }

    public var isEmpty: Bool { aliases.isEmpty }

    /// The learned pair of these two names, if it is one.
    public func alias(_ a: NameKey, _ b: NameKey) -> Alias? {
        guard !aliases.isEmpty, a.fingerprint != b.fingerprint,
            let position = index[Self.key(a.fingerprint, b.fingerprint)]
        else { return nil }
        // The pair's key is a hash: a hit counts only for the pair it was made from.
        let alias = aliases[position]
        let (low, high) =
            a.fingerprint < b.fingerprint ? (a.fingerprint, b.fingerprint) : (b.fingerprint, a.fingerprint)
        return alias.first == low && alias.second == high ? alias : nil
    }

    /// Order-free key of a pair of fingerprints.
    static func key(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (low, high) = a < b ? (a, b) : (b, a)
        return (low &* 0x9E37_79B9_7F4A_7C15) ^ high
    }

    /// The aliases `records` teach (a full run's records). `nicknames` and `frequencies` say which
    /// names are already one name (exact, a nickname or familiar form, a slip): those teach nothing.
    ///
    /// A child here is a group of records joined by the same valid NHS number or permanent UPN. A
    /// group holding two different NHS numbers or two different UPNs is a mistake of an identifier
    /// (a UPN keyed for two children), and teaches nothing; so does a UPN one report gives two children.
    static func learn(
        from records: [MatchRecord], nicknames: NicknameTable, frequencies: NameFrequencies,
        minimumChildren: Int = minimumChildren, minimumShare: Double = minimumShareOfRarerName
    ) -> LearnedAliases {
        let children = identifierChildren(records)
        var comparer = RecordComparer(nicknames: nicknames, frequencies: frequencies)
        var childrenWithName: [UInt64: Int] = [:]
        var pairs: [UInt64: Alias] = [:]
        for child in children {
            let names = distinctGivenNames(child.records.map { records[$0] })
            for name in names { childrenWithName[name.fingerprint, default: 0] += 1 }
            for (i, x) in names.enumerated() {
                for y in names[(i + 1)...] where comparer.givenLevel(x, y) == .different {
                    let key = Self.key(x.fingerprint, y.fingerprint)
                    var alias =
                        pairs[key]
                        ?? Alias(
                            first: min(x.fingerprint, y.fingerprint), second: max(x.fingerprint, y.fingerprint),
                            children: 0, byNHSNumber: 0)
                    alias.children += 1
                    if child.joinedByNHSNumber { alias.byNHSNumber += 1 }
                    pairs[key] = alias
                }
            }
        }
        let learned = pairs.values.filter { alias in
            let rarer = min(childrenWithName[alias.first] ?? 0, childrenWithName[alias.second] ?? 0)
            return alias.children >= minimumChildren && Double(alias.children) >= minimumShare * Double(rarer)
        }
        return LearnedAliases(aliases: learned)
    }

    /// Groups of two or more records that one identifier joins, without a conflicting identifier.
    static func identifierChildren(_ records: [MatchRecord]) -> [(records: [Int], joinedByNHSNumber: Bool)] {
        let sharedUPNs = Linkage.upnsOnTwoChildren(records)
        var sets = DisjointSets(count: records.count)
        var firstWithNHS: [UInt64: Int] = [:]
        var firstWithUPN: [UInt64: Int] = [:]
        var joinedByNHS = Set<Int>()
        for (index, record) in records.enumerated() {
            if record.nhs != 0 {
                if let first = firstWithNHS[record.nhs] {
                    sets.union(index, first)
                    joinedByNHS.insert(first)
                } else {
                    firstWithNHS[record.nhs] = index
                }
            }
            if record.upn != 0 && !sharedUPNs.contains(record.upn) {
                if let first = firstWithUPN[record.upn] {
                    sets.union(index, first)
                } else {
                    firstWithUPN[record.upn] = index
                }
            }
        }
        var groups: [Int: [Int]] = [:]
        for index in records.indices { groups[sets.find(index), default: []].append(index) }
        var children: [(records: [Int], joinedByNHSNumber: Bool)] = []
        for root in groups.keys.sorted() {
            let members = groups[root]!
            guard members.count >= 2, !holdsTwoIdentifiers(members.map { records[$0] }) else { continue }
            let byNHS = members.contains { joinedByNHS.contains($0) }
            children.append((members, byNHS))
        }
        return children
    }

    /// Whether the records carry two different valid NHS numbers or two different permanent UPNs.
    static func holdsTwoIdentifiers(_ records: [MatchRecord]) -> Bool {
        var nhs: UInt64 = 0
        var upn: UInt64 = 0
        for record in records {
            if record.nhs != 0 {
                if nhs != 0 && nhs != record.nhs { return true }
                nhs = record.nhs
            }
            if record.upn != 0 {
                if upn != 0 && upn != record.upn { return true }
                upn = record.upn
            }
        }
        return false
    }

    /// The legal and preferred first names of the records, each once, in order of first appearance.
    static func distinctGivenNames(_ records: [MatchRecord]) -> [NameKey] {
        var names: [NameKey] = []
        for record in records {
            for name in [record.given, record.preferredGiven] {
                if let name, !names.contains(name) { names.append(name) }
            }
        }
        return names
    }
}
