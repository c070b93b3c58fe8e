//! Real object stores on loopback, and the credential issuers that plug them into the
//! simulator.
//!
//! - S3: moto (auth on) behind nginx (TLS). Each token gets real STS `AssumeRole` credentials;
//!   when its lifetime ends, nginx refuses that access key with AWS's 400 `ExpiredToken` (moto
//!   does not enforce `Expiration` itself).
//! - Azure: Azurite over HTTPS. Each token is a container SAS whose `se=` is its lifetime;
//!   Azurite itself refuses it afterwards (403 `AuthorizationFailure`).
//! - GCS: the GCS emulator behind nginx (TLS); it checks no credentials.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridgerest::sim::{IssueRequest, Issued, Issuer, StoreTemplate};
use serde_json::json;
use time::OffsetDateTime;

use super::sign::{self, AwsCreds};
use super::{free_port, tool, tools_dir, wait_until, Proc, TestDir, Tls};

pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published development key.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
pub const BUCKET: &str = "bridge";

/// What a test needs from a store: the simulator's template, the options a user would add for
/// a local store, and the issuer.
pub trait Store {
    fn template(&self) -> StoreTemplate;
    fn options(&self) -> Vec<(String, String)>;
    fn issuer(&self) -> Issuer;
    /// A bucket of its own for drill reports and a user that may use only it, with the
    /// store's endpoint (only S3 makes one).
    fn reports_bucket(&self, _bucket: &str) -> Option<(AwsCreds, String)> {
        None
    }
    /// Makes the store refuse every credential issued so far (only S3 can).
    fn revoke_all(&self) {
        panic!("this store cannot revoke credentials on demand");
    }
    /// The TLS front's access log (method, status, body bytes), if the store has one.
    fn access_log(&self) -> Option<PathBuf> {
        None
    }
    /// Fetches every object under `prefix` through the TLS front, `parallel` at a time, with
    /// plain signed GETs: the store's ceiling for reading them here. Returns the bytes, the
    /// objects and the wall time of the fetching (the listing excluded). S3 only.
    fn fetch_all(&self, _prefix: &str, _parallel: usize) -> (u64, usize, Duration) {
        panic!("only the S3 store can fetch its objects directly");
    }
}

fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].to_string())
}

// --- nginx as a TLS front ---------------------------------------------------------------------

/// What the expiry thread needs to make nginx refuse a key.
pub struct NginxCtl {
    pid: nix::unistd::Pid,
    map: PathBuf,
    port: u16,
    ca: PathBuf,
    alive: AtomicBool,
}

impl NginxCtl {
    /// Makes nginx answer 400 ExpiredToken to every request signed with `access_key`, and waits
    /// until it does.
    pub fn expire(&self, access_key: &str) {
        if !self.alive.load(Ordering::SeqCst) {
            return;
        }
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.map)
            .unwrap();
        writeln!(f, "\"~Credential={access_key}/\" 1;").unwrap();
        drop(f);
        let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGHUP);
        let rt = super::runtime();
        let tls = Tls {
            ca: self.ca.clone(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
        };
        let client = tls.client();
        let url = format!("https://127.0.0.1:{}/{BUCKET}", self.port);
        let auth = format!("AWS4-HMAC-SHA256 Credential={access_key}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0");
        wait_until(
            "nginx to refuse the expired key",
            Duration::from_secs(20),
            || {
                !self.alive.load(Ordering::SeqCst)
                    || rt
                        .block_on(async {
                            client.get(&url).header("authorization", &auth).send().await
                        })
                        .is_ok_and(|r| r.status() == 400)
            },
        );
    }
}

pub struct Nginx {
    pub port: u16,
    /// One line per request: method, status, body bytes sent, Authorization header.
    pub access_log: PathBuf,
    pub ctl: Arc<NginxCtl>,
    _proc: Proc,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.ctl.alive.store(false, Ordering::SeqCst);
    }
}

