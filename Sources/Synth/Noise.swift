import Identifiers

/// What was done to a row on purpose, recorded in truth.csv's `noise` column (`;`-separated) so a
/// matcher's misses can be explained. Rows with no tag carry the true values (in that feed's conventions).
struct NoiseTags: OptionSet {
    let rawValue: UInt32

    static let forenameTypo = NoiseTags(rawValue: 1 << 0)
    static let surnameTypo = NoiseTags(rawValue: 1 << 1)
    static let nickname = NoiseTags(rawValue: 1 << 2)
    static let dobSwap = NoiseTags(rawValue: 1 << 3)
    static let dobTypo = NoiseTags(rawValue: 1 << 4)
    static let nhsMissing = NoiseTags(rawValue: 1 << 5)
    static let nhsInvalid = NoiseTags(rawValue: 1 << 6)
    static let upnMissing = NoiseTags(rawValue: 1 << 7)
    static let upnInvalid = NoiseTags(rawValue: 1 << 8)
    static let oldAddress = NoiseTags(rawValue: 1 << 9)
    static let upperCase = NoiseTags(rawValue: 1 << 10)
    static let whitespace = NoiseTags(rawValue: 1 << 11)
    static let surnameVariant = NoiseTags(rawValue: 1 << 12)
    static let stepSurname = NoiseTags(rawValue: 1 << 13)
    static let motherNHSMissing = NoiseTags(rawValue: 1 << 14)
    static let motherNHSInvalid = NoiseTags(rawValue: 1 << 15)
    static let ninoMissing = NoiseTags(rawValue: 1 << 16)
    static let ninoTypo = NoiseTags(rawValue: 1 << 17)
    static let postcodeFormat = NoiseTags(rawValue: 1 << 18)
    static let postcodeMissing = NoiseTags(rawValue: 1 << 19)
    static let dobMissing = NoiseTags(rawValue: 1 << 20)
    static let ageApprox = NoiseTags(rawValue: 1 << 21)
    static let otherAddress = NoiseTags(rawValue: 1 << 22)
    static let parentNameTypo = NoiseTags(rawValue: 1 << 23)
    static let parentDOBError = NoiseTags(rawValue: 1 << 24)
    static let previousAddress = NoiseTags(rawValue: 1 << 25)
    static let upnKeyedTwice = NoiseTags(rawValue: 1 << 26)

    /// Tag names in bit order.
    static let names: [String] = [
        "forename_typo", "surname_typo", "nickname", "dob_swap", "dob_typo", "nhs_missing", "nhs_invalid",
        "upn_missing", "upn_invalid", "old_address", "upper_case", "whitespace", "surname_variant", "step_surname",
        "mother_nhs_missing", "mother_nhs_invalid", "nino_missing", "nino_typo", "postcode_format",
        "postcode_missing", "dob_missing", "age_approx", "other_address", "parent_name_typo", "parent_dob_error",
        "previous_address", "upn_keyed_twice",
    ]

    var text: String {
        var parts: [String] = []
        var bits = rawValue
        var i = 0
        while bits != 0 {
            if bits & 1 != 0 { parts.append(NoiseTags.names[i]) }
            bits >>= 1
            i += 1
        }
        return parts.joined(separator: ";")
    }
}

enum Noise {
    private static let neighbours: [UInt8: [UInt8]] = {
        let rows: [(Character, String)] = [
            ("q", "wa"), ("w", "qes"), ("e", "wrd"), ("r", "etf"), ("t", "ryg"), ("y", "tuh"), ("u", "yij"),
            ("i", "uok"), ("o", "ipl"), ("p", "ol"), ("a", "qsz"), ("s", "adwx"), ("d", "sfec"), ("f", "dgrv"),
            ("g", "fhtb"), ("h", "gjyn"), ("j", "hkum"), ("k", "jli"), ("l", "kop"), ("z", "xa"), ("x", "zcs"),
            ("c", "xvd"), ("v", "cbf"), ("b", "vng"), ("n", "bmh"), ("m", "nj"),
        ]
        var t: [UInt8: [UInt8]] = [:]
        for (c, s) in rows { t[c.asciiValue!] = Array(s.utf8) }
        return t
    }()

