//! The API client against the simulator, method by method, and the simulator's state format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use bridgerest::config;
use bridgerest::provider::bridge::{ApiError, BridgeClient};
use bridgerest::provider::Api;
use bridgerest::sim::{sample_state, SimHandle, SimState};
use secrecy::SecretString;

const KEY: &str = "cbkey_api_test";

fn client(sim: &SimHandle, key: &str) -> BridgeClient {
    let cfg = config::parse(
        &format!("[api]\nurl = \"{}\"\nretry_base = \"10ms\"\n", sim.url()),
        Path::new("t.toml"),
    )
    .unwrap();
    BridgeClient::new(&cfg.api, SecretString::from(key.to_string())).unwrap()
}

#[tokio::test]
async fn cluster_status_and_start_backup() {
    let sim = SimHandle::start(sample_state(KEY, 0)).unwrap();
    let c = client(&sim, KEY);
    let cluster = c.get_cluster("rvf73a77ozfsvcttryebfrnlem").await.unwrap();
    assert_eq!(cluster.name, "production");
    assert_eq!(cluster.extra["plan_id"], "standard-4");

    let before = c.list_backups("rvf73a77ozfsvcttryebfrnlem").await.unwrap();
    let status = c
        .cluster_status("rvf73a77ozfsvcttryebfrnlem")
        .await
        .unwrap();
    assert_eq!(status.state, "ready");
    let oldest = before.iter().map(|b| b.started_at).min().unwrap();
    assert_eq!(status.oldest_backup_at, Some(oldest));

    assert_eq!(
        c.start_backup("rvf73a77ozfsvcttryebfrnlem").await.unwrap(),
        "Backup started."
    );
    // Not listed while it runs (seed 004: "visible from the list backups endpoint when
    // completed"; the sample's backups take backup_duration_ms).
    let after = c.list_backups("rvf73a77ozfsvcttryebfrnlem").await.unwrap();
    assert_eq!(after.len(), before.len());
    assert!(
        sim.sim.stats().idempotency_keys.len() == 1,
        "PUT carries an Idempotency-Key"
    );

    // An unknown cluster is 403, as one of another team (the API does not say which).
    match c.cluster_status("aaaaaaaaaaaaaaaaaaaaaaaaaa").await {
        Err(ApiError::NoAccess {
            message,
            request_id,
            ..
        }) => {
            assert_eq!(message, "Forbidden.");
            assert!(request_id.is_some_and(|r| config::is_eid(&r)));
        }
        other => panic!("expected NoAccess, got {other:?}"),
    }
    match c.create_backup_token("aaaaaaaaaaaaaaaaaaaaaaaaaa").await {
        Err(ApiError::NoAccess { .. }) => {}
        other => panic!("expected NoAccess, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_key_is_unauthorized_and_not_transient() {
    let sim = SimHandle::start(sample_state(KEY, 0)).unwrap();
    let err = client(&sim, "cbkey_nope")
        .list_clusters()
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(sim.sim.stats().requests, 1, "401 is not retried");
    assert!(
        !format!("{err} {err:?}").contains("cbkey_nope"),
        "the key must not appear in errors"
    );
}

#[tokio::test]
async fn clusters_follow_next_cursor() {
    let sim = SimHandle::start(sample_state(KEY, 230)).unwrap();
    let list = client(&sim, KEY).list_clusters().await.unwrap();
    assert_eq!(list.len(), 233);
    let mut ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 233, "no page repeated");
    assert_eq!(sim.sim.stats().by_path["GET /clusters"], 3);
}

#[test]
fn simulator_state_file_round_trips() {
    let state = sample_state(KEY, 1);
    let text = serde_json::to_string_pretty(&state).unwrap();
    let back: SimState = serde_json::from_str(&text).unwrap();
    assert_eq!(back.clusters.len(), 4);
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
    let bad = text.replace("\"api_keys\"", "\"api_keyz\"");
    assert!(serde_json::from_str::<SimState>(&bad)
        .unwrap_err()
        .to_string()
        .contains("api_keyz"));
}

/// The fault example of docs/testing.md ("The simulator"), sent as JSON over HTTP, takes effect.
#[tokio::test]
async fn faults_are_set_over_http_as_the_readme_shows() {
    let sim = SimHandle::start(sample_state(KEY, 0)).unwrap();
    let http = reqwest::Client::new();
    let put = |body: &'static str| {
        http.put(format!("{}/_sim/faults", sim.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let ok = put(r#"[{"kind":"rate_limit","retry_after":2,"times":3,"path":"backup-tokens"}]"#)
        .await
        .unwrap();
    assert!(ok.status().is_success(), "{:?}", ok.text().await);
    let resp = http
        .post(format!(
            "{}/clusters/rvf73a77ozfsvcttryebfrnlem/backup-tokens",
            sim.url()
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "2");
    // A typo is refused by name, not taken for another fault.
    let bad = put(r#"[{"kind":"slow","delay":5}]"#).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("delay"));
}

/// Faults in a `--state` file are read by `bridgerest-sim serve`.
#[test]
fn faults_in_a_state_file_are_served() {
    use std::io::BufRead;
    bridgerest::init_tls();
    let dir = tempfile::tempdir().unwrap();
    let mut state = serde_json::to_value(sample_state(KEY, 0)).unwrap();
    state["faults"] =
        serde_json::json!([{"kind": "server_error", "status": 503, "path": "/clusters"}]);
    let file = dir.path().join("state.json");
    std::fs::write(&file, state.to_string()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bridgerest-sim"))
        .args(["serve", "--state"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/clusters"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .status()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 503);
    // And an unknown field in one is an error naming it.
    state["faults"] = serde_json::json!([{"kind": "slow", "delay": 5}]);
    let err = serde_json::from_value::<SimState>(state)
        .unwrap_err()
        .to_string();
    assert!(err.contains("delay"), "{err}");
}

#[tokio::test]
async fn clusters_of_every_team_and_403_for_the_others() {
    let sim = SimHandle::start(bridgerest::sim::sample_state_with_teams(KEY)).unwrap();
    let c = client(&sim, KEY);
    // Seed 004: without team_id, the personal team only.
    let personal = c.list_clusters().await.unwrap();
    assert_eq!(personal.len(), 2);
    let all = c.list_all_clusters().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|(c, _)| c.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(!ids.contains(&"hhhhhhhhhhhhhhhhhhhhhhhhhe"));
    let (_, team) = all
        .iter()
        .find(|(c, _)| c.id == "p56biajnfvgjhftvqs7lqymspe")
        .unwrap();
    assert_eq!(team.as_ref().unwrap().shown(), "Acme Ops");
    match c.get_cluster("hhhhhhhhhhhhhhhhhhhhhhhhhe").await {
        Err(e @ ApiError::NoAccess { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("no such cluster, or this API key has no access to it (403"),
                "{msg}"
            );
            assert!(!msg.contains("refused"), "{msg}");
        }
        other => panic!("expected NoAccess, got {other:?}"),
    }
}

/// What the official Crunchy Bridge client reads, served as it expects it.
#[tokio::test]
async fn the_simulator_serves_what_real_clients_read() {
    let mut st = sample_state(KEY, 0);
    st.backup_duration_ms = 300;
    let sim = SimHandle::start(st).unwrap();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.url());
    // An access token for the key, then used as the Bearer.
    let tok: serde_json::Value = http
        .post(url("/access-tokens"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credential&client_secret={KEY}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = tok["access_token"].as_str().unwrap().to_string();
    assert!(
        at.starts_with("cbat_") && tok["expires_at"].is_string(),
        "{tok}"
    );
    let get = |p: &str| {
        let (http, at, u) = (http.clone(), at.clone(), url(p));
        async move {
            let r = http.get(u).bearer_auth(at).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let account = get("/account").await;
    assert!(
        account["id"].is_string() && account["email"].is_string() && account["name"].is_string()
    );
    let teams = get("/teams").await;
    let team = &teams["teams"][0];
    assert_eq!(team["is_personal"], true);
    assert_eq!(
        get(&format!("/teams/{}", team["id"].as_str().unwrap())).await["id"],
        team["id"]
    );
    let clusters = get("/clusters").await;
    let first = &clusters["clusters"][0];
    assert!(
        first["host"].is_string() && first["tailscale_active"].is_boolean(),
        "{first}"
    );
    let rules = get(&format!(
        "/networks/{}/firewall-rules",
        first["network_id"].as_str().unwrap()
    ))
    .await;
    assert!(rules["firewall_rules"][0]["rule"].is_string(), "{rules}");
    // Backups: documented names, and no has_more (the documented example has none).
    let id = "rvf73a77ozfsvcttryebfrnlem";
    let page = get(&format!("/clusters/{id}/backups")).await;
    assert!(page.get("has_more").is_none(), "{page}");
    let name = page["backups"][0]["name"].as_str().unwrap();
    assert!(
        name.len() == 21 && &name[4..5] == "/" && name.ends_with('F'),
        "{name}"
    );
    // Idempotency: the same key and request → the same answer; another request → 409.
    let post = |path: String, key: &'static str| {
        http.post(url(&path))
            .bearer_auth(KEY)
            .header("Idempotency-Key", key)
            .send()
    };
    let a = post(format!("/clusters/{id}/backup-tokens"), "k1")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = post(format!("/clusters/{id}/backup-tokens"), "k1")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(a, b, "a replayed key gives the first answer");
    let other = post(
        "/clusters/drsve2t4f5e5znkmef6hmchy2e/backup-tokens".into(),
        "k1",
    )
    .await
    .unwrap();
    assert_eq!(other.status(), 409);
    // start-backup is asynchronous: not listed while it runs (seed 004: "visible from the
    // list backups endpoint when completed"), listed finished later.
    let c = client(&sim, KEY);
    let before = c.list_backups(id).await.unwrap().len();
    c.start_backup(id).await.unwrap();
    let running = c.list_backups(id).await.unwrap();
    assert_eq!(running.len(), before);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let done = c.list_backups(id).await.unwrap();
    assert_eq!(done.len(), before + 1);
    assert!(done.iter().all(|b| b.finished_at.is_some()));
}
