/// Comparable forms of an address and a carer's identity, so that the same home or the same
/// person written by two partners in two styles compares equal. The keys hold personal data:
/// they live in memory while grouping and are never stored or logged.
public enum AddressKey {
    /// `uprn:…` when the record has a UPRN; otherwise `addr:POSTCODE|PREMISES` from the normalised
    /// premises (the first address line, with a flat number joined to its building) and the postcode.
    /// nil when there is neither a UPRN nor both a premises and a valid postcode.
    public static func key(line1: String?, line2: String?, postcode: String?, uprn: String?) -> String? {
        if let uprn = uprn.map(normalisedWords), !uprn.isEmpty { return "uprn:" + uprn.replacingSpaces() }
        guard let postcode, !postcode.isEmpty, let premises = premises(line1: line1, line2: line2) else { return nil }
        return "addr:" + postcode.uppercased() + "|" + premises
    }

    /// `town:TOWN|PREMISES`: the same address keyed by its town, for a record whose postcode is missing
    /// or invalid. Grouping uses it only to match such a record.
    public static func townKey(line1: String?, line2: String?, town: String?) -> String? {
        guard let town = town.map(normalisedWords), !town.isEmpty, let premises = premises(line1: line1, line2: line2)
        else { return nil }
        return "town:" + town + "|" + premises
    }

    static func isTownKey(_ key: String) -> Bool { key.hasPrefix("town:") }

    /// Whether a key came from a UPRN.
    public static func isUPRN(_ key: String) -> Bool { key.hasPrefix("uprn:") }

    static let subBuildingWords: Set<String> = ["FLAT", "APARTMENT", "APT", "UNIT", "ROOM", "STUDIO", "MAISONETTE"]
    static let streetAbbreviations: [String: String] = [
        "RD": "ROAD", "ST": "STREET", "LN": "LANE", "CL": "CLOSE", "DR": "DRIVE", "AVE": "AVENUE", "AV": "AVENUE",
        "CRES": "CRESCENT", "CRESC": "CRESCENT", "GDNS": "GARDENS", "CT": "COURT", "PL": "PLACE", "GRN": "GREEN",
        "WK": "WALK", "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE", "GRV": "GROVE",
    ]

    /// The premises part of an address in one canonical form: upper case, letters and digits only,
    /// single spaces, the street type spelt out. A one-column address split at commas (`Flat 3`,
    /// `12 Church Lane, Gorleston`) and a two-column one (`Flat 3, 12 Church Lane`) give the same result.
    public static func premises(line1: String?, line2: String?) -> String? {
        var parts: [String] = []
        for line in [line1, line2] {
            guard let line else { continue }
            for part in line.split(separator: ",") {
                let words = normalisedWords(String(part))
                if !words.isEmpty { parts.append(words) }
            }
        }
        guard var premises = parts.first else { return nil }
        let words = premises.split(separator: " ")
        // "Flat 3" alone names no building: join it to the next part ("Flat 3 12 Church Lane").
        if words.count <= 2, let first = words.first, subBuildingWords.contains(String(first)), parts.count > 1 {
            premises += " " + parts[1]
        }
        var final = premises.split(separator: " ").map(String.init)
        if final.count > 1, let last = final.last, let full = streetAbbreviations[last] {
            final[final.count - 1] = full
        }
        return final.joined(separator: " ")
    }

    /// Upper case; anything but a letter or digit becomes a space; runs of spaces collapse.
    static func normalisedWords(_ text: String) -> String {
        if let ascii = asciiOnly(text, keepDigits: true, spaces: true) { return ascii }
        var out = ""
        var pendingSpace = false
        for scalar in text.uppercased().unicodeScalars {
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                if pendingSpace && !out.isEmpty { out += " " }
                pendingSpace = false
                out.unicodeScalars.append(scalar)
            } else {
                pendingSpace = true
            }
        }
        return out
    }

    /// A surname in comparable forms: the whole name, and each part of a double-barrelled or
    /// two-word one ("Smith-Jones" → SMITHJONES, SMITH, JONES), parts of one letter left out.
    static func surnameKeys(_ text: String?) -> [String] {
        guard let text, let whole = nameKey(text) else { return [] }
        let parts = text.split(whereSeparator: { $0 == "-" || $0.isWhitespace }).compactMap { nameKey(String($0)) }
        return parts.count > 1 ? [whole] + parts.filter { $0.count > 1 } : [whole]
    }

    /// A name for comparison: upper case letters only ("O'Brien-Smith" → "OBRIENSMITH").
    static func nameKey(_ text: String?) -> String? {
        guard let text else { return nil }
        if let ascii = asciiOnly(text, keepDigits: false, spaces: false) { return ascii.isEmpty ? nil : ascii }
        var out = ""
        for scalar in text.uppercased().unicodeScalars where scalar.properties.isAlphabetic {
            out.unicodeScalars.append(scalar)
        }
        return out.isEmpty ? nil : out
    }
}

