/// Agreement level of two UK postcodes, best first.
///
/// | level          | rule                                                          |
/// |----------------|---------------------------------------------------------------|
/// | `exact`        | same postcode (`NR31 3FA` / `NR31 3FA`)                       |
/// | `sameSector`   | same outward code and inward digit (`NR31 3FA` / `NR31 3QT`)  |
/// | `sameDistrict` | same outward code only (`NR31 3FA` / `NR31 6LP`)              |
/// | `different`    | different outward codes (`NR31 3FA` / `NR30 3FA`)             |
/// | `missing`      | either postcode is nil, empty or not postcode-shaped          |
public enum PostcodeLevel: UInt8, Sendable, CaseIterable {
    case exact = 0
    case sameSector = 1
    case sameDistrict = 2
    case different = 3
    case missing = 4
}

/// A postcode packed for comparison: the outward code (2–4 bytes) and the inward code (3 bytes)
/// as integers. Build once per record.
public struct PostcodeKey: Hashable, Sendable {
    /// Outward code bytes, big-endian, e.g. `NR31` → 0x4E52_3331, `M1` → 0x0000_4D31.
    public let outward: UInt32
    /// Inward code bytes, big-endian, e.g. `3FA` → 0x0033_4641; the sector digit is `inward >> 16`.
    public let inward: UInt32

    /// Accepts a normalised postcode ("NR31 3FA") and, leniently, any case and spacing ("nr313fa").
    /// Shape only: the inward code must be a digit and two letters, the outward code 2–4 letters
    /// and digits starting with a letter. Full validation belongs to `Identifiers.UKPostcode`.
    /// Nil when the text is not postcode-shaped.
    public init?(_ text: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        for b in text.utf8 {
            switch b {
            case 0x20, 0x09: continue
            case 0x61...0x7A: bytes.append(b &- 0x20)
            case 0x41...0x5A, 0x30...0x39: bytes.append(b)
            default: return nil
            }
        }
        guard (5...7).contains(bytes.count) else { return nil }
        let n = bytes.count
        func isLetter(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        guard isDigit(bytes[n - 3]), isLetter(bytes[n - 2]), isLetter(bytes[n - 1]), isLetter(bytes[0]) else {
            return nil
        }
        var out: UInt32 = 0
        for b in bytes[..<(n - 3)] { out = out << 8 | UInt32(b) }
        outward = out
        inward = UInt32(bytes[n - 3]) << 16 | UInt32(bytes[n - 2]) << 8 | UInt32(bytes[n - 1])
    }

    /// The sector digit of the inward code, as an ASCII byte.
    public var sectorDigit: UInt8 { UInt8(truncatingIfNeeded: inward >> 16) }
}

/// Comparison of postcodes into `PostcodeLevel`s.
public enum PostcodeComparison {
    /// Compares two prepared postcodes; see `PostcodeLevel`.
    @inlinable
    public static func compare(_ a: PostcodeKey?, _ b: PostcodeKey?) -> PostcodeLevel {
        guard let a, let b else { return .missing }
        if a.outward != b.outward { return .different }
        if a.inward == b.inward { return .exact }
        return a.inward >> 16 == b.inward >> 16 ? .sameSector : .sameDistrict
    }

    /// Compares two postcode strings ("NR31 3FA"); nil, empty or malformed ones are `.missing`.
    public static func compare(_ a: String?, _ b: String?) -> PostcodeLevel {
        compare(a.flatMap(PostcodeKey.init), b.flatMap(PostcodeKey.init))
    }
}