impl Nginx {
    /// A TLS front for `upstream`; with `bearer`, every request without
    /// `Authorization: Bearer <bearer>` is answered 401.
    pub fn start(dir: &Path, tls: &Tls, upstream: u16, bearer: Option<&str>) -> Nginx {
        let require = bearer
            .map(|b| format!("if ($http_authorization != \"Bearer {b}\") {{ return 401; }}"))
            .unwrap_or_default();
        let nginx = tool("/usr/sbin/nginx", "apt-get install nginx-light");
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let map = dir.join("expired.map");
        std::fs::write(&map, "").unwrap();
        let conf = format!(
            r#"daemon off;
user root;
worker_processes 1;
worker_shutdown_timeout 1s;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
  log_format bytes '$request_method $status $body_bytes_sent $http_authorization';
  access_log {d}/access.log bytes;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  map $http_authorization $bridgerest_expired {{
    default 0;
    include {map};
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {{
      {require}
      if ($bridgerest_expired) {{
        return 400 '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>\n';
      }}
      proxy_pass http://127.0.0.1:{upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_read_timeout 300s;
    }}
  }}
}}
"#,
            d = dir.display(),
            map = map.display(),
            require = require,
            cert = tls.cert.display(),
            key = tls.key.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut proc = Proc::spawn(
            "nginx",
            Command::new(nginx)
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.join("error.log")),
            &dir.join("nginx.out"),
        );
        proc.wait_port(port);
        let ctl = Arc::new(NginxCtl {
            pid: proc.pid(),
            map,
            port,
            ca: tls.ca.clone(),
            alive: AtomicBool::new(true),
        });
        Nginx {
            port,
            access_log: dir.join("access.log"),
            ctl,
            _proc: proc,
        }
    }
}

// --- S3: moto -----------------------------------------------------------------------------------

pub struct S3 {
    pub moto_port: u16,
    pub nginx: Nginx,
    admin: Arc<AwsCreds>,
    issued: Arc<Mutex<Vec<String>>>,
    ca: PathBuf,
    _moto: Proc,
}

async fn moto_call(port: u16, creds: &AwsCreds, service: &str, form: &[(&str, &str)]) -> String {
    moto_try(port, creds, service, form)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An S3 request without a body, signed with `creds` for `host` (`scheme` http or https).
fn s3_request(
    client: &reqwest::Client,
    creds: &AwsCreds,
    method: reqwest::Method,
    scheme: &str,
    host: &str,
    path: &str,
    query: &str,
) -> reqwest::RequestBuilder {
    let url = match query {
        "" => format!("{scheme}://{host}{path}"),
        q => format!("{scheme}://{host}{path}?{q}"),
    };
    let mut req = client.request(method.clone(), url);
    for (k, v) in sign::sigv4(
        creds,
        "s3",
        "us-east-1",
        method.as_str(),
        host,
        path,
        query,
        None,
        b"",
    ) {
        req = req.header(k, v);
    }
    req
}

async fn moto_try(
    port: u16,
    creds: &AwsCreds,
    service: &str,
    form: &[(&str, &str)],
) -> Result<String, String> {
    let body = sign::form(form);
    let host = format!("127.0.0.1:{port}");
    let headers = sign::sigv4(
        creds,
        service,
        "us-east-1",
        "POST",
        &host,
        "/",
        "",
        Some("application/x-www-form-urlencoded"),
        body.as_bytes(),
    );
    let mut req = reqwest::Client::new()
        .post(format!("http://{host}/"))
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("moto {service}: {e}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("moto {service}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "moto {service} {:?}: {status}: {text}",
            form.first()
        ));
    }
    Ok(text)
}

/// A TCP proxy that holds every new connection for `delay` before passing it to `upstream`:
/// nginx opens one upstream connection per request (no upstream keepalive), so each request
/// to the store takes `delay` longer, like a store farther away. Runs until the process ends.
pub struct DelayProxy {
    pub port: u16,
}

impl DelayProxy {
    pub fn start(upstream: u16, delay: std::time::Duration) -> DelayProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::Builder::new()
            .name("delay-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    loop {
                        let Ok((mut inbound, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            if let Ok(mut out) =
                                tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                            {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            }
                        });
                    }
                });
            })
            .unwrap();
        DelayProxy { port }
    }
}

impl S3 {
    pub fn start(dir: &TestDir, tls: &Tls) -> S3 {
        S3::start_with_latency(dir, tls, std::time::Duration::ZERO)
    }

