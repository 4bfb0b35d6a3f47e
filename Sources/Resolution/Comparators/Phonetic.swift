/// Phonetic codes for blocking on names with typos, packed into integers for cheap hashing.
///
/// Codes are computed over the letters A–Z of the input; anything else is skipped. For a `NameKey`
/// that is `bytes`, the parts joined (`SMITH-JONES` → `SMITHJONES`); to block a double-barrelled
/// surname under each part, code each of `parts` with the buffer versions.
public enum Phonetic {
    // MARK: Soundex

    /// American Soundex (the US National Archives rules): the first letter, then up to three
    /// digits; letters with the same digit next to each other count once, also across H and W
    /// (`Ashcraft` → A261) and including the first letter (`Pfister` → P236); a vowel between them
    /// separates them (`Tymczak` → T522); padded with zeros (`Rubin` → R150).
    ///
    /// Packed as the four ASCII bytes, big-endian: `R163` → `0x5231_3633`. 0 when there is no letter.
    public static func soundex(_ key: NameKey) -> UInt32 {
        key.bytes.withUnsafeBufferPointer { soundex($0) }
    }

    /// American Soundex of the letters in `bytes` (either case); see `soundex(_: NameKey)`.
    public static func soundex(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var code: UInt32 = 0
        var digits = 0
        var previous: UInt8 = 0  // digit of the last coded letter; 0 after a vowel
        for raw in bytes {
            let b = raw & 0xDF  // upper case
            guard b >= 0x41 && b <= 0x5A else { continue }
            let digit = soundexDigits[Int(b - 0x41)]
            if code == 0 {
                code = UInt32(b) << 24
                previous = digit
                continue
            }
            switch digit {
            case 0x48:  // H, W: transparent
                continue
            case 0:  // vowels and Y separate equal digits
                previous = 0
            default:
                if digit != previous {
                    code |= UInt32(digit) << (16 - 8 * UInt32(digits))
                    digits += 1
                    if digits == 3 { return code }
                }
                previous = digit
            }
        }
        if code == 0 { return 0 }
        while digits < 3 {
            code |= UInt32(0x30) << (16 - 8 * UInt32(digits))
            digits += 1
        }
        return code
    }

    /// ASCII digit per letter; 0 for A E I O U Y, `H` (0x48) for the transparent H and W.
    private static let soundexDigits: [UInt8] = Array("0123012H02245501262301H202".utf8).map {
        $0 == 0x30 ? 0 : $0
    }

    /// The four characters of a packed Soundex code (`"R163"`); empty for 0.
    public static func soundexString(_ code: UInt32) -> String {
        guard code != 0 else { return "" }
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: code >> (24 - 8 * UInt32($0))) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: NYSIIS

    /// Length kept by `nysiis`: the original algorithm truncates to six characters.
    public static let nysiisLength = 6

    /// NYSIIS (New York State Identification and Intelligence System, Taft 1970), the original
    /// algorithm as in Apache Commons Codec, truncated to 6 letters: `Brian`, `Brown` → BRAN;
    /// `Smith`, `Schmit` → SNAT; `Knuth` → NAT. Closer to English spelling than Soundex and keeps
    /// vowel positions, so it splits what Soundex lumps together (`Robert`/`Rupert`).
    ///
    /// Packed five bits per letter (A = 1 … Z = 26), first letter in the highest bits:
    /// `pack(L1…L6) = L1 << 25 | L2 << 20 | … | L6`. Shorter codes leave the low bits zero. 0 when
    /// there is no letter.
    public static func nysiis(_ key: NameKey) -> UInt32 {
        key.bytes.withUnsafeBufferPointer { nysiis($0) }
    }

    /// NYSIIS of the letters in `bytes` (either case); see `nysiis(_: NameKey)`.
    public static func nysiis(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        // Computed once per record for blocking, not per pair: a small array is fine.
        var letters: [UInt8] = []
        letters.reserveCapacity(bytes.count + 2)
        for raw in bytes {
            let b = raw & 0xDF
            if b >= 0x41 && b <= 0x5A { letters.append(b) }
        }
        let key = nysiisLetters(&letters)
        var packed: UInt32 = 0
        for (i, b) in key.prefix(nysiisLength).enumerated() {
            packed |= UInt32(b - 0x40) << (25 - 5 * UInt32(i))
        }
        return packed
    }

