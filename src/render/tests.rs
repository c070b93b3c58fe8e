//! Snapshot and property tests of rendering, merging and redaction.

use super::*;
use crate::provider::{AzureKeyType, AzureStore, GcsStore, S3Store};

fn cluster(opts: &[(&str, &str)]) -> ClusterConfig {
    ClusterConfig {
        id: "rvf73a77ozfsvcttryebfrnlem".into(),
        pg1_path: "/var/lib/postgresql/15/main".into(),
        stanza: None,
        options: opts
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect(),
    }
}

fn token(store: Store) -> BackupToken {
    BackupToken {
        id: "agaqf6fanse45vspjcctakuyky".into(),
        cluster_id: "rvf73a77ozfsvcttryebfrnlem".into(),
        team_id: "eaevtjiudzeq7bsqbbpiscund4".into(),
        repo_path: "/the-path".into(),
        stanza: "2qc6yv2ztfcw7a7yoripu4zlsm".into(),
        store,
        expires_at: None,
    }
}

fn s3(kms: Option<&str>) -> Store {
    Store::S3(S3Store {
        bucket: "the-bucket".into(),
        region: "us-west-1".into(),
        key: "AKIAEXAMPLEKEY".to_string().into(),
        key_secret: "s3-secret-value".to_string().into(),
        token: "s3-session-token".to_string().into(),
        kms_key_id: kms.map(str::to_string),
    })
}

fn azure(kind: AzureKeyType) -> Store {
    Store::Azure(AzureStore {
        account: "acct".to_string().into(),
        container: "the-container".into(),
        key: "se=2026-11-23T00%3A00%3A00Z&sp=rl&sig=abc%3D"
            .to_string()
            .into(),
        key_type: kind,
    })
}

fn out() -> &'static Path {
    Path::new("/etc/pgbackrest/conf.d")
}

#[test]
fn s3_stanza() {
    let s = stanza(
        &cluster(&[]),
        &token(s3(Some("arn:aws:kms:key/1"))),
        out(),
        None,
    )
    .unwrap();
    insta::assert_snapshot!(owned_file(
        std::slice::from_ref(&s),
        Path::new("/etc/bridgerest/bridgerest.toml"),
        true
    ));
    let plain = owned_file(&[s], Path::new("/etc/bridgerest/bridgerest.toml"), false);
    for line in [
        "repo1-s3-key=AKIAEXAMPLEKEY\n",
        "repo1-s3-key-secret=s3-secret-value\n",
        "repo1-s3-token=s3-session-token\n",
    ] {
        assert!(plain.contains(line), "{line} missing");
    }
}

#[test]
fn s3_process_keys_name_the_command_not_the_keys() {
    let argv: Vec<String> = [
        "/usr/bin/bridgerest",
        "--config=/etc/b.toml",
        "credential-process",
        "--cluster=2qc6yv2ztfcw7a7yoripu4zlsm",
    ]
    .map(String::from)
    .to_vec();
    let s = stanza(&cluster(&[]), &token(s3(None)), out(), Some(&argv)).unwrap();
    let plain = owned_file(
        std::slice::from_ref(&s),
        Path::new("/etc/bridgerest/bridgerest.toml"),
        false,
    );
    assert!(plain.contains("repo1-s3-key-type=process\nrepo1-s3-process-cmd=/usr/bin/bridgerest\nrepo1-s3-process-cmd=--config=/etc/b.toml\nrepo1-s3-process-cmd=credential-process\nrepo1-s3-process-cmd=--cluster=2qc6yv2ztfcw7a7yoripu4zlsm\n"), "{plain}");
    for secret in ["AKIAEXAMPLEKEY", "s3-secret-value", "s3-session-token"] {
        assert!(!plain.contains(secret), "{secret} rendered");
    }
    // Read back (the list option repeats) for the keep-last-good path.
    let back = previous_stanzas(&plain).unwrap();
    assert_eq!(back["rvf73a77ozfsvcttryebfrnlem"].entries, s.entries);
}