    /// Like [`S3::start`], each request to the store `latency` slower (a [`DelayProxy`]
    /// between nginx and moto).
    pub fn start_with_latency(dir: &TestDir, tls: &Tls, latency: std::time::Duration) -> S3 {
        let moto = tool(
            tools_dir().join("venv/bin/moto_server"),
            "python3 -m venv $TOOLS/venv && $TOOLS/venv/bin/pip install 'moto[server]'",
        );
        let moto_port = free_port();
        let mut proc = Proc::spawn(
            "moto",
            Command::new(moto).args(["-H", "127.0.0.1", "-p", &moto_port.to_string()]),
            &dir.path("moto.log"),
        );
        proc.wait_port(moto_port);
        let rt = super::runtime();
        // With auth still off: an admin user and key, a role to assume, the bucket.
        let setup = AwsCreds {
            key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: "setup".into(),
            token: None,
        };
        let admin = rt.block_on(async {
            moto_call(moto_port, &setup, "iam", &[("Action", "CreateUser"), ("UserName", "bridge-admin"), ("Version", "2010-05-08")]).await;
            let all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
            moto_call(moto_port, &setup, "iam", &[("Action", "PutUserPolicy"), ("UserName", "bridge-admin"), ("PolicyName", "all"), ("PolicyDocument", all), ("Version", "2010-05-08")]).await;
            let key = moto_call(moto_port, &setup, "iam", &[("Action", "CreateAccessKey"), ("UserName", "bridge-admin"), ("Version", "2010-05-08")]).await;
            let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bridge-admin"},"Action":"sts:AssumeRole"}]}"#;
            moto_call(moto_port, &setup, "iam", &[("Action", "CreateRole"), ("RoleName", "bridge-restore"), ("AssumeRolePolicyDocument", trust), ("Version", "2010-05-08")]).await;
            let s3 = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
            moto_call(moto_port, &setup, "iam", &[("Action", "PutRolePolicy"), ("RoleName", "bridge-restore"), ("PolicyName", "s3"), ("PolicyDocument", s3), ("Version", "2010-05-08")]).await;
            let host = format!("127.0.0.1:{moto_port}");
            let r = s3_request(&reqwest::Client::new(), &setup, reqwest::Method::PUT, "http", &host, &format!("/{BUCKET}"), "").send().await.unwrap();
            assert!(r.status().is_success(), "create bucket: {}", r.text().await.unwrap_or_default());
            // From here on moto checks every signature, key, session token and policy.
            let r = reqwest::Client::new().post(format!("http://{host}/moto-api/reset-auth")).header("content-type", "text/plain").body("0").send().await.unwrap();
            assert!(r.status().is_success(), "reset-auth: {}", r.status());
            AwsCreds { key: xml_tag(&key, "AccessKeyId").unwrap(), secret: xml_tag(&key, "SecretAccessKey").unwrap(), token: None }
        });
        let upstream = match latency.is_zero() {
            true => moto_port,
            false => DelayProxy::start(moto_port, latency).port,
        };
        let nginx = Nginx::start(&dir.path("nginx-s3"), tls, upstream, None);
        S3 {
            moto_port,
            nginx,
            admin: Arc::new(admin),
            issued: Arc::default(),
            ca: tls.ca.clone(),
            _moto: proc,
        }
    }
}

impl S3 {
    /// A bucket of its own and a user whose policy allows only it, as a fleet's drill reports
    /// bucket is set up: that user's access key and secret.
    pub fn reports_bucket(&self, bucket: &str) -> AwsCreds {
        let (port, admin) = (self.moto_port, self.admin.clone());
        super::runtime().block_on(async move {
            let v = ("Version", "2010-05-08");
            moto_call(port, &admin, "iam", &[("Action", "CreateUser"), ("UserName", "drill-reports"), v]).await;
            let only = format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#);
            moto_call(port, &admin, "iam", &[("Action", "PutUserPolicy"), ("UserName", "drill-reports"), ("PolicyName", "reports"), ("PolicyDocument", &only), v]).await;
            let key = moto_call(port, &admin, "iam", &[("Action", "CreateAccessKey"), ("UserName", "drill-reports"), v]).await;
            let host = format!("127.0.0.1:{port}");
            let r = s3_request(&reqwest::Client::new(), &admin, reqwest::Method::PUT, "http", &host, &format!("/{bucket}"), "").send().await.unwrap();
            assert!(r.status().is_success(), "create bucket {bucket}: {}", r.text().await.unwrap_or_default());
            AwsCreds { key: xml_tag(&key, "AccessKeyId").unwrap(), secret: xml_tag(&key, "SecretAccessKey").unwrap(), token: None }
        })
    }
}

