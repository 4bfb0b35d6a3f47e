/// Eight bytes at a time: tests over a `UInt64` word of text, exact for every byte (no borrow or
/// carry crosses from one byte into the next), for the loops that run over every byte of a feed.
/// Bytes are in memory order: the first byte is the lowest.
enum ByteWords {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080
    private static let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// The eight bytes at `pointer` (any alignment).
    @inline(__always)
    static func load(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self))
    }

    /// The high bit of each byte of `word` below `limit` (1…0x80), and no other bit.
    @inline(__always)
    static func below(_ word: UInt64, _ limit: UInt64) -> UInt64 {
        ~(((word & lows) &+ ones &* (0x80 &- limit)) | word | lows)
    }

    /// The high bit of each byte of `word` equal to `byte`, and no other bit.
    @inline(__always)
    static func equal(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        below(word ^ (ones &* UInt64(byte)), 1)
    }
}