#[test]
fn s3_endpoint_override_and_options() {
    let c = cluster(&[
        ("repo1-s3-endpoint", "127.0.0.1"),
        ("repo1-s3-uri-style", "path"),
        ("process-max", "4"),
    ]);
    let s = stanza(&c, &token(s3(None)), out(), None).unwrap();
    insta::assert_snapshot!(owned_file(
        &[s],
        Path::new("/etc/bridgerest/bridgerest.toml"),
        true
    ));
}

#[test]
fn azure_sas_and_shared() {
    let sas = stanza(&cluster(&[]), &token(azure(AzureKeyType::Sas)), out(), None).unwrap();
    insta::assert_snapshot!(owned_file(
        std::slice::from_ref(&sas),
        Path::new("/etc/bridgerest/bridgerest.toml"),
        true
    ));
    assert!(sas.entries.contains(&(
        "repo1-azure-key".into(),
        "se=2026-11-23T00%3A00%3A00Z&sp=rl&sig=abc%3D".into()
    )));
    let shared = stanza(
        &cluster(&[]),
        &token(azure(AzureKeyType::Shared)),
        out(),
        None,
    )
    .unwrap();
    assert!(shared
        .entries
        .contains(&("repo1-azure-key-type".into(), "shared".into())));
}

#[test]
fn gcs_token_and_service_key() {
    let tok = Store::Gcs(GcsStore {
        bucket: "b".into(),
        credential: Some(GcsCredential::Token("ya29.tok".to_string().into())),
    });
    let s = stanza(&cluster(&[]), &token(tok), out(), None).unwrap();
    insta::assert_snapshot!(owned_file(
        std::slice::from_ref(&s),
        Path::new("/etc/bridgerest/bridgerest.toml"),
        true
    ));
    assert!(s
        .entries
        .contains(&("repo1-gcs-key".into(), "Bearer ya29.tok".into())));
    let key = Store::Gcs(GcsStore {
        bucket: "b".into(),
        credential: Some(GcsCredential::ServiceKey("{\"k\":1}".to_string().into())),
    });
    let s = stanza(&cluster(&[]), &token(key), out(), None).unwrap();
    let path = "/etc/pgbackrest/conf.d/2qc6yv2ztfcw7a7yoripu4zlsm.gcs-key.json";
    assert!(s.entries.contains(&("repo1-gcs-key".into(), path.into())));
    assert!(s
        .entries
        .contains(&("repo1-gcs-key-type".into(), "service".into())));
    assert_eq!(s.files.len(), 1);
    assert_eq!(s.files[0].path, Path::new(path));
}

#[test]
fn gcs_without_a_credential_uses_the_users_key() {
    let bare = Store::Gcs(GcsStore {
        bucket: "b".into(),
        credential: None,
    });
    let err = stanza(&cluster(&[]), &token(bare.clone()), out(), None).unwrap_err();
    assert_eq!(err, RenderError::NoGcsCredential);
    assert!(err
        .to_string()
        .contains("\"repo1-gcs-key-type\" = \"service\""));
    let c = cluster(&[
        ("repo1-gcs-key-type", "service"),
        ("repo1-gcs-key", "/etc/bridgerest/gcs-key.json"),
    ]);
    let s = stanza(&c, &token(bare), out(), None).unwrap();
    let text = owned_file(&[s], Path::new("/b.toml"), false);
    assert!(text.contains("repo1-gcs-bucket=b\n"), "{text}");
    assert!(text.contains("repo1-gcs-key-type=service\n"), "{text}");
    assert!(
        text.contains("repo1-gcs-key=/etc/bridgerest/gcs-key.json\n"),
        "{text}"
    );
    assert_eq!(text.matches("repo1-gcs-key=").count(), 1);
}

