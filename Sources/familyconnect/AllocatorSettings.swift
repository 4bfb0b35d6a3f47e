/// How the C allocator keeps memory the process frees, set once before any command runs.
///
/// By default glibc gives blocks from 128 KiB up their own mappings and returns freed memory to the
/// kernel at once; the next array of that size then faults in fresh pages, which the kernel zeroes
/// first. A full resolve builds and drops many such arrays (keys, pairs, patterns, links), and at
/// 100,000 children harsh the kernel's page clearing was the largest single item of its profile
/// (17% of samples). Blocks up to 32 MiB (glibc's largest allowed threshold) now come from the heap,
/// and up to 512 MiB of freed heap is kept for reuse. Larger blocks still get their own mappings,
/// so the process's peak stays in proportion to what it holds.
enum AllocatorSettings {
    static let mappedBlockThreshold: Int32 = 32 << 20
    static let keptFreeMemory: Int32 = 512 << 20

    static func apply() {
        #if canImport(Glibc)
            _ = glibcMallopt(mmapThresholdParameter, mappedBlockThreshold)
            _ = glibcMallopt(trimThresholdParameter, keptFreeMemory)
        #endif
    }

    #if canImport(Glibc)
        // <malloc.h> is not part of Swift's Glibc module: its function and two of its constants
        // (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) are declared here.
        private static let mmapThresholdParameter: Int32 = -3
        private static let trimThresholdParameter: Int32 = -1
    #endif
}

#if canImport(Glibc)
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
