#!/usr/bin/env python3
"""Side-by-side benchmark: Splink (DuckDB) and familyconnect on the same synthetic feeds.

Run by deploy/dev/splink-compare, which has already ingested and resolved the same files with
familyconnect. This script maps the four partner CSVs written by `familyconnect synth` to one schema,
gives Splink (5, or 4 where the venv holds it) a fair model (its documented name, date-of-birth and postcode comparisons with
term-frequency adjustment, exact NHS number and UPN, blocking close to ours, u by random sampling,
EM on two blocking rules), predicts, clusters at a threshold, and scores BOTH systems against
truth.csv with the same pairwise code: precision, recall, F1, sibling/twin merges, wall time.

Benchmark only: never a dependency of the product, its tests or CI.
"""

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date

FEEDS = ["health_visiting", "school_attendance", "fsm_eligibility", "police_notifications"]


# --- reading the partner files into one schema -----------------------------------------------------


def parse_date(text, order):
    text = text.strip()
    if not text:
        return None
    try:
        if order == "ymd":
            y, m, d = text.split("-")
        else:
            d, m, y = text.split("/")
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def clean_name(text):
    text = " ".join(text.strip().split()).lower()
    return text or None


def clean_postcode(text):
    p = "".join(text.split()).upper()
    if len(p) < 5:
        return None
    return p[:-3] + " " + p[-3:]


def nhs_valid(digits):
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(digits[i]) * (10 - i) for i in range(9))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def clean_nhs(text):
    digits = "".join(text.split())
    return digits if nhs_valid(digits) else None


UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def clean_upn(text):
    u = text.strip().upper()
    if len(u) != 13 or not u[1:12].isdigit():
        return None
    total = 0
    for pos in range(2, 14):
        ch = u[pos - 1]
        if ch.isdigit():
            v = int(ch)
        elif pos == 13 and ch in UPN_ALPHABET:
            v = UPN_ALPHABET.index(ch)
        else:
            return None
        total += v * pos
    return u if UPN_ALPHABET[total % 23] == u[0] else None


def clean_sex(text):
    t = text.strip().upper()[:1]
    return t if t in ("M", "F") else None


def split_police_name(text):
    text = text.strip()
    if "," in text:
        surname, forename = text.split(",", 1)
    else:
        parts = text.split()
        forename, surname = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else ("", text)
    return clean_name(forename), clean_name(surname)


def read_feed(folder, feed):
    with open(f"{folder}/{feed}.csv", newline="", encoding="utf-8-sig") as f:
        for row_number, row in enumerate(csv.DictReader(f), start=1):
            rec = {"unique_id": f"{feed}#{row_number}", "feed": feed, "nhs": None, "upn": None,
                   "mother_nhs": None, "sex": None, "preferred_name": None}
            if feed == "health_visiting":
                if not row["ChildForename"].strip() and not row["ChildSurname"].strip():
                    continue  # antenatal contact: no child yet
                rec.update(first_name=clean_name(row["ChildForename"]), surname=clean_name(row["ChildSurname"]),
                           dob=parse_date(row["ChildDOB"], "dmy"), postcode=clean_postcode(row["Postcode"]),
                           nhs=clean_nhs(row["ChildNHSNumber"]), mother_nhs=clean_nhs(row["MotherNHSNumber"]),
                           sex=clean_sex(row["ChildSex"]))
            elif feed == "school_attendance":
                rec.update(first_name=clean_name(row["LegalForename"]), surname=clean_name(row["LegalSurname"]),
                           dob=parse_date(row["DateOfBirth"], "ymd"), postcode=clean_postcode(row["Postcode"]),
                           upn=clean_upn(row["UPN"]), sex=clean_sex(row["Gender"]),
                           preferred_name=clean_name(row["PreferredForename"]))
            elif feed == "fsm_eligibility":
                rec.update(first_name=clean_name(row["Child Forename"]), surname=clean_name(row["Child Surname"]),
                           dob=parse_date(row["Child DOB"], "dmy"), postcode=clean_postcode(row["Postcode"]))
            else:
                fore, sur = split_police_name(row["CHILD_NAME"])
                rec.update(first_name=fore, surname=sur, dob=parse_date(row["CHILD_DOB"], "dmy"),
                           postcode=clean_postcode(row["POSTCODE"]))
            rec["birth_year"] = rec["dob"].year if rec["dob"] else None
            yield rec


