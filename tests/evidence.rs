//! Drill reports as evidence (issue 33): each is signed (Ed25519, a key made on first use, only
//! its owner can read) and chained to its cluster's previous one; `drills --verify` names every
//! report that was edited, forged, replayed or deleted, and exits 1. Drills at the provider
//! against the simulator make the reports quickly (their copies are no servers, so they fail:
//! failed drills are evidence too).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_only;

use std::path::PathBuf;

use serde_json::Value;
use sim_only::*;

fn drilled(n: usize) -> Env {
    let mut st = bridgerest::sim::sample_state(KEY, 0);
    st.restore_ms = 100;
    st.delete_ms = 100;
    let env = Env::with_state(st);
    std::fs::write(
        &env.config,
        env.providers_config(&format!(
            "\n[drill]\nat_provider = true\namcheck = false\nreports = \"{}\"\n",
            env.path("reports").display()
        )),
    )
    .unwrap();
    let mut last = String::new();
    for _ in 0..n {
        // Reports are named to the second: one drill per second at most.
        loop {
            let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
            if now != last {
                last = now;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let run = env.run(&["drill", "--cluster", IONOS_CLUSTER]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(!run.stderr.contains("not signed"), "{run:?}");
    }
    env
}

fn reports(env: &Env) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(env.path("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

fn name(p: &std::path::Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn verify(env: &Env, extra: &[&str]) -> Run {
    let mut args = vec!["drills", "--verify"];
    args.extend(extra);
    env.run(&args)
}

#[test]
fn signed_chained_reports_verify_and_each_tampering_is_named() {
    let env = drilled(4);
    let files = reports(&env);
    assert_eq!(files.len(), 4);
    // Sealed in order: #1 with no predecessor, each next naming the one before.
    let vals: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(v["seal"]["seq"], i as u64 + 1, "{v:#}");
        assert_eq!(v["seal"]["prev"].is_null(), i == 0, "{v:#}");
        assert_eq!(v["seal"]["signature"].as_str().unwrap().len(), 128);
    }
    // The key was made in the state directory, 0600; its public half 0644, as --public-key says.
    let key = env.path("state/drill-signing.key");
    assert_eq!(mode_of(&key) & 0o777, 0o600);
    assert_eq!(mode_of(&env.path("state/drill-signing.pub")) & 0o777, 0o644);
    let public = std::fs::read_to_string(env.path("state/drill-signing.pub")).unwrap();
    let printed = env.run(&["drills", "--public-key"]);
    assert_eq!(printed.code, 0, "{printed:?}");
    assert_eq!(printed.stdout, public);
    assert!(
        public.starts_with("ed25519 ") && public.split_whitespace().nth(1).unwrap().len() == 64
    );
    assert_eq!(
        vals[0]["seal"]["key"].as_str(),
        public.split_whitespace().nth(2)
    );

    let ok = verify(&env, &[]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(
        ok.stdout.contains("ok: 4 report(s) of 1 cluster(s)"),
        "{ok:?}"
    );

    let failed = |run: &Run, what: &str| {
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(run.stdout.contains(what), "{what}: {run:?}");
    };

    // One byte edited: the report says it reached another target.
    let original = std::fs::read(&files[1]).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let target = vals[1]["target"].as_str().unwrap();
    let mut edited = target.as_bytes().to_vec();
    edited[3] = if edited[3] == b'9' { b'8' } else { b'9' };
    std::fs::write(
        &files[1],
        text.replacen(target, std::str::from_utf8(&edited).unwrap(), 1),
    )
    .unwrap();
    failed(
        &verify(&env, &[]),
        &format!(
            "{}: the signature does not match: edited or forged",
            name(&files[1])
        ),
    );
    std::fs::write(&files[1], &original).unwrap();

    // A report of the middle deleted.
    let third = std::fs::read(&files[2]).unwrap();
    std::fs::remove_file(&files[2]).unwrap();
    failed(
        &verify(&env, &[]),
        &format!(
            "#3 missing between {} and {}: deleted",
            name(&files[1]),
            name(&files[3])
        ),
    );
    std::fs::write(&files[2], &third).unwrap();

    // A forged one dropped in, unsigned, under a name of its own time.
    let mut forged = vals[3].clone();
    forged.as_object_mut().unwrap().remove("seal");
    forged["ok"] = Value::Bool(true);
    forged["started_at"] = Value::String("2026-01-01T00:00:00Z".into());
    let forged_name = format!("{IONOS_CLUSTER}-20260101T000000Z.json");
    let forged_at = env.path("reports").join(&forged_name);
    std::fs::write(&forged_at, serde_json::to_vec_pretty(&forged).unwrap()).unwrap();
    failed(&verify(&env, &[]), &format!("{forged_name}: unsigned"));
    std::fs::remove_file(&forged_at).unwrap();

    // An old one replayed as a new drill (its bytes under a later name).
    let replayed_name = format!("{IONOS_CLUSTER}-20991231T000000Z.json");
    let replayed_at = env.path("reports").join(&replayed_name);
    std::fs::copy(&files[0], &replayed_at).unwrap();
    failed(
        &verify(&env, &[]),
        &format!(
            "{replayed_name}: signed as {}: renamed or replayed",
            name(&files[0])
        ),
    );
    std::fs::remove_file(&replayed_at).unwrap();

    // The newest deleted: only the chain's head, kept out of the reports directory, sees it.
    let newest = std::fs::read(&files[3]).unwrap();
    std::fs::remove_file(&files[3]).unwrap();
    failed(
        &verify(&env, &[]),
        &format!(
            "the newest report after {} (#3) deleted (the chain's head is #4)",
            name(&files[2])
        ),
    );
    std::fs::write(&files[3], &newest).unwrap();

    // Another key: every report is named as not signed by it.
    let other = env.path("other.pub");
    std::fs::write(&other, format!("ed25519 {} x\n", "ab".repeat(32))).unwrap();
    let run = verify(&env, &["--public-key", other.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout.matches("signed by another key").count(),
        4,
        "{run:?}"
    );

    // All put back: it verifies again.
    let again = verify(&env, &[]);
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn a_drill_after_a_deleted_report_does_not_heal_the_gap() {
    let env = drilled(2);
    let files = reports(&env);
    std::fs::remove_file(&files[1]).unwrap();
    // The next drill chains from the head (#2), not from what the directory still holds.
    let env = {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let run = env.run(&["drill", "--cluster", IONOS_CLUSTER]);
        assert_eq!(run.code, 1, "{run:?}");
        env
    };
    let run = verify(&env, &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("#2 missing between"), "{run:?}");
}

#[test]
fn a_signing_key_other_users_can_read_signs_nothing_and_says_so() {
    let env = drilled(1);
    let key = env.path("state/drill-signing.key");
    set_mode(&key, 0o644);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let run = env.run(&["drill", "--cluster", IONOS_CLUSTER]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("the drill report is not signed")
            && run
                .stderr
                .contains("can be read by other users (mode 0644)"),
        "{run:?}"
    );
    // The unsigned report is named by --verify (against the public key, which still reads).
    let v = verify(&env, &[]);
    assert_eq!(v.code, 1, "{v:?}");
    assert!(v.stdout.contains(": unsigned"), "{v:?}");
}

#[test]
fn a_drill_over_its_restore_time_objective_fails_its_rto_check_with_both_figures() {
    let mut st = bridgerest::sim::sample_state(KEY, 0);
    st.restore_ms = 300;
    st.delete_ms = 100;
    let env = Env::with_state(st);
    // The default objective is an hour; the IONOS cluster's own is 100 ms, which its copy
    // (ready after about 300 ms at the simulated provider) misses.
    let text = env
        .providers_config(&format!(
            "\n[drill]\nat_provider = true\namcheck = false\nrto = \"1h\"\nreports = \"{}\"\n",
            env.path("reports").display()
        ))
        .replacen(
            &format!("id = \"{IONOS_CLUSTER}\"\n"),
            &format!("id = \"{IONOS_CLUSTER}\"\nrto = \"100ms\"\n"),
            1,
        );
    std::fs::write(&env.config, text).unwrap();
    let rto = |id: &str| -> (Value, Value) {
        let run = env.run(&["drill", "--cluster", id, "--json"]);
        let rep: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{run:?}"));
        let check = rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "rto")
            .unwrap_or_else(|| panic!("no rto check: {rep:#}"))
            .clone();
        (check, rep["rto_seconds"].clone())
    };
    let (ionos, objective) = rto(IONOS_CLUSTER);
    assert_eq!(ionos["ok"], false, "{ionos}");
    assert_eq!(objective, 0.1);
    let detail = ionos["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("the copy at IONOS DBaaS became ready in ")
            && detail.ends_with(" over the restore-time objective of 100 ms"),
        "{detail}"
    );
    let (launcher, objective) = rto(LAUNCHER_DB);
    assert_eq!(launcher["ok"], true, "{launcher}");
    assert_eq!(objective, 3600.0);
    assert!(
        launcher["detail"]
            .as_str()
            .unwrap()
            .ends_with(" within the restore-time objective of 1 h 0 min"),
        "{launcher}"
    );
    // A zero objective is refused where it is given, naming the cluster.
    std::fs::write(
        &env.config,
        env.providers_config("\n[drill]\nrto = \"1h\"\n").replacen(
            &format!("id = \"{IONOS_CLUSTER}\"\n"),
            &format!("id = \"{IONOS_CLUSTER}\"\nrto = \"0s\"\n"),
            1,
        ),
    )
    .unwrap();
    env.run(&["drills"]).assert_error(
        2,
        &format!("cluster {IONOS_CLUSTER}: rto = \"0s\": must be longer than zero"),
    );
}

#[test]
fn a_signed_follow_up_is_bound_to_its_report_shown_on_the_page_and_each_tampering_is_named() {
    let env = drilled(2);
    let files = reports(&env);
    let (first, second) = (name(&files[0]), name(&files[1]));
    // The follow-up of a failed drill, by the report's path; who wrote it is said.
    let run = env.run(&[
        "drills",
        "--note",
        files[0].to_str().unwrap(),
        "The provider's copy takes no connection without db_username: set in [ionos], ticket OPS-4711.",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let notes: Vec<PathBuf> = std::fs::read_dir(env.path("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "note"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert!(
        name(note).starts_with(&format!("{}.", first.trim_end_matches(".json"))),
        "{note:?}"
    );
    assert!(
        run.stdout
            .starts_with(&format!("note:      {}", note.display())),
        "{run:?}"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(note).unwrap()).unwrap();
    assert_eq!(v["report"], first.as_str());
    assert_eq!(v["signature"].as_str().unwrap().len(), 128);
    assert!(!v["by"].as_str().unwrap().is_empty());
    // It verifies with the reports, and the page shows it under its drill (escaped).
    let ok = verify(&env, &[]);
    assert_eq!(ok.code, 0, "{ok:?}");
    let page = env.path("page.html");
    let html = env.run(&["drills", "--html", page.to_str().unwrap()]);
    assert_eq!(html.code, 0, "{html:?}");
    let text = std::fs::read_to_string(&page).unwrap();
    assert_eq!(text.matches("<b>Follow-up</b>").count(), 1, "{text}");
    assert!(
        text.contains("; signed): The provider&#39;s copy takes no connection without db_username: set in [ionos], ticket OPS-4711.</div>"),
        "{text}"
    );

    let failed = |what: &str| {
        let run = verify(&env, &[]);
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(run.stdout.contains(what), "{what}: {run:?}");
    };
    let original = std::fs::read(note).unwrap();
    // Its text edited.
    let mut edited = v.clone();
    edited["text"] = Value::String("Fixed.".into());
    std::fs::write(note, serde_json::to_vec(&edited).unwrap()).unwrap();
    failed(&format!(
        "{}: the signature does not match: edited or forged",
        name(note)
    ));
    // Moved to the other report's name.
    std::fs::write(note, &original).unwrap();
    let moved = env.path("reports").join(format!(
        "{}.20261201T000000Z.note",
        second.trim_end_matches(".json")
    ));
    std::fs::rename(note, &moved).unwrap();
    failed(&format!(
        "{}: signed as a note of {first}: renamed or replayed",
        name(&moved)
    ));
    std::fs::rename(&moved, note).unwrap();
    // The report it follows up replaced by an edit (a byte of its target).
    let report = std::fs::read(&files[0]).unwrap();
    let mut rv: Value = serde_json::from_slice(&report).unwrap();
    rv["ok"] = Value::Bool(true);
    std::fs::write(&files[0], serde_json::to_vec_pretty(&rv).unwrap()).unwrap();
    failed(&format!(
        "{}: the report it follows up, {first}, is not the one it was written for: replaced",
        name(note)
    ));
    std::fs::write(&files[0], &report).unwrap();
    assert_eq!(verify(&env, &[]).code, 0);

    // A report that is not there, a name that is no report's, an empty text: refused (2).
    let missing = env.run(&["drills", "--note", "nosuch-20260101T000000Z.json", "x"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing
            .stderr
            .contains("--note: no drill report named nosuch-20260101T000000Z.json in "),
        "{missing:?}"
    );
    let odd = env.run(&["drills", "--note", "/etc/passwd", "x"]);
    assert_eq!(odd.code, 2, "{odd:?}");
    assert!(
        odd.stderr
            .contains("give a drill report's file name or path"),
        "{odd:?}"
    );
    let empty = env.run(&["drills", "--note", &first, "  "]);
    assert_eq!(empty.code, 2, "{empty:?}");
    assert!(empty.stderr.contains("1 to 4000 characters"), "{empty:?}");
}
