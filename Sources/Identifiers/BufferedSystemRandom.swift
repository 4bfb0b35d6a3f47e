#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's random numbers (the source `SystemRandomNumberGenerator` uses), fetched 512 at a time,
/// for minting ids (`OpaqueID.mint`, eight numbers an id): minting 240,000 family ids made two million
/// `getrandom` calls, a tenth of a first run's time, and a first resolution mints as many child ids.
public struct BufferedSystemRandom: RandomNumberGenerator {
    public init() {}

    private var buffer = [UInt64](repeating: 0, count: 512)
    private var position = 512

    public mutating func next() -> UInt64 {
        if position == buffer.count { refill() }
        position += 1
        return buffer[position - 1]
    }

    private mutating func refill() {
        var filled = 0
        #if canImport(Glibc)
            // The same kernel source as `getrandom`, read 4 KiB at a time.
            let file = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            if file >= 0 {
                buffer.withUnsafeMutableBytes { bytes in
                    while filled < bytes.count {
                        let got = read(file, bytes.baseAddress! + filled, bytes.count - filled)
                        if got <= 0 { break }
                        filled += got
                    }
                }
                close(file)
            }
        #endif
        if filled < buffer.count * 8 {
            var system = SystemRandomNumberGenerator()
            for index in buffer.indices { buffer[index] = system.next() }
        }
        position = 0
    }
}