#[test]
fn clashing_option_is_an_error_naming_it() {
    let err = stanza(
        &cluster(&[("repo1-s3-bucket", "other")]),
        &token(s3(None)),
        out(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        RenderError::OptionClash {
            key: "repo1-s3-bucket".into()
        }
    );
    assert!(err.to_string().contains("repo1-s3-bucket"));
}

#[test]
fn redaction_hides_every_secret() {
    let s3s = stanza(
        &cluster(&[("repo1-cipher-pass", "cipher-secret")]),
        &token(s3(None)),
        out(),
        None,
    )
    .unwrap();
    let az = Stanza {
        name: "az".into(),
        ..stanza(&cluster(&[]), &token(azure(AzureKeyType::Sas)), out(), None).unwrap()
    };
    let text = owned_file(
        &[s3s, az],
        Path::new("/etc/bridgerest/bridgerest.toml"),
        true,
    );
    for secret in [
        "AKIAEXAMPLEKEY",
        "s3-secret-value",
        "s3-session-token",
        "cipher-secret",
        "sig=abc",
        "acct",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    assert_eq!(text.matches(REDACTED).count(), 6);
}

#[test]
fn owned_file_round_trips_through_previous_stanzas() {
    let s = stanza(
        &cluster(&[("recovery-option", "a=b")]),
        &token(s3(None)),
        out(),
        None,
    )
    .unwrap();
    let text = owned_file(
        std::slice::from_ref(&s),
        Path::new("/etc/bridgerest/bridgerest.toml"),
        false,
    );
    let prev = previous_stanzas(&text).unwrap();
    let back = &prev["rvf73a77ozfsvcttryebfrnlem"];
    assert_eq!(back.name, s.name);
    assert_eq!(back.entries, s.entries);
}

#[test]
fn modes() {
    let conf_d = Path::new("/etc/pgbackrest/conf.d/bridgerest.conf");
    let main = Path::new("/etc/pgbackrest/pgbackrest.conf");
    assert_eq!(mode_for(conf_d, None), Mode::Owned);
    assert_eq!(mode_for(main, None), Mode::Merged);
    assert_eq!(
        mode_for(main, Some(&format!("{OWNED_HEADER}\n"))),
        Mode::Owned
    );
    assert_eq!(
        mode_for(conf_d, Some("[global]\nlog-level-console=info\n")),
        Mode::Merged
    );
}

#[test]
fn merge_keeps_everything_the_user_wrote() {
    let existing = "# my settings\n[global]\nlog-level-console=info\nprocess-max=2\n\n[2qc6yv2ztfcw7a7yoripu4zlsm]\n# archive settings\narchive-async=y\nrepo1-s3-key=OLDKEY\nrepo1-azure-key=stale\npg1-path=/old\n\n[other]\npg1-path=/x\n";
    let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
    let merged = merged_file(existing, std::slice::from_ref(&s), &[], false).unwrap();
    insta::assert_snapshot!(merged_file(existing, std::slice::from_ref(&s), &[], true).unwrap());
    assert!(
        !merged.contains("OLDKEY") && !merged.contains("stale") && !merged.contains("/old"),
        "{merged}"
    );
    assert!(merged.contains("repo1-s3-key=AKIAEXAMPLEKEY\n"));
    // merging again is stable
    assert_eq!(merged_file(&merged, &[s], &[], false).unwrap(), merged);
}

#[test]
fn merge_appends_new_stanzas_and_marks_kept_ones() {
    let existing = "[global]\nprocess-max=2\n\n[kept]\npg1-path=/k\nrepo1-s3-key=K\n";
    let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
    let merged = merged_file(
        existing,
        &[s],
        &[("drsve2t4f5e5znkmef6hmchy2e".into(), "kept".into())],
        true,
    )
    .unwrap();
    // Redacted by option name: a kept stanza's secrets are not in the fresh stanzas' values.
    assert!(merged.contains("# bridgerest: cluster drsve2t4f5e5znkmef6hmchy2e (kept from the last good refresh)\n[kept]\npg1-path=/k\nrepo1-s3-key=[redacted]\n"), "{merged}");
    assert!(merged.ends_with("repo1-s3-token=[redacted]\n"), "{merged}");
    assert!(
        merged.contains("\n\n# bridgerest: cluster rvf73a77ozfsvcttryebfrnlem"),
        "{merged}"
    );
}

#[test]
fn redaction_is_by_option_name_everywhere_in_the_file() {
    let existing = "[global]\nrepo2-type=s3\nrepo2-s3-key-secret=USERSECRET\nrepo2-cipher-pass=CIPHER\n# repo1-s3-key=comment stays\n\n[mine]\nrepo3-azure-key=AZ\nrepo1-s3-sse-customer-key=SSE\npg1-path=/p\n";
    let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
    let red = merged_file(existing, &[s], &[], true).unwrap();
    for secret in ["USERSECRET", "CIPHER", "AZ\n", "SSE", "AKIAEXAMPLEKEY"] {
        assert!(!red.contains(secret), "{secret} shown:\n{red}");
    }
    assert!(red.contains("repo2-type=s3\n") && red.contains("pg1-path=/p\n"));
    assert!(red.contains("# repo1-s3-key=comment stays\n"), "{red}");
}

#[test]
fn kept_values_round_trip_exactly() {
    // rust-ini would join a line ending in '\\' to the next and trim the value.
    let mut s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
    for (k, v) in s.entries.iter_mut() {
        if k == "repo1-s3-token" {
            *v = "tok\\".into();
        }
        if k == "repo1-s3-key" {
            *v = "  padded key  ".into();
        }
    }
    let text = owned_file(std::slice::from_ref(&s), Path::new("/b.toml"), false);
    let back = &previous_stanzas(&text).unwrap()["rvf73a77ozfsvcttryebfrnlem"];
    assert_eq!(back.entries, s.entries);
    let again = owned_file(std::slice::from_ref(back), Path::new("/b.toml"), false);
    let back2 = &previous_stanzas(&again).unwrap()["rvf73a77ozfsvcttryebfrnlem"];
    assert_eq!(back2.entries, s.entries);
}

#[test]
fn a_renamed_stanza_leaves_no_old_section_and_other_marks_stay() {
    let old = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
    let base = "[global]\nprocess-max=2\n\n# bridgerest: cluster drsve2t4f5e5znkmef6hmchy2e (another config)\n[theirs]\nrepo1-type=azure\n";
    let first = merged_file(base, std::slice::from_ref(&old), &[], false).unwrap();
    let renamed = Stanza {
        name: "s2".into(),
        ..old.clone()
    };
    let text = merged_file(&first, &[renamed], &[], false).unwrap();
    let secs = sections(&text).unwrap();
    let names: Vec<&str> = secs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["global", "theirs", "s2"], "{text}");
    assert_eq!(
        secs[1].marked_for.as_deref(),
        Some("drsve2t4f5e5znkmef6hmchy2e"),
        "another config's mark is kept:\n{text}"
    );
    assert!(!text.contains("AKIAEXAMPLEKEY\n[") && text.matches("repo1-s3-key=").count() == 1);
    // A user's own line in the old section keeps the section, without bridgerest's options.
    let with_user = first.replace(
        "[2qc6yv2ztfcw7a7yoripu4zlsm]\n",
        "[2qc6yv2ztfcw7a7yoripu4zlsm]\narchive-async=y\n",
    );
    let renamed = Stanza {
        name: "s2".into(),
        ..old
    };
    let text = merged_file(&with_user, &[renamed], &[], false).unwrap();
    let secs = sections(&text).unwrap();
    let old_sec = secs
        .iter()
        .find(|s| s.name == "2qc6yv2ztfcw7a7yoripu4zlsm")
        .unwrap();
    assert_eq!(
        old_sec.entries,
        [("archive-async".to_string(), "y".to_string())]
    );
    assert_eq!(old_sec.marked_for, None);
}

#[test]
fn clashes_with_unmarked_or_foreign_sections() {
    let text = "[prod]\nrepo1-type=posix\n\n# bridgerest: cluster drsve2t4f5e5znkmef6hmchy2e (x)\n[az]\nrepo1-type=azure\n";
    let secs = sections(text).unwrap();
    let f = Path::new("/etc/pgbackrest/pgbackrest.conf");
    let me = "rvf73a77ozfsvcttryebfrnlem";
    assert!(matches!(
        section_clash(&secs, "prod", me, f),
        Some(RenderError::UserSection { .. })
    ));
    assert!(matches!(
        section_clash(&secs, "az", me, f),
        Some(RenderError::OtherCluster { .. })
    ));
    assert_eq!(
        section_clash(&secs, "az", "drsve2t4f5e5znkmef6hmchy2e", f),
        None
    );
    assert_eq!(section_clash(&secs, "new", me, f), None);
}

#[test]
fn merge_refuses_unparsable_file() {
    assert!(matches!(
        merged_file("[broken\nx", &[], &[], false),
        Err(RenderError::BadExisting(_))
    ));
}

#[test]
fn secret_key_names() {
    for k in [
        "repo1-s3-key",
        "repo2-s3-key-secret",
        "repo1-s3-token",
        "repo1-azure-key",
        "repo1-gcs-key",
        "repo12-cipher-pass",
        "repo2-azure-account",
        "repo1-s3-sse-customer-key",
        "repo3-sftp-private-key-passphrase",
        "cipher-pass",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "repo1-s3-key-type",
        "repo1-azure-key-type",
        "repo1-s3-bucket",
        "pg1-path",
        "repo1-gcs-key-type",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
}

#[test]
fn secrets_are_typed_in_the_stanza_and_read_back_as_secrets() {
    let s = stanza(&cluster(&[]), &token(s3(None)), out(), None).unwrap();
    let secret: Vec<&str> = s
        .entries
        .iter()
        .filter(|(_, v)| v.is_secret())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        secret,
        ["repo1-s3-key", "repo1-s3-key-secret", "repo1-s3-token"]
    );
    let shown = format!("{:?}", s.entries);
    for v in ["AKIAEXAMPLEKEY", "s3-secret-value", "s3-session-token"] {
        assert!(!shown.contains(v), "{shown}");
    }
    assert!(shown.contains("the-bucket"), "{shown}");
    let text = owned_file(std::slice::from_ref(&s), Path::new("/b.toml"), false);
    let back = &previous_stanzas(&text).unwrap()["rvf73a77ozfsvcttryebfrnlem"];
    let back_secret: Vec<&str> = back
        .entries
        .iter()
        .filter(|(_, v)| v.is_secret())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(back_secret, secret);
}

/// #30: a repository the user configured in `[cluster.options]`: `pg1-path`, then the options
/// (a list one line per item), its secrets typed as secrets, its store type from `repo1-type`,
/// nothing that expires; read back from the file, it is this cluster's.
#[test]
fn a_stanza_from_the_options_alone() {
    let mut c = cluster(&[
        ("repo1-type", "s3"),
        ("repo1-s3-bucket", "backups"),
        ("repo1-s3-key-secret", "user-secret"),
    ]);
    c.id = "main".into();
    c.stanza = Some("main".into());
    c.options
        .insert("recovery-option".into(), vec!["a=1".into(), "b=2".into()]);
    let s = options_stanza(&c);
    assert_eq!(s.kind, Some("s3"));
    assert_eq!(s.expires_at, None);
    assert_eq!(s.secret_values().collect::<Vec<_>>(), ["user-secret"]);
    let text = owned_file(
        std::slice::from_ref(&s),
        Path::new("/etc/bridgerest/bridgerest.toml"),
        true,
    );
    assert_eq!(
        text,
        format!(
            "{OWNED_HEADER}\n# bridgerest: change /etc/bridgerest/bridgerest.toml instead.\n\n\
             # bridgerest: cluster main (s3 repository, options from the config)\n[main]\n\
             pg1-path=/var/lib/postgresql/15/main\nrecovery-option=a=1\nrecovery-option=b=2\n\
             repo1-s3-bucket=backups\nrepo1-s3-key-secret={REDACTED}\nrepo1-type=s3\n"
        )
    );
    let back = marked_stanzas(&sections(&text).unwrap());
    assert_eq!(back["main"].name, "main");
    // No repo1-type: pgBackRest's default, a posix repository.
    let posix = options_stanza(&cluster(&[("repo1-path", "/srv/backups")]));
    assert_eq!(posix.kind, Some("posix"));
}