impl Store for S3 {
    fn reports_bucket(&self, bucket: &str) -> Option<(AwsCreds, String)> {
        Some((
            S3::reports_bucket(self, bucket),
            format!("https://127.0.0.1:{}", self.nginx.port),
        ))
    }

    fn access_log(&self) -> Option<PathBuf> {
        Some(self.nginx.access_log.clone())
    }

    fn fetch_all(&self, prefix: &str, parallel: usize) -> (u64, usize, Duration) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(parallel.max(1))
            .enable_all()
            .build()
            .unwrap();
        let admin = self.admin.clone();
        let (moto, front) = (self.moto_port, self.nginx.port);
        let client = Tls {
            ca: self.ca.clone(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
        }
        .client();
        rt.block_on(async move {
            // Every key under the prefix (ListObjectsV2 pages, straight from moto).
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let enc = |v: &str| {
                    url::form_urlencoded::byte_serialize(v.as_bytes())
                        .collect::<String>()
                        .replace('+', "%20")
                };
                let mut query = String::new();
                if let Some(t) = &token {
                    query.push_str(&format!("continuation-token={}&", enc(t)));
                }
                query.push_str(&format!("list-type=2&prefix={}", enc(prefix)));
                let host = format!("127.0.0.1:{moto}");
                let path = format!("/{BUCKET}");
                let req = s3_request(
                    &reqwest::Client::new(),
                    &admin,
                    reqwest::Method::GET,
                    "http",
                    &host,
                    &path,
                    &query,
                );
                let body = req.send().await.unwrap().text().await.unwrap();
                let mut rest = body.as_str();
                while let Some(i) = rest.find("<Key>") {
                    let end = rest[i..].find("</Key>").unwrap() + i;
                    keys.push(rest[i + 5..end].to_string());
                    rest = &rest[end..];
                }
                token = xml_tag(&body, "NextContinuationToken");
                if xml_tag(&body, "IsTruncated").as_deref() != Some("true") {
                    break;
                }
            }
            let n = keys.len();
            let sem = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
            let start = std::time::Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for key in keys {
                assert!(
                    key.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"/-._".contains(&c)),
                    "{key}"
                );
                let (sem, admin, client) = (sem.clone(), admin.clone(), client.clone());
                tasks.spawn(async move {
                    let _permit = sem.acquire_owned().await.unwrap();
                    let host = format!("127.0.0.1:{front}");
                    let path = format!("/{BUCKET}/{key}");
                    let req = s3_request(
                        &client,
                        &admin,
                        reqwest::Method::GET,
                        "https",
                        &host,
                        &path,
                        "",
                    );
                    let r = req.send().await.unwrap();
                    assert!(r.status().is_success(), "GET {path}: {}", r.status());
                    r.bytes().await.unwrap().len() as u64
                });
            }
            let mut bytes = 0;
            while let Some(b) = tasks.join_next().await {
                bytes += b.unwrap();
            }
            (bytes, n, start.elapsed())
        })
    }

    fn revoke_all(&self) {
        let keys = self.issued.lock().unwrap().clone();
        for k in keys {
            self.nginx.ctl.expire(&k);
        }
    }

    fn template(&self) -> StoreTemplate {
        StoreTemplate::S3 {
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            kms_key_id: None,
        }
    }

    fn options(&self) -> Vec<(String, String)> {
        vec![
            ("repo1-s3-endpoint".into(), "127.0.0.1".into()),
            ("repo1-storage-port".into(), self.nginx.port.to_string()),
            ("repo1-s3-uri-style".into(), "path".into()),
            (
                "repo1-storage-ca-file".into(),
                self.ca.display().to_string(),
            ),
        ]
    }

    fn issuer(&self) -> Issuer {
        let (port, admin, ctl) = (self.moto_port, self.admin.clone(), self.nginx.ctl.clone());
        let issued = self.issued.clone();
        Arc::new(move |req: IssueRequest| {
            let (admin, ctl, issued) = (admin.clone(), ctl.clone(), issued.clone());
            Box::pin(async move {
                let session = format!("token-{}", req.token_id);
                let body = moto_try(
                    port,
                    &admin,
                    "sts",
                    &[
                        ("Action", "AssumeRole"),
                        ("RoleArn", "arn:aws:iam::123456789012:role/bridge-restore"),
                        ("RoleSessionName", &session),
                        ("DurationSeconds", "3600"),
                        ("Version", "2011-06-15"),
                    ],
                )
                .await?;
                let get = |t: &str| {
                    xml_tag(&body, t).ok_or_else(|| format!("AssumeRole answer lacks {t}"))
                };
                let (key, secret, token) = (
                    get("AccessKeyId")?,
                    get("SecretAccessKey")?,
                    get("SessionToken")?,
                );
                issued.lock().unwrap().push(key.clone());
                let expire_key = key.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(req.lifetime);
                    ctl.expire(&expire_key);
                });
                let StoreTemplate::S3 { bucket, region, .. } = req.cluster.store else {
                    return Err("not an s3 cluster".to_string());
                };
                Ok(Issued {
                    store: json!({"s3_bucket": bucket, "s3_key": key, "s3_key_secret": secret, "s3_kms_key_id": null, "s3_region": region, "s3_token": token}),
                    secrets: vec![key, secret, token],
                })
            })
        })
    }
}