extension AddressKey {
    /// The fast path of `normalisedWords` and `nameKey` on UTF-8 bytes, for text that is all ASCII
    /// (nearly every address and name; Unicode property look-ups were a tenth of grouping's time):
    /// letters upper-cased, digits kept when asked, anything else a single space between words (or
    /// dropped). nil when the text has a non-ASCII byte: the caller takes the Unicode path.
    fileprivate static func asciiOnly(_ text: String, keepDigits: Bool, spaces: Bool) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for byte in text.utf8 {
            guard byte < 0x80 else { return nil }
            let kept: UInt8?
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): kept = byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): kept = byte
            case UInt8(ascii: "0")...UInt8(ascii: "9"): kept = keepDigits ? byte : nil
            default: kept = nil
            }
            if let kept {
                if pendingSpace && !out.isEmpty { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                out.append(kept)
            } else if spaces {
                pendingSpace = true
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func replacingSpaces() -> String { split(separator: " ").joined() }
}

/// The same keys from UTF-8 bytes, as the grouper reads them from the database (no String per
/// field): equal to the String functions' results (a test holds them together), with a non-ASCII
/// field handed to those.
extension AddressKey {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    static let subBuildingWordBytes: Set<[UInt8]> = Set(subBuildingWords.map { Array($0.utf8) })
    static let streetAbbreviationBytes: [[UInt8]: [UInt8]] = Dictionary(
        uniqueKeysWithValues: streetAbbreviations.map { (Array($0.key.utf8), Array($0.value.utf8)) })

    static func isASCII(_ bytes: Bytes) -> Bool { !bytes.contains { $0 >= 0x80 } }

    static func string(_ bytes: Bytes) -> String { String(decoding: bytes, as: UTF8.self) }

    /// `normalisedWords` of ASCII bytes, appended to `out`.
    static func appendWords(_ bytes: some Sequence<UInt8>, to out: inout [UInt8]) {
        var pendingSpace = false
        let start = out.count
        for byte in bytes {
            let kept: UInt8
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): kept = byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): kept = byte
            default:
                pendingSpace = true
                continue
            }
            if pendingSpace && out.count > start { out.append(UInt8(ascii: " ")) }
            pendingSpace = false
            out.append(kept)
        }
    }

    /// `premises(line1:line2:)` on bytes.
    static func premises(line1: Bytes, line2: Bytes) -> [UInt8]? {
        guard isASCII(line1), isASCII(line2) else {
            return premises(line1: line1.isEmpty ? nil : string(line1), line2: line2.isEmpty ? nil : string(line2)).map
            { Array($0.utf8) }
        }
        // Only the first two non-empty comma-separated parts matter.
        var parts: [[UInt8]] = []
        for line in [line1, line2] where parts.count < 2 {
            for part in line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                var words: [UInt8] = []
                appendWords(part, to: &words)
                if !words.isEmpty { parts.append(words) }
                if parts.count == 2 { break }
            }
        }
        guard var premises = parts.first else { return nil }
        let spaces = premises.lazy.filter { $0 == UInt8(ascii: " ") }.count
        if spaces <= 1, parts.count > 1 {
            let first = Array(premises.prefix { $0 != UInt8(ascii: " ") })
            if subBuildingWordBytes.contains(first) { premises += [UInt8(ascii: " ")] + parts[1] }
        }
        if let space = premises.lastIndex(of: UInt8(ascii: " ")),
            let full = streetAbbreviationBytes[Array(premises[(space + 1)...])]
        {
            premises.replaceSubrange((space + 1)..., with: full)
        }
        return premises
    }

    /// `key(line1:line2:postcode:uprn:)` given the premises already made.
    static func key(premises: [UInt8]?, postcode: Bytes, uprn: Bytes) -> String? {
        if !uprn.isEmpty {
            var words: [UInt8] = []
            if isASCII(uprn) {
                appendWords(uprn, to: &words)
            } else {
                words = Array(normalisedWords(string(uprn)).utf8)
            }
            if !words.isEmpty {
                return "uprn:" + String(decoding: words.lazy.filter { $0 != UInt8(ascii: " ") }, as: UTF8.self)
            }
        }
        guard !postcode.isEmpty, let premises else { return nil }
        return "addr:" + string(postcode).uppercased() + "|" + String(decoding: premises, as: UTF8.self)
    }

    /// `townKey(line1:line2:town:)` given the premises already made.
    static func townKey(premises: [UInt8]?, town: Bytes) -> String? {
        guard let premises, !town.isEmpty else { return nil }
        var words: [UInt8] = []
        if isASCII(town) { appendWords(town, to: &words) } else { words = Array(normalisedWords(string(town)).utf8) }
        guard !words.isEmpty else { return nil }
        return "town:" + String(decoding: words, as: UTF8.self) + "|" + String(decoding: premises, as: UTF8.self)
    }

    /// `nameKey` on bytes.
    static func nameKey(_ bytes: Bytes) -> String? {
        guard !bytes.isEmpty else { return nil }
        guard isASCII(bytes) else { return nameKey(string(bytes)) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): out.append(byte - 32)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): out.append(byte)
            default: break
            }
        }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }

    /// `surnameKeys` on bytes.
    static func surnameKeys(_ bytes: Bytes) -> [String] {
        guard !bytes.isEmpty else { return [] }
        guard isASCII(bytes) else { return surnameKeys(string(bytes)) }
        guard let whole = nameKey(bytes) else { return [] }
        let parts = bytes.split(whereSeparator: { $0 == UInt8(ascii: "-") || $0 == 0x20 || (0x09...0x0D).contains($0) })
            .compactMap { nameKey(Bytes(rebasing: $0)) }
        return parts.count > 1 ? [whole] + parts.filter { $0.count > 1 } : [whole]
    }
}
