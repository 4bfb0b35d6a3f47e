/// The match form of a personal name: upper-case ASCII letters, diacritics folded.
///
/// Built once per record and reused for every comparison, so the matcher's hot loops work on
/// `[UInt8]` and never on `Character`.
///
/// Normalisation:
/// - ASCII letters are upper-cased; a pure-ASCII name takes a byte-level fast path.
/// - Latin letters with diacritics fold to their base letter(s): `Zoë` → `ZOE`, `Łukasz` → `LUKASZ`,
///   `Ørsted` → `ORSTED`, `Nguyễn` → `NGUYEN`, `Şükrü` → `SUKRU`. Letters with no base letter fold
///   by convention: `ß`/`ẞ` → `SS`, `Æ` → `AE`, `Œ` → `OE`, `Ĳ` → `IJ`, `Þ` → `TH`, `Ð` → `D`,
///   `ı` → `I`, `Ŋ` → `NG`, `ſ` → `S`, `Ə` → `A` (Azerbaijani, as in Aliyev). The fold is derived from
///   each character's Unicode name ("LATIN SMALL LETTER E WITH DIAERESIS" → `E`), so it covers
///   every precomposed Latin letter, and decomposed input (`e` + U+0308) gives the same key.
/// - Apostrophes and other punctuation, digits and symbols are removed: `O'Brien` → `OBRIEN`,
///   `St. John` → parts `ST`, `JOHN`.
/// - White space, hyphens and dashes, `/`, `_` and `,` separate parts; runs of them count once.
///   `Smith-Jones` → `bytes` `SMITHJONES`, `parts` `SMITH`, `JONES`, `isHyphenated` true.
/// - A letter from another script (Cyrillic, Greek, Arabic, CJK…) makes the whole key nil. Dropping
///   it could turn two different names into the same key; nil means "missing" to the comparators,
///   which is the safe reading for a matcher whose worst error is a false merge.
/// - Nil when no letter remains.
///
/// Equality is on the letters and on where the parts break (`MARY ANN` == `MARY-ANN`, but
/// `MARY ANN` != `MARYANN`); the name comparators compare `bytes` (`MARYANN`) for exactness.
///
/// There is deliberately no `description`: a key is personal data and must not end up in logs by
/// string interpolation. Use `text` where a person is meant to read it (review screens).
public struct NameKey: Hashable, Sendable {
    /// The letters, upper-case ASCII, parts joined without separators (`SMITHJONES`).
    public let bytes: [UInt8]
    /// The parts between separators; one part (equal to `bytes`) for a single-word name.
    public let parts: [[UInt8]]
    /// True when a hyphen or dash separated two parts (`Smith-Jones`), false for spaces only.
    public let isHyphenated: Bool
    /// 64-bit FNV-1a hash of `bytes`: stable across runs and machines (unlike `hashValue`), so it
    /// can be stored or used as a blocking key. Equal keys have equal fingerprints.
    public let fingerprint: UInt64

    /// Normalises `name`; nil when no letter remains or a letter cannot be folded to ASCII.
    public init?(_ name: String) {
        var name = name
        let ascii: Builder?? = name.withUTF8 { NameKey.buildASCII($0) }
        switch ascii {
        case .some(.some(let built)): self.init(built)
        case .some(.none): return nil
        case .none:
            guard let built = NameKey.buildUnicode(name) else { return nil }
            self.init(built)
        }
    }

    /// Normalises a name given as UTF-8 bytes (invalid sequences become U+FFFD and are dropped).
    public init?<C: Collection>(utf8 name: C) where C.Element == UInt8 {
        let ascii: Builder?? =
            name.withContiguousStorageIfAvailable { NameKey.buildASCII($0) }
            ?? Array(name).withUnsafeBufferPointer { NameKey.buildASCII($0) }
        switch ascii {
        case .some(.some(let built)): self.init(built)
        case .some(.none): return nil
        case .none:
            guard let built = NameKey.buildUnicode(String(decoding: name, as: UTF8.self)) else { return nil }
            self.init(built)
        }
    }

