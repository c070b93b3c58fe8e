//! Google's OAuth token endpoint, as pgBackRest's `repo1-gcs-key-type=service` uses it: a real
//! service-account key file (an RSA key made with openssl), and an endpoint (plain HTTP here,
//! behind nginx's TLS) that takes the JWT pgBackRest signs with that key, checks its signature
//! with the public key (ring) and its claims, and answers the one access token the GCS front
//! accepts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine;

use super::stores::Nginx;
use super::{free_port, Tls};

pub struct TokenEndpoint {
    /// `token_uri` in the key file.
    pub uri: String,
    /// The access token it hands out; the GCS front accepts only this one.
    pub token: String,
    /// The service-account key file (JSON), owned by postgres, 0600.
    pub key_file: PathBuf,
    /// Tokens handed out for a valid JWT, and why others were refused.
    pub granted: Arc<AtomicUsize>,
    pub refused: Arc<Mutex<Vec<String>>>,
    _nginx: Nginx,
}

const CLIENT_EMAIL: &str = "bridgerest-e2e@bridgerest-test.iam.gserviceaccount.com";

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TokenEndpoint {
    pub fn start(dir: &Path, tls: &Tls) -> TokenEndpoint {
        std::fs::create_dir_all(dir).unwrap();
        let pem = dir.join("sa.pem");
        let der = dir.join("sa.pub.der");
        let p = |x: &Path| x.display().to_string();
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p(&pem),
        ]);
        openssl(&[
            "rsa",
            "-in",
            &p(&pem),
            "-RSAPublicKey_out",
            "-outform",
            "DER",
            "-out",
            &p(&der),
        ]);
        let public = std::fs::read(&der).unwrap();

        let token = format!("ya29.e2e-oauth-{}", bridgerest::sim::new_eid());
        let granted = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let upstream = free_port();
        let nginx = Nginx::start(&dir.join("nginx"), tls, upstream, None);
        let uri = format!("https://127.0.0.1:{}/token", nginx.port);
        {
            let (token, granted, refused, aud) =
                (token.clone(), granted.clone(), refused.clone(), uri.clone());
            let app = axum::Router::new().route(
                "/token",
                axum::routing::post(move |body: Bytes| {
                    let res = check(&body, &public, &aud);
                    let (token, granted, refused) = (token.clone(), granted.clone(), refused.clone());
                    async move {
                        match res {
                            Ok(()) => {
                                granted.fetch_add(1, Ordering::SeqCst);
                                axum::Json(serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 3599}))
                                    .into_response()
                            }
                            Err(why) => {
                                refused.lock().unwrap().push(why.clone());
                                (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"error": "invalid_grant", "error_description": why})))
                                    .into_response()
                            }
                        }
                    }
                }),
            );
            let listener = std::net::TcpListener::bind(("127.0.0.1", upstream)).unwrap();
            listener.set_nonblocking(true).unwrap();
            std::thread::spawn(move || {
                let rt = super::runtime();
                rt.block_on(async move {
                    let l = tokio::net::TcpListener::from_std(listener).unwrap();
                    axum::serve(l, app).await.unwrap();
                });
            });
        }

        let key = serde_json::json!({
            "type": "service_account",
            "project_id": "bridgerest-test",
            "private_key_id": "e2e0000000000000000000000000000000000000",
            "private_key": std::fs::read_to_string(&pem).unwrap(),
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000000",
            "token_uri": uri,
        });
        let key_file = dir.join("gcs-key.json");
        std::fs::write(&key_file, key.to_string()).unwrap();
        std::fs::set_permissions(
            &key_file,
            // 0640: the source's user (group postgres) backs up with it too.
            std::os::unix::fs::PermissionsExt::from_mode(0o640),
        )
        .unwrap();
        let (u, g) = super::postgres_ids();
        nix::unistd::chown(&key_file, Some(u), Some(g)).unwrap();
        TokenEndpoint {
            uri,
            token,
            key_file,
            granted,
            refused,
            _nginx: nginx,
        }
    }
}

/// Checks a token request: the JWT-bearer grant, an RS256 JWT signed by the key, issued by
/// the service account, for this endpoint, asking for a Cloud Storage scope, not expired.
fn check(body: &[u8], public: &[u8], aud: &str) -> Result<(), String> {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return Err(format!("grant_type {:?}", form.get("grant_type")));
    }
    let jwt = form.get("assertion").ok_or("no assertion")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, s] = parts[..] else {
        return Err("not a JWT".into());
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sig = b64.decode(s).map_err(|e| format!("signature: {e}"))?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| "bad signature".to_string())?;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(h).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(c).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {}", header["alg"]));
    }
    if claims["iss"] != CLIENT_EMAIL || claims["aud"] != aud {
        return Err(format!("iss {} aud {}", claims["iss"], claims["aud"]));
    }
    if !claims["scope"]
        .as_str()
        .unwrap_or("")
        .contains("devstorage")
    {
        return Err(format!("scope {}", claims["scope"]));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if claims["exp"].as_i64().unwrap_or(0) <= now {
        return Err("expired".into());
    }
    Ok(())
}
