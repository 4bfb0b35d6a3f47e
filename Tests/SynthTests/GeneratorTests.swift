import Foundation
import Identifiers
import Testing

@testable import Synth

/// Tests of the internal generators, each checked by the independent validators in TestSupport.swift.
@Suite struct GeneratorTests {
    @Test func populationIdentifiersAreValidAndUnique() {
        let pop = Population(children: 6000, seed: 77, asOf: SynthConfig.defaultAsOf)
        #expect(pop.children.count == 6000)
        var nhs = Set<UInt64>()
        var upns = Set<String>()
        var schoolAge = 0
        for c in pop.children {
            let text = Noise.nhsText(c.nhs)
            #expect(independentNHSCheck(text))
            #expect(nhs.insert(c.nhs).inserted, "duplicate NHS number")
            if !c.upn.isEmpty {
                schoolAge += 1
                #expect(independentUPNCheck(c.upn))
                #expect(upns.insert(c.upn).inserted, "duplicate UPN")
            }
            let dob = CalendarDate(dayNumber: Int(c.dob))
            #expect(dob < pop.asOf && dob.age(on: pop.asOf) <= 16)
        }
        #expect(schoolAge > 3000)
        var ninos = Set<String>()
        for f in pop.families {
            for adult in [f.mother] + (f.partner.map { [$0] } ?? []) {
                #expect(independentNHSCheck(Noise.nhsText(adult.nhs)))
                #expect(nhs.insert(adult.nhs).inserted)
                #expect(independentNINOShape(adult.nino))
                #expect(ninos.insert(adult.nino).inserted)
                #expect(adult.dob < Int32(pop.asOfDay))
            }
            #expect(f.childCount <= 4)
            // Each twin has exactly one sibling born the same day; nobody else shares a birthday with a sibling.
            for ci in f.children {
                let sameDay = f.children.filter { $0 != ci && pop.children[$0].dob == pop.children[ci].dob }
                #expect(sameDay.count == (pop.children[ci].twin ? 1 : 0))
                for other in sameDay {
                    #expect(pop.children[other].forename != pop.children[ci].forename)
                    #expect(pop.children[other].surname == pop.children[ci].surname)
                }
            }
            // Mothers are 16 or over at each birth.
            for ci in f.children {
                let age = CalendarDate(dayNumber: Int(f.mother.dob)).age(
                    on: CalendarDate(dayNumber: Int(pop.children[ci].dob)))
                #expect(age >= 16 && age <= 45)
            }
        }
    }

    @Test func brokenIdentifiersReallyFail() {
        var rng = SynthRandom(seed: 3)
        let pop = Population(children: 500, seed: 3, asOf: SynthConfig.defaultAsOf)
        for c in pop.children {
            #expect(!independentNHSCheck(Noise.invalidNHS(c.nhs, &rng)))
            if !c.upn.isEmpty { #expect(!independentUPNCheck(Noise.invalidUPN(c.upn, &rng))) }
        }
    }

    @Test func randomIsDeterministicAndUniform() {
        var a = SynthRandom(seed: 1)
        var b = SynthRandom(seed: 1)
        var c = SynthRandom(seed: 2)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        #expect(xs != (0..<100).map { _ in c.next() })
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[a.below(10)] += 1 }
        #expect(counts.allSatisfy { $0 > 9_500 && $0 < 10_500 })
    }

    @Test func nameTablesAreLargeAndSkewed() {
        #expect(NameData.nicknamePairs.count >= 40)
        #expect(NameData.surnames.count >= 300)
        #expect(
            NameData.childGirls.count + NameData.childBoys.count + NameData.adultWomen.count
                + NameData.adultMen.count >= 300)
        let t = NameTables.shared
        var rng = SynthRandom(seed: 9)
        var counts: [UInt16: Int] = [:]
        for _ in 0..<50_000 { counts[t.surname(&rng), default: 0] += 1 }
        let smith = counts[0] ?? 0
        let rare = counts[UInt16(NameData.surnames.count - 1)] ?? 0
        #expect(smith > 10 * max(rare, 1))
        #expect(counts.count > 250)
        // Nicknames go both ways.
        let alfred = t.forenames.firstIndex(of: "Alfred")!
        let alfie = t.forenames.firstIndex(of: "Alfie")!
        #expect(t.alternates[alfred].contains(UInt16(alfie)))
        #expect(t.alternates[alfie].contains(UInt16(alfred)))
    }

    @Test func typosAlwaysChangeTheName() {
        var rng = SynthRandom(seed: 4)
        for name in ["Smith", "Ava", "O'Brien", "Zoë", "Lee", "Wiśniewski"] {
            for _ in 0..<200 { #expect(Noise.typo(name, &rng) != name) }
        }
        let d = CalendarDate(year: 2015, month: 3, day: 7)!
        #expect(Noise.swapDayMonth(d) == CalendarDate(year: 2015, month: 7, day: 3))
        #expect(Noise.swapDayMonth(CalendarDate(year: 2015, month: 3, day: 17)!) == nil)
        for _ in 0..<200 {
            if let t = Noise.digitTypo(d, &rng) { #expect(t != d) }
        }
    }
}