    private init(_ built: Builder) {
        bytes = built.bytes
        isHyphenated = built.hyphenated
        if built.breaks.isEmpty {
            parts = [built.bytes]
        } else {
            var parts: [[UInt8]] = []
            parts.reserveCapacity(built.breaks.count + 1)
            var start = 0
            for end in built.breaks {
                parts.append(Array(built.bytes[start..<end]))
                start = end
            }
            parts.append(Array(built.bytes[start...]))
            self.parts = parts
        }
        fingerprint = NameKey.fnv1a(built.bytes)
    }

    /// The key for display to a person: parts joined by `-` if hyphenated, else by a space.
    public var text: String {
        parts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: isHyphenated ? "-" : " ")
    }

    /// Number of letters.
    public var count: Int { bytes.count }

    public static func == (a: NameKey, b: NameKey) -> Bool {
        a.fingerprint == b.fingerprint && a.bytes == b.bytes && a.parts == b.parts
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fingerprint)
        hasher.combine(parts.count)
    }

    /// 64-bit FNV-1a over bytes.
    @inlinable
    public static func fnv1a<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    // MARK: - Building

    struct Builder {
        var bytes: [UInt8] = []
        /// Offsets in `bytes` where a new part starts.
        var breaks: [Int] = []
        var pendingSeparator = false
        var pendingHyphen = false
        var hyphenated = false

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        @inline(__always)
        mutating func letter(_ b: UInt8) {
            if pendingSeparator {
                if !bytes.isEmpty {
                    breaks.append(bytes.count)
                    if pendingHyphen { hyphenated = true }
                }
                pendingSeparator = false
                pendingHyphen = false
            }
            bytes.append(b)
        }

        @inline(__always)
        mutating func separator(hyphen: Bool) {
            pendingSeparator = true
            if hyphen { pendingHyphen = true }
        }
    }

    /// Byte-level path. Returns nil (outer) when a non-ASCII byte is found, so the caller falls back
    /// to the Unicode path; `.some(nil)` when no letter remains.
    static func buildASCII(_ input: UnsafeBufferPointer<UInt8>) -> Builder?? {
        var builder = Builder(capacity: input.count)
        for b in input {
            switch b {
            case 0x41...0x5A: builder.letter(b)
            case 0x61...0x7A: builder.letter(b &- 0x20)
            case 0x2D: builder.separator(hyphen: true)
            case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x2F, 0x5F, 0x2C: builder.separator(hyphen: false)
            case 0x80...: return .none
            default: break  // apostrophes, full stops, digits, other punctuation
            }
        }
        return .some(builder.bytes.isEmpty ? nil : builder)
    }

    static func buildUnicode(_ name: String) -> Builder? {
        var builder = Builder(capacity: name.utf8.count)
        for scalar in name.unicodeScalars {
            let code = Fold.code(for: scalar)
            switch code {
            case Fold.drop: continue
            case Fold.unfoldable: return nil
            case Fold.separator: builder.separator(hyphen: false)
            case Fold.hyphen: builder.separator(hyphen: true)
            default:
                var packed = code
                while packed != 0 {
                    builder.letter(UInt8(truncatingIfNeeded: packed))
                    packed >>= 8
                }
            }
        }
        return builder.bytes.isEmpty ? nil : builder
    }
}

/// Folding of one Unicode scalar to at most three upper-case ASCII letters.
///
/// A code is: `drop` (not part of a name: punctuation, digits, marks), `separator`, `hyphen`,
/// `unfoldable` (a letter with no Latin reading: the key becomes nil), or up to three letters packed
/// little-endian (first letter in the low byte; every letter is ≥ 0x41, so codes never collide).
enum Fold {
    static let drop: UInt32 = 0
    static let unfoldable: UInt32 = 1
    static let separator: UInt32 = 2
    static let hyphen: UInt32 = 3