// --- Azure: Azurite -----------------------------------------------------------------------------

pub struct Azure {
    pub port: u16,
    key_type: &'static str,
    ca: PathBuf,
    _proc: Proc,
}

impl Azure {
    pub fn start(dir: &TestDir, tls: &Tls, key_type: &'static str) -> Azure {
        let azurite = tool(
            tools_dir().join("node_modules/.bin/azurite-blob"),
            "cd $TOOLS && npm install azurite",
        );
        let port = free_port();
        let data = dir.path("azurite");
        std::fs::create_dir_all(&data).unwrap();
        let mut proc = Proc::spawn(
            "azurite",
            Command::new(azurite)
                .args([
                    "--blobHost",
                    "127.0.0.1",
                    "--blobPort",
                    &port.to_string(),
                    "--cert",
                ])
                .arg(&tls.cert)
                .arg("--key")
                .arg(&tls.key)
                .arg("--location")
                .arg(&data)
                .args([
                    "--disableTelemetry",
                    "--skipApiVersionCheck",
                    "--loose",
                    "--silent",
                ]),
            &dir.path("azurite.log"),
        );
        proc.wait_port(port);
        let sas = sign::account_sas(
            AZURITE_ACCOUNT,
            AZURITE_KEY,
            OffsetDateTime::now_utc() + Duration::from_secs(600),
        );
        let url =
            format!("https://127.0.0.1:{port}/{AZURITE_ACCOUNT}/{BUCKET}?restype=container&{sas}");
        let client = tls.client();
        let (status, body) = super::runtime().block_on(async {
            let r = client
                .put(&url)
                .header("x-ms-version", "2018-11-09")
                .header("content-length", "0")
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        });
        assert_eq!(status, 201, "create container: {body}");
        Azure {
            port,
            key_type,
            ca: tls.ca.clone(),
            _proc: proc,
        }
    }
}

impl Store for Azure {
    fn template(&self) -> StoreTemplate {
        StoreTemplate::Azure {
            account: AZURITE_ACCOUNT.into(),
            container: BUCKET.into(),
            key_type: self.key_type.into(),
            key: None,
        }
    }

    fn options(&self) -> Vec<(String, String)> {
        vec![
            ("repo1-azure-endpoint".into(), "127.0.0.1".into()),
            ("repo1-storage-port".into(), self.port.to_string()),
            ("repo1-azure-uri-style".into(), "path".into()),
            (
                "repo1-storage-ca-file".into(),
                self.ca.display().to_string(),
            ),
        ]
    }