def read_truth(folder):
    truth = {}
    with open(f"{folder}/truth.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["child_key"]:
                truth[f"{row['feed']}#{row['row']}"] = (row["child_key"], row["family_key"])
    return truth


# --- scoring ---------------------------------------------------------------------------------------


def score(assignment, truth):
    """assignment: record key -> cluster id (records missing from it are singletons)."""
    pairs = lambda n: n * (n - 1) // 2
    contingency = defaultdict(Counter)
    per_child = Counter()
    for key, (child, _family) in truth.items():
        cluster = assignment.get(key, ("singleton", key))
        contingency[cluster][child] += 1
        per_child[child] += 1
    family_of = {child: family for child, family in truth.values()}
    predicted = correct = sibling_merges = false_merges = 0
    for children in contingency.values():
        predicted += pairs(sum(children.values()))
        correct += sum(pairs(n) for n in children.values())
        if len(children) > 1:
            false_merges += 1
            kids = sorted(children)
            for i in range(len(kids)):
                for j in range(i + 1, len(kids)):
                    if family_of[kids[i]] == family_of[kids[j]]:
                        sibling_merges += 1
    true_pairs = sum(pairs(n) for n in per_child.values())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "sibling_merges": sibling_merges,
            "false_merges": false_merges, "records": len(truth), "true_pairs": true_pairs}


# --- familyconnect's answer, read from its database -------------------------------------------------


def familyconnect_assignment(conninfo):
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", ",", conninfo, "-c",
         "SELECT sr.feed, sr.record_number, cr.child_id FROM source_records sr "
         "JOIN child_records cr ON cr.record_id = sr.id"],
        check=True, capture_output=True, text=True).stdout
    assignment = {}
    for line in io.StringIO(out):
        line = line.strip()
        if line:
            feed, number, child = line.split(",")
            assignment[f"{feed}#{number}"] = child
    return assignment


# --- Splink ----------------------------------------------------------------------------------------