    /// The letters of a packed NYSIIS code (`"SNAT"`); empty for 0.
    public static func nysiisString(_ code: UInt32) -> String {
        var bytes: [UInt8] = []
        for i in 0..<nysiisLength {
            let v = UInt8((code >> (25 - 5 * UInt32(i))) & 0x1F)
            if v == 0 { break }
            bytes.append(v + 0x40)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The full (untruncated) NYSIIS key of upper-case letters; `letters` is used as working space.
    static func nysiisLetters(_ letters: inout [UInt8]) -> [UInt8] {
        if letters.isEmpty { return [] }
        func isVowel(_ c: UInt8) -> Bool { c == Ch.a || c == Ch.e || c == Ch.i || c == Ch.o || c == Ch.u }
        func starts(_ p: [UInt8]) -> Bool { letters.starts(with: p) }
        func ends(_ p: [UInt8]) -> Bool { letters.count >= p.count && Array(letters.suffix(p.count)) == p }

        // 1. Translate first letters: MAC → MCC, KN → NN, K → C, PH/PF → FF, SCH → SSS.
        if starts([Ch.m, Ch.a, Ch.c]) {
            letters[1] = Ch.c
        } else if starts([Ch.k, Ch.n]) {
            letters[0] = Ch.n
        } else if starts([Ch.k]) {
            letters[0] = Ch.c
        } else if starts([Ch.p, Ch.h]) || starts([Ch.p, Ch.f]) {
            letters[0] = Ch.f
            letters[1] = Ch.f
        } else if starts([Ch.s, Ch.c, Ch.h]) {
            letters[1] = Ch.s
            letters[2] = Ch.s
        }
        // 2. Translate last letters: EE/IE → Y; DT, RT, RD, NT, ND → D.
        if ends([Ch.e, Ch.e]) || ends([Ch.i, Ch.e]) {
            letters.removeLast(2)
            letters.append(Ch.y)
        } else if ends([Ch.d, Ch.t]) || ends([Ch.r, Ch.t]) || ends([Ch.r, Ch.d]) || ends([Ch.n, Ch.t])
            || ends([Ch.n, Ch.d])
        {
            letters.removeLast(2)
            letters.append(Ch.d)
        }
        // 3. The key starts with the first letter; 4. transcode the rest in place.
        var key: [UInt8] = [letters[0]]
        let count = letters.count
        var i = 1
        while i < count {
            let previous = letters[i - 1]
            let current = letters[i]
            let next: UInt8 = i + 1 < count ? letters[i + 1] : 0x20
            let afterNext: UInt8 = i + 2 < count ? letters[i + 2] : 0x20
            if current == Ch.e && next == Ch.v {
                letters[i] = Ch.a
                letters[i + 1] = Ch.f
            } else if isVowel(current) {
                letters[i] = Ch.a
            } else if current == Ch.q {
                letters[i] = Ch.g
            } else if current == Ch.z {
                letters[i] = Ch.s
            } else if current == Ch.m {
                letters[i] = Ch.n
            } else if current == Ch.k {
                if next == Ch.n {
                    letters[i] = Ch.n
                    letters[i + 1] = Ch.n
                } else {
                    letters[i] = Ch.c
                }
            } else if current == Ch.s && next == Ch.c && afterNext == Ch.h {
                letters[i] = Ch.s
                letters[i + 1] = Ch.s
                letters[i + 2] = Ch.s
            } else if current == Ch.p && next == Ch.h {
                letters[i] = Ch.f
                letters[i + 1] = Ch.f
            } else if current == Ch.h && (!isVowel(previous) || !isVowel(next)) {
                letters[i] = previous
            } else if current == Ch.w && isVowel(previous) {
                letters[i] = previous
            }
            if letters[i] != letters[i - 1] { key.append(letters[i]) }
            i += 1
        }
        // 5–7. Drop a final S; final AY → Y; drop a final A.
        if key.count > 1 {
            if key.last == Ch.s { key.removeLast() }
            if key.count > 2 && key[key.count - 2] == Ch.a && key.last == Ch.y { key.remove(at: key.count - 2) }
            if key.count > 1 && key.last == Ch.a { key.removeLast() }
        }
        return key
    }
}

/// ASCII upper-case letters used by NYSIIS.
private enum Ch {
    static let a = UInt8(ascii: "A"), c = UInt8(ascii: "C"), d = UInt8(ascii: "D"), e = UInt8(ascii: "E")
    static let f = UInt8(ascii: "F"), g = UInt8(ascii: "G"), h = UInt8(ascii: "H"), i = UInt8(ascii: "I")
    static let k = UInt8(ascii: "K"), m = UInt8(ascii: "M"), n = UInt8(ascii: "N"), o = UInt8(ascii: "O")
    static let p = UInt8(ascii: "P"), q = UInt8(ascii: "Q"), r = UInt8(ascii: "R"), s = UInt8(ascii: "S")
    static let t = UInt8(ascii: "T"), u = UInt8(ascii: "U"), v = UInt8(ascii: "V"), w = UInt8(ascii: "W")
    static let y = UInt8(ascii: "Y"), z = UInt8(ascii: "Z")
}