    /// Codes for U+00C0…U+024F (Latin-1 letters, Latin Extended-A and -B), computed once.
    static let latinBlock: [UInt32] = (0xC0...0x24F).map { compute(Unicode.Scalar($0)!) }
    /// Codes for U+1E00…U+1EFF (Latin Extended Additional: Vietnamese, Welsh ŵ ŷ…), computed once.
    static let latinAdditional: [UInt32] = (0x1E00...0x1EFF).map { compute(Unicode.Scalar($0)!) }

    static func code(for scalar: Unicode.Scalar) -> UInt32 {
        let v = scalar.value
        if v < 0x80 {
            let b = UInt8(v)
            switch b {
            case 0x41...0x5A: return UInt32(b)
            case 0x61...0x7A: return UInt32(b &- 0x20)
            case 0x2D: return hyphen
            case 0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x2F, 0x5F, 0x2C: return separator
            default: return drop
            }
        }
        if v >= 0xC0 && v <= 0x24F { return latinBlock[Int(v - 0xC0)] }
        if v >= 0x1E00 && v <= 0x1EFF { return latinAdditional[Int(v - 0x1E00)] }
        return compute(scalar)
    }

    /// Prefixes of the Unicode names of Latin letters; the word after the prefix is the base letter.
    private static let latinPrefixes = [
        "LATIN CAPITAL LETTER ", "LATIN SMALL LETTER ", "LATIN CAPITAL LIGATURE ", "LATIN SMALL LIGATURE ",
        "FULLWIDTH LATIN CAPITAL LETTER ", "FULLWIDTH LATIN SMALL LETTER ",
    ]

    /// Letters whose Unicode name does not start with their base letter.
    private static let namedLetters: [String: String] = [
        "SHARP": "SS", "DOTLESS": "", "THORN": "TH", "ETH": "D", "ENG": "NG", "LONG": "", "KRA": "K",
        "SCHWA": "A", "EZH": "Z", "OPEN": "", "AFRICAN": "", "SCRIPT": "",
    ]

    static func compute(_ scalar: Unicode.Scalar) -> UInt32 {
        let v = scalar.value
        switch v {
        case 0x2010...0x2015, 0x2212, 0xFE58, 0xFE63, 0xFF0D:  // hyphens, dashes, minus signs
            return hyphen
        case 0x2018...0x201F, 0x2032, 0x2035, 0x00B4, 0x02B9...0x02BC, 0xFF07:  // quotes, primes, ʼ
            return drop
        default: break
        }
        let properties = scalar.properties
        if properties.isWhitespace { return separator }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .otherLetter:
            break
        case .modifierLetter, .nonspacingMark, .spacingMark, .enclosingMark:
            return drop  // combining diacritics (decomposed input), modifier letters
        default:
            return properties.isAlphabetic ? unfoldable : drop  // digits, punctuation, symbols
        }
        guard let name = properties.name, let prefix = latinPrefixes.first(where: { name.hasPrefix($0) }) else {
            return unfoldable
        }
        let words = name.dropFirst(prefix.count).split(separator: " ")
        guard let first = words.first else { return unfoldable }
        var letters = String(first)
        if let named = namedLetters[letters] {
            // "SHARP S" → SS; "DOTLESS I" → I; "LONG S" → S; "OPEN E" → E; "SCHWA" → A.
            if named.isEmpty {
                guard words.count > 1 else { return unfoldable }
                letters = String(words[1])
            } else {
                letters = named
            }
        }
        let utf8 = Array(letters.utf8)
        guard (1...3).contains(utf8.count), utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            return unfoldable
        }
        var packed: UInt32 = 0
        for (i, b) in utf8.enumerated() { packed |= UInt32(b) << (8 * UInt32(i)) }
        return packed
    }
}