    fn issuer(&self) -> Issuer {
        Arc::new(move |req: IssueRequest| {
            Box::pin(async move {
                let StoreTemplate::Azure {
                    account,
                    container,
                    key_type,
                    ..
                } = req.cluster.store
                else {
                    return Err("not an azure cluster".to_string());
                };
                let (key, secrets) = if key_type == "shared" {
                    (AZURITE_KEY.to_string(), vec![])
                } else {
                    let sas = sign::container_sas(
                        &account,
                        AZURITE_KEY,
                        &container,
                        "racwdl",
                        OffsetDateTime::now_utc() + req.lifetime,
                    );
                    let sig = sas
                        .split('&')
                        .find_map(|p| p.strip_prefix("sig="))
                        .unwrap_or_default()
                        .to_string();
                    (sas.clone(), vec![sas, sig])
                };
                Ok(Issued {
                    store: json!({"azure_account": account, "azure_container": container, "azure_key": key, "azure_key_type": key_type}),
                    secrets,
                })
            })
        })
    }
}

// --- GCS: gcp-storage-emulator ------------------------------------------------------------------

pub struct Gcs {
    pub nginx: Nginx,
    ca: PathBuf,
    /// With a service-account key: the OAuth endpoint pgBackRest gets its access token from
    /// (the token carries no credential, as Bridge documents a GCP cluster's token).
    pub oauth: Option<super::oauth::TokenEndpoint>,
    _proc: Proc,
}

impl Gcs {
    /// The emulator behind nginx; with `service_key`, nginx accepts only the access token an
    /// OAuth exchange signed with a real service-account key gets.
    pub fn start(dir: &TestDir, tls: &Tls, service_key: bool) -> Gcs {
        let oauth =
            service_key.then(|| super::oauth::TokenEndpoint::start(&dir.path("oauth"), tls));
        let emu = tool(
            tools_dir().join("venv/bin/gcp-storage-emulator"),
            "$TOOLS/venv/bin/pip install gcp-storage-emulator",
        );
        let port = free_port();
        let mut proc = Proc::spawn(
            "gcp-storage-emulator",
            Command::new(emu).args([
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--default-bucket",
                BUCKET,
                "--in-memory",
            ]),
            &dir.path("gcs.log"),
        );
        proc.wait_port(port);
        let bearer = oauth.as_ref().map(|o| o.token.clone());
        let nginx = Nginx::start(&dir.path("nginx-gcs"), tls, port, bearer.as_deref());
        Gcs {
            nginx,
            ca: tls.ca.clone(),
            oauth,
            _proc: proc,
        }
    }
}

impl Store for Gcs {
    fn template(&self) -> StoreTemplate {
        StoreTemplate::Gcs {
            bucket: BUCKET.into(),
            credential: if self.oauth.is_some() {
                "none"
            } else {
                "token"
            }
            .into(),
        }
    }

    fn options(&self) -> Vec<(String, String)> {
        let key = self.oauth.iter().flat_map(|o| {
            [
                ("repo1-gcs-key-type".to_string(), "service".to_string()),
                ("repo1-gcs-key".into(), o.key_file.display().to_string()),
            ]
        });
        key.chain([
            // pgBackRest ignores repo1-storage-port for GCS: the port goes in the endpoint.
            (
                "repo1-gcs-endpoint".into(),
                format!("127.0.0.1:{}", self.nginx.port),
            ),
            (
                "repo1-storage-ca-file".into(),
                self.ca.display().to_string(),
            ),
        ])
        .collect()
    }

    fn issuer(&self) -> Issuer {
        let documented = self.oauth.is_some();
        Arc::new(move |_req: IssueRequest| {
            Box::pin(async move {
                if documented {
                    // As Bridge documents it: the bucket, no credential.
                    return Ok(Issued {
                        store: json!({"gcs_bucket": BUCKET}),
                        secrets: vec![],
                    });
                }
                let tok = format!("ya29.e2e-{}", bridgerest::sim::new_eid());
                Ok(Issued {
                    store: json!({"gcs_bucket": BUCKET, "gcs_token": tok}),
                    secrets: vec![tok],
                })
            })
        })
    }
}