    /// One keyboard slip: a neighbouring key, two letters swapped, a letter dropped or doubled.
    /// The first letter is usually kept. Always returns something different from `s` (for length ≥ 2).
    static func typo(_ s: String, _ rng: inout SynthRandom) -> String {
        var c = Array(s)
        guard c.count >= 2 else { return s + s }
        let lo = (rng.chance(0.8) && c.count > 2) ? 1 : 0
        let i = lo + rng.below(c.count - lo)
        let op = rng.unit()
        if op < 0.35, let a = c[i].asciiValue, let n = neighbours[a | 0x20] {
            var r = n[rng.below(n.count)]
            if a & 0x20 == 0 { r &= ~0x20 }  // keep upper case
            c[i] = Character(UnicodeScalar(r))
        } else if op < 0.65, i + 1 < c.count, c[i] != c[i + 1] {
            c.swapAt(i, i + 1)
        } else if op < 0.85, c.count > 3 {
            c.remove(at: i)
        } else {
            c.insert(c[i], at: i)
        }
        let out = String(c)
        return out == s ? String(c.dropLast()) : out
    }

    /// Stray spaces: leading, trailing, or doubled inside.
    static func whitespace(_ s: String, _ rng: inout SynthRandom) -> String {
        switch rng.below(3) {
        case 0: return " " + s
        case 1: return s + "  "
        default:
            if let sp = s.firstIndex(of: " ") ?? s.firstIndex(of: "-") {
                var t = s
                t.insert(" ", at: sp)
                return t
            }
            return s + " "
        }
    }

    /// Day and month exchanged; nil when that would give the same or no date.
    static func swapDayMonth(_ d: CalendarDate) -> CalendarDate? {
        guard d.day <= 12, d.day != d.month else { return nil }
        return CalendarDate(year: d.year, month: d.day, day: d.month)
    }

    /// One digit of the written date changed, still a real date.
    static func digitTypo(_ d: CalendarDate, _ rng: inout SynthRandom) -> CalendarDate? {
        for _ in 0..<8 {
            var y = d.year, m = d.month, day = d.day
            switch rng.below(5) {
            case 0: day = (day / 10) * 10 + rng.below(10)
            case 1: day = rng.below(4) * 10 + day % 10
            case 2: m = (m / 10) * 10 + rng.below(10)
            case 3: y = (y / 10) * 10 + rng.below(10)
            default: y = (y / 100) * 100 + rng.below(10) * 10 + y % 10
            }
            if let t = CalendarDate(year: y, month: m, day: day), t != d, t.year <= 2026 { return t }
        }
        return nil
    }

    static func nhsText(_ n: UInt64) -> String {
        var bytes = [UInt8](repeating: 48, count: 10)
        var v = n
        for i in (0..<10).reversed() {
            bytes[i] = UInt8(48 + v % 10)
            v /= 10
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The number with a wrong check digit (so it fails modulus 11).
    static func invalidNHS(_ n: UInt64, _ rng: inout SynthRandom) -> String {
        let check = n % 10
        let wrong = (check + 1 + UInt64(rng.below(9))) % 10
        return nhsText(n - check + wrong)
    }

    /// Spaced 3-3-4, the way some systems print it.
    static func spacedNHS(_ s: String) -> String {
        let u = Array(s.utf8)
        return String(decoding: u[0..<3], as: UTF8.self) + " " + String(decoding: u[3..<6], as: UTF8.self) + " "
            + String(decoding: u[6..<10], as: UTF8.self)
    }

    /// The UPN with a different check letter.
    static func invalidUPN(_ upn: String, _ rng: inout SynthRandom) -> String {
        let alphabet = UniquePupilNumber.checkAlphabet
        let first = upn.first!
        let i = alphabet.firstIndex(of: first)!
        return String(alphabet[(i + 1 + rng.below(22)) % 23]) + upn.dropFirst()
    }

    /// A postcode written carelessly: lower case, no space, or two spaces.
    static func postcodeVariant(_ p: String, _ rng: inout SynthRandom) -> String {
        switch rng.below(3) {
        case 0: return p.lowercased()
        case 1: return p.replacingCharacter(" ", with: "")
        default: return p.replacingCharacter(" ", with: "  ")
        }
    }

    /// A hyphenated surname written another way: spaced, or only one half.
    static func surnameVariant(_ s: Surname, _ t: NameTables, _ rng: inout SynthRandom) -> String {
        let a = t.surnames[Int(s.a)]
        let b = t.surnames[Int(s.b)]
        switch rng.below(4) {
        case 0: return a + " " + b
        case 1: return a
        case 2: return b
        default: return a + b
        }
    }
}

extension String {
    /// Every `target` character replaced by `replacement`.
    func replacingCharacter(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(count + 2)
        for ch in self {
            if ch == target { out += replacement } else { out.append(ch) }
        }
        return out
    }
}