def run_splink(records, thresholds, max_pairs_u):
    """Trains, predicts once, and clusters at each threshold: {threshold: (assignment, cluster seconds)}."""
    import logging

    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)

    df = pd.DataFrame.from_records(records)
    df["dob"] = pd.to_datetime(df["dob"])
    for column in ["nhs", "upn", "mother_nhs", "sex", "first_name", "surname", "postcode", "preferred_name"]:
        df[column] = df[column].astype("object").where(df[column].notna(), None)
    df["birth_year"] = df["birth_year"].astype("Int64")

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=False),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs"),
            cl.ExactMatch("upn"),
            cl.ExactMatch("sex"),
        ],
        # Close to familyconnect's rules: date of birth with surname or forename, names with birth
        # year, postcode with forename initial, the identifiers, the mother's NHS number.
        blocking_rules_to_generate_predictions=[
            block_on("dob", "substr(surname, 1, 2)"),
            block_on("dob", "substr(first_name, 1, 1)"),
            block_on("substr(surname, 1, 3)", "substr(first_name, 1, 1)", "birth_year"),
            block_on("postcode", "substr(first_name, 1, 1)"),
            block_on("nhs"),
            block_on("upn"),
            block_on("mother_nhs", "substr(first_name, 1, 1)"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    if hasattr(db_api, "register"):
        # Splink 5 takes only tables registered with its database API.
        linker = Linker(db_api.register(df, dataset_display_name="records"), settings)
    else:
        linker = Linker(df, settings, db_api=db_api)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nhs"), block_on("upn")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=1)
    # EM on blocks where true matches dominate, so the latent "match" class is one child, not one family
    # (on date of birth or postcode alone, twins and siblings would teach it that a different forename is
    # a small matter): the UPN and the NHS number train the names, date of birth and postcode; names with
    # date of birth train the identifiers (a block wide enough to see an identifier differ within one child).
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("upn"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("nhs"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "dob"))
    predictions = linker.inference.predict(threshold_match_probability=min(0.5, min(thresholds)))
    if os.environ.get("SPLINK_MODEL_JSON"):
        linker.misc.save_model_to_json(os.environ["SPLINK_MODEL_JSON"], overwrite=True)
    out = {}
    for threshold in thresholds:
        started = time.time()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold)
        frame = clusters.as_pandas_dataframe()
        out[threshold] = (dict(zip(frame["unique_id"], frame["cluster_id"])), time.time() - started)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", required=True, help="folder written by familyconnect synth")
    ap.add_argument("--database", required=True, help="libpq conninfo of the familyconnect database")
    ap.add_argument("--threshold", type=float, default=0.95, help="Splink clustering match probability")
    ap.add_argument("--also-thresholds", default="0.99,0.999",
                    help="stricter thresholds also shown (same predictions, clustered again); '' for none")
    ap.add_argument("--u-pairs", type=float, default=5e6, help="pairs sampled to estimate u")
    ap.add_argument("--ingest-seconds", type=float, required=True)
    ap.add_argument("--resolve-seconds", type=float, required=True)
    ap.add_argument("--resolve-peak-kib", type=int, default=0, help="familyconnect resolve's peak memory")
    args = ap.parse_args()

    truth = read_truth(args.feeds)
    t0 = time.time()
    records = [r for feed in FEEDS for r in read_feed(args.feeds, feed)]
    t1 = time.time()
    thresholds = [args.threshold] + [float(t) for t in args.also_thresholds.split(",") if t.strip()]
    splink_runs = run_splink(records, thresholds, args.u_pairs)
    t2 = time.time()
    # DuckDB runs inside this process, so its peak is this process's.
    splink_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cluster_seconds = sum(seconds for _, seconds in splink_runs.values())
    ours = score(familyconnect_assignment(args.database), truth)

    import splink
    print(f"records with ground truth: {ours['records']}, true same-child pairs: {ours['true_pairs']}")
    header = f"{'system':<34} {'precision':>9} {'recall':>9} {'F1':>9} {'sib/twin':>8} {'mixed':>6}  wall time"
    print(header)
    print("-" * len(header))
    print(f"{'familyconnect (ingest + resolve)':<34} {ours['precision']:9.5f} {ours['recall']:9.5f} {ours['f1']:9.5f} "
          f"{ours['sibling_merges']:8d} {ours['false_merges']:6d}  ingest {args.ingest_seconds:.1f} s + "
          f"resolve {args.resolve_seconds:.1f} s (resolve peak {args.resolve_peak_kib / 1024:.0f} MiB)")
    for threshold in thresholds:
        assignment, seconds = splink_runs[threshold]
        theirs = score(assignment, truth)
        label = f"Splink {splink.__version__} (DuckDB, p>={threshold})"
        if threshold == args.threshold:
            timing = (f"read {t1 - t0:.1f} s + train, predict, cluster "
                      f"{t2 - t1 - cluster_seconds + seconds:.1f} s (peak {splink_peak_mib:.0f} MiB)")
        else:
            timing = f"(same predictions; cluster {seconds:.1f} s)"
        print(f"{label:<34} {theirs['precision']:9.5f} {theirs['recall']:9.5f} {theirs['f1']:9.5f} "
              f"{theirs['sibling_merges']:8d} {theirs['false_merges']:6d}  {timing}")
    _, first_cluster_seconds = splink_runs[args.threshold]
    splink_seconds = t2 - t1 - cluster_seconds + first_cluster_seconds
    print(f"speed: familyconnect resolve {args.resolve_seconds:.1f} s, Splink train + predict + cluster "
          f"{splink_seconds:.1f} s: resolve is {splink_seconds / args.resolve_seconds:.2f}x Splink's speed")
    print("sib/twin: pairs of children of one family in one cluster; mixed: clusters holding more than one child")
    return 0


if __name__ == "__main__":
    sys.exit(main())
