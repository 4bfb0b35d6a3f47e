import Resolution
import Testing

private func d(_ y: Int, _ m: Int, _ day: Int) -> (year: Int, month: Int, day: Int) { (y, m, day) }

@Suite("Comparators: dates of birth")
struct ComparatorDateTests {
    @Test func levels() {
        #expect(DateComparison.compare(d(2016, 3, 7), d(2016, 3, 7)) == .exact)
        // 3 April vs 4 March: a day/month swap.
        #expect(DateComparison.compare(d(2016, 4, 3), d(2016, 3, 4)) == .dayMonthSwapped)
        #expect(DateComparison.compare(d(2016, 10, 1), d(2016, 1, 10)) == .dayMonthSwapped)
        // 12/12 against itself is exact, never a swap.
        #expect(DateComparison.compare(d(2016, 12, 12), d(2016, 12, 12)) == .exact)
        // A day above 12 cannot be a month, so no swap: 2016-03-13 vs 2016-03-31 differ in two digits.
        #expect(DateComparison.compare(d(2016, 3, 13), d(2016, 3, 31)) == .different)
        // A swap needs the same year.
        #expect(DateComparison.compare(d(2016, 4, 3), d(2017, 3, 4)) == .different)
        // One digit of YYYYMMDD differs.
        #expect(DateComparison.compare(d(2016, 3, 7), d(2016, 3, 1)) == .oneDigitTypo)
        #expect(DateComparison.compare(d(2016, 3, 7), d(2017, 3, 7)) == .oneDigitTypo)
        #expect(DateComparison.compare(d(2016, 3, 7), d(2016, 8, 7)) == .oneDigitTypo)
        #expect(DateComparison.compare(d(2016, 3, 17), d(2016, 3, 27)) == .oneDigitTypo)
        #expect(DateComparison.compare(d(2016, 3, 7), d(2015, 3, 7)) == .oneDigitTypo)
        // Two digits differ.
        #expect(DateComparison.compare(d(2016, 3, 7), d(2016, 3, 18)) == .different)
        #expect(DateComparison.compare(d(2016, 3, 7), d(2017, 3, 8)) == .different)
        #expect(DateComparison.compare(d(2016, 3, 7), d(2016, 4, 8)) == .different)
        // Same day and month, a year apart, more than one digit: 2019 → 2020.
        #expect(DateComparison.compare(d(2019, 5, 4), d(2020, 5, 4)) == .withinOneYearSameDayMonth)
        #expect(DateComparison.compare(d(2020, 5, 4), d(2019, 5, 4)) == .withinOneYearSameDayMonth)
        #expect(DateComparison.compare(d(2018, 5, 4), d(2020, 5, 4)) == .different)
        // 1999 vs 2000: four digits differ, still one year apart.
        #expect(DateComparison.compare(d(1999, 12, 31), d(2000, 12, 31)) == .withinOneYearSameDayMonth)
    }

    @Test func missingAndOutOfRange() {
        let none: (year: Int, month: Int, day: Int)? = nil
        #expect(DateComparison.compare(none, d(2016, 3, 7)) == .missing)
        #expect(DateComparison.compare(d(2016, 3, 7) as (year: Int, month: Int, day: Int)?, none) == .missing)
        #expect(DateComparison.compare(d(2016, 13, 7), d(2016, 3, 7)) == .different)
        #expect(DateComparison.compare(d(2016, 13, 7), d(2016, 13, 7)) == .exact)
    }

    @Test func packing() {
        #expect(DateComparison.pack(year: 2016, month: 3, day: 7) == 20_160_307)
        #expect(DateComparison.pack(year: 2016, month: 0, day: 7) == nil)
        #expect(DateComparison.pack(year: 10_000, month: 1, day: 1) == nil)
        #expect(DateComparison.compare(packed: 20_160_307, packed: 20_160_301) == .oneDigitTypo)
    }

    @Test func everyLevelIsSymmetric() {
        var rng = ComparatorSplitMix64(seed: 20_240_601)
        for _ in 0..<20_000 {
            let a = d(2000 + Int(rng.next() % 25), 1 + Int(rng.next() % 12), 1 + Int(rng.next() % 28))
            var b = a
            switch rng.next() % 4 {
            case 0: b = (a.year, a.day <= 12 ? a.day : a.month, a.day <= 12 ? a.month : a.day)
            case 1: b.day = 1 + Int(rng.next() % 28)
            case 2: b.year += Int(rng.next() % 3) - 1
            default: b = d(2000 + Int(rng.next() % 25), 1 + Int(rng.next() % 12), 1 + Int(rng.next() % 28))
            }
            #expect(DateComparison.compare(a, b) == DateComparison.compare(b, a))
        }
    }
}
