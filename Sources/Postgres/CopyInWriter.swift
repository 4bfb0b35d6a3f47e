import CLibPQ

/// Writes rows into a running `COPY … FROM STDIN` in PostgreSQL's text format, buffering them
/// into large chunks. Only `PostgresConnection.copyIn` makes one.
public struct CopyInWriter: ~Copyable {
    private let handle: OpaquePointer
    private var buffer: [UInt8] = []
    private var fieldsInRow = 0
    public private(set) var rowsWritten = 0
    private static let chunkSize = 1 << 18

    init(handle: OpaquePointer) {
        self.handle = handle
        buffer.reserveCapacity(Self.chunkSize + 4096)
    }

    /// Appends one field to the current row; nil is SQL NULL.
    public mutating func appendField(_ value: String?) throws(PostgresError) {
        startField()
        guard var value else {
            buffer.append(contentsOf: [0x5C, 0x4E])  // \N
            return
        }
        // Fast path: most fields need no escaping and are copied whole.
        let copied: Bool = value.withUTF8 { bytes in
            for byte in bytes where byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x00 {
                return false
            }
            buffer.append(contentsOf: bytes)
            return true
        }
        if !copied { try appendEscaped(value.utf8) }
    }

    /// Appends one field from raw UTF-8 bytes (the fast path for loaders that already hold bytes).
    public mutating func appendField(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        startField()
        try appendEscaped(bytes)
    }

    /// Appends a whole row of fields and ends it.
    public mutating func writeRow(_ fields: [String?]) throws(PostgresError) {
        for field in fields { try appendField(field) }
        try endRow()
    }

    /// Ends the current row; sends the buffer to the server when it is large enough.
    public mutating func endRow() throws(PostgresError) {
        buffer.append(0x0A)
        fieldsInRow = 0
        rowsWritten += 1
        if buffer.count >= Self.chunkSize { try flush() }
    }

    mutating func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let sent = buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else {
            throw PostgresError(.copy, message: PostgresConnection.libpqMessage(handle))
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func startField() {
        if fieldsInRow > 0 { buffer.append(0x09) }
        fieldsInRow += 1
    }

    private mutating func appendEscaped(_ bytes: some Sequence<UInt8>) throws(PostgresError) {
        for byte in bytes {
            switch byte {
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x09: buffer.append(0x5C); buffer.append(0x74)
            case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
            case 0x0D: buffer.append(0x5C); buffer.append(0x72)
            case 0x00:
                throw PostgresError(.invalidParameter, message: "a COPY field contains a NUL byte")
            default: buffer.append(byte)
            }
        }
    }
}
