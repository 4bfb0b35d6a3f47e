import Testing

@testable import Families

@Suite("Family id reconciler")
struct ReconcilerTests {
    struct LookUpFailed: Error {}

    @Test("a failed look-up of whether an id is taken is thrown, not taken for 'in use' (which minted forever)")
    func failedLookUpIsThrown() {
        var generator = SystemRandomNumberGenerator()
        var asked = 0
        #expect(throws: LookUpFailed.self) {
            _ = try FamilyReconciler.reconcile(groups: [["C1"]], previous: [:], generator: &generator) { _ in
                asked += 1
                throw LookUpFailed()
            }
        }
        #expect(asked == 1)
    }
}
