//! The object store of `tier = local`: MinIO in the cluster, standing in for S3.
//!
//! One per local environment with a `bucket`: a StatefulSet (one replica, a volume claim
//! template) and a headless Service named [`NAME`] on [`PORT`], a ServiceAccount without
//! a token, and an ExternalSecret for the root credentials from the developer's `local`
//! store (keys `<project>/<env>/minio/root-user` and `.../root-password`; never a value
//! in output), mounted as files in `/run/secrets` (MinIO's `MINIO_ROOT_*_FILE`). A Job `<NAME>-buckets-<hash>` (the hash of its script, so a changed bucket
//! set runs again) creates each bucket with the MinIO client: `mc mb --with-lock` when
//! Object Lock applies (evidence or `lock`), versioning on, and the default retention
//! (`mc retention set --default`) when `lock.retention` is set, in the bucket's mode.
//!
//! A service that connects to a bucket gets `AWS_ENDPOINT_URL_S3` (the SDKs' standard
//! variable) pointing at MinIO, `AWS_REGION`, and `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` from the same Secret: a laptop has no IAM, so locally every
//! connecting service uses the root credentials (least privilege is the cloud's: the
//! service's IAM role, `identity.rs`). The NetworkPolicies admit exactly those services
//! and the Job to MinIO's port (`netpol.rs`).

use sha2::{Digest, Sha256};

use super::object::{self, Object};
use super::service::external_secret_spec;
use super::yaml::{map, Yaml};
use super::{labels, selector, View};
use crate::emit::{names, versions};
use crate::ir;

/// The name of the local object store's objects (Service, StatefulSet, Secret).
pub const NAME: &str = "govc-minio";

/// The S3 API port.
pub const PORT: u16 = 9000;

/// The region the SDKs are told (MinIO's default region).
pub const REGION: &str = "us-east-1";

/// The Job that creates the buckets (its pods' name label).
pub fn job_label() -> String {
    format!("{NAME}-buckets")
}

/// `http://<NAME>.<namespace>.svc.cluster.local:<PORT>`.
pub fn endpoint(env: &ir::Environment) -> String {
    format!("http://{NAME}.{}.svc.cluster.local:{PORT}", env.namespace)
}

/// The local store key of a root credential: `<project>/<env>/minio/<what>`.
pub fn credential_key(project: &str, env: &str, what: &str) -> String {
    format!("{project}/{env}/minio/{what}")
}

/// Whether `view` is a local environment with a bucket.
pub fn needed(view: &View) -> bool {
    view.is_local() && !view.resources.buckets.is_empty()
}

/// The environment variables of a local service that connects to a bucket: plain values
/// (ConfigMap) and the credentials (`secretKeyRef` into the [`NAME`] Secret).
pub fn service_values(env: &ir::Environment) -> Vec<(String, String)> {
    vec![("AWS_ENDPOINT_URL_S3".into(), endpoint(env)), ("AWS_REGION".into(), REGION.into())]
}

/// `(variable, key of the Secret)` of the credentials a connecting service reads.
pub const CREDENTIALS: [(&str, &str); 2] =
    [("AWS_ACCESS_KEY_ID", "MINIO_ROOT_USER"), ("AWS_SECRET_ACCESS_KEY", "MINIO_ROOT_PASSWORD")];

/// The script of the Job: wait for MinIO, then create and configure every bucket.
pub fn script(buckets: &[ir::Bucket]) -> String {
    let mut s = String::from(
        "set -eu\n\
         i=0\n\
         user=$(cat /run/secrets/MINIO_ROOT_USER)\n\
         password=$(cat /run/secrets/MINIO_ROOT_PASSWORD)\n\
         until mc alias set local \"$MINIO_URL\" \"$user\" \"$password\" >/dev/null; do\n\
         \x20 i=$((i+1)); [ \"$i\" -lt 60 ] || exit 1; sleep 2\n\
         done\n",
    );
    for b in buckets {
        let target = format!("local/{}", b.bucket_name);
        let lock = if b.object_lock() { " --with-lock" } else { "" };
        s.push_str(&format!("mc mb --ignore-existing{lock} {target}\nmc version enable {target}\n"));
        if let Some(ir::Lock { mode, retention_days: Some(days) }) = b.lock {
            s.push_str(&format!("mc retention set --default {} {days}d {target}\n", mode.as_s3()));
        }
    }
    s
}

/// Every object of the local object store of `view`.
pub fn objects(view: &View) -> Vec<Object> {
    let Some(env) = view.env.filter(|_| needed(view)) else { return Vec::new() };
    let meta = |name: &str| vec![("labels", labels(view.project, name, "object-store"))];
    let entry = |secret_key: &str, what: &str| {
        map([
            ("secretKey", Yaml::text(secret_key)),
            ("remoteRef", map([("key", credential_key(view.project, &env.name, what).into())])),
        ])
    };
    let secret = external_secret_spec(
        view,
        NAME,
        vec![entry("MINIO_ROOT_USER", "root-user"), entry("MINIO_ROOT_PASSWORD", "root-password")],
    );
    let service = map([
        ("clusterIP", "None".into()),
        ("selector", selector(view.project, NAME)),
        (
            "ports",
            Yaml::Seq(vec![map([
                ("name", "s3".into()),
                ("port", PORT.into()),
                ("targetPort", "s3".into()),
                ("protocol", "TCP".into()),
            ])]),
        ),
    ]);
    let script = script(&view.resources.buckets);
    let hash = crate::lock::hex(&Sha256::digest(script.as_bytes())[..5]);
    let job = job_label();
    vec![
        Object::new("v1", "ServiceAccount", NAME, meta(NAME), vec![("automountServiceAccountToken", false.into())]),
        Object::new("external-secrets.io/v1", "ExternalSecret", NAME, meta(NAME), vec![("spec", secret)]),
        Object::new("v1", "Service", NAME, meta(NAME), vec![("spec", service)]),
        Object::new("apps/v1", "StatefulSet", NAME, meta(NAME), vec![("spec", stateful_set(view))]),
        Object::new(
            "batch/v1",
            "Job",
            &names::shortened(format!("{job}-{hash}"), 63),
            meta(&job),
            vec![("spec", job_spec(view, env, &job, script))],
        ),
    ]
}

/// Where the root credentials are mounted (files, not environment variables): MinIO reads
/// `MINIO_ROOT_USER_FILE` and `MINIO_ROOT_PASSWORD_FILE` relative to `/run/secrets`.
const CREDENTIALS_DIR: &str = "/run/secrets";

fn credentials_volume() -> Yaml {
    map([("name", "credentials".into()), ("secret", map([("secretName", NAME.into())]))])
}

fn credentials_mount() -> Yaml {
    map([("name", "credentials".into()), ("mountPath", CREDENTIALS_DIR.into()), ("readOnly", true.into())])
}

fn stateful_set(view: &View) -> Yaml {
    let probe = |path: &str, extra: Vec<(&'static str, Yaml)>| {
        let mut p = vec![("httpGet".into(), map([("path", Yaml::text(path)), ("port", "s3".into())]))];
        p.extend(extra.into_iter().map(|(k, v)| (k.into(), v)));
        Yaml::Map(p)
    };
    let container = map([
        ("name", "minio".into()),
        ("image", versions::MINIO_IMAGE.into()),
        ("imagePullPolicy", "IfNotPresent".into()),
        ("args", Yaml::from(vec!["server", "/data", "--address", ":9000", "--certs-dir", "/tmp/certs"])),
        (
            "ports",
            Yaml::Seq(vec![map([("name", "s3".into()), ("containerPort", PORT.into()), ("protocol", "TCP".into())])]),
        ),
        (
            "env",
            Yaml::Seq(vec![
                map([("name", "MINIO_ROOT_USER_FILE".into()), ("value", "MINIO_ROOT_USER".into())]),
                map([("name", "MINIO_ROOT_PASSWORD_FILE".into()), ("value", "MINIO_ROOT_PASSWORD".into())]),
                map([("name", "HOME".into()), ("value", "/tmp".into())]),
            ]),
        ),
        ("resources", object::resources(500, 512 << 20)),
        ("readinessProbe", probe("/minio/health/ready", vec![("periodSeconds", 10i64.into())])),
        (
            "livenessProbe",
            probe("/minio/health/live", vec![("initialDelaySeconds", 10i64.into()), ("periodSeconds", 20i64.into())]),
        ),
        ("securityContext", object::container_security_context().clone()),
        (
            "volumeMounts",
            Yaml::Seq(vec![object::mount("data", "/data"), object::mount("tmp", "/tmp"), credentials_mount()]),
        ),
    ]);
    let pod = map([
        ("serviceAccountName", NAME.into()),
        ("automountServiceAccountToken", false.into()),
        ("securityContext", object::pod_security_context().clone()),
        ("containers", Yaml::Seq(vec![container])),
        ("volumes", Yaml::Seq(vec![object::empty_dir("tmp"), credentials_volume()])),
    ]);
    let claim = map([
        ("metadata", map([("name", "data".into())])),
        (
            "spec",
            map([
                ("accessModes", vec!["ReadWriteOnce"].into()),
                ("resources", map([("requests", map([("storage", "10Gi".into())]))])),
            ]),
        ),
    ]);
    map([
        ("serviceName", NAME.into()),
        ("replicas", 1i64.into()),
        ("selector", map([("matchLabels", selector(view.project, NAME))])),
        ("template", map([("metadata", map([("labels", labels(view.project, NAME, "object-store"))])), ("spec", pod)])),
        ("volumeClaimTemplates", Yaml::Seq(vec![claim])),
    ])
}

fn job_spec(view: &View, env: &ir::Environment, job: &str, script: String) -> Yaml {
    let var = |k: &'static str, v: String| map([("name", k.into()), ("value", v.into())]);
    let container = map([
        ("name", "create-buckets".into()),
        ("image", versions::MINIO_CLIENT_IMAGE.into()),
        ("imagePullPolicy", "IfNotPresent".into()),
        ("command", Yaml::from(vec!["/bin/sh", "-c"])),
        ("args", Yaml::Seq(vec![script.into()])),
        (
            "env",
            Yaml::Seq(vec![
                var("MINIO_URL", endpoint(env)),
                var("MC_CONFIG_DIR", "/tmp/.mc".into()),
                var("HOME", "/tmp".into()),
            ]),
        ),
        ("resources", object::resources(100, 128 << 20)),
        ("securityContext", object::container_security_context().clone()),
        ("volumeMounts", Yaml::Seq(vec![object::mount("tmp", "/tmp"), credentials_mount()])),
    ]);
    let pod = map([
        ("serviceAccountName", NAME.into()),
        ("automountServiceAccountToken", false.into()),
        ("restartPolicy", "OnFailure".into()),
        ("securityContext", object::pod_security_context().clone()),
        ("containers", Yaml::Seq(vec![container])),
        ("volumes", Yaml::Seq(vec![object::empty_dir("tmp"), credentials_volume()])),
    ]);
    map([
        ("backoffLimit", 6i64.into()),
        ("template", map([("metadata", map([("labels", labels(view.project, job, "object-store"))])), ("spec", pod)])),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::flow_tests::compile;
    use crate::emit::identity_tests::envs_with_buckets;

    fn bucket(name: &str, evidence: bool, lock: Option<ir::Lock>) -> ir::Bucket {
        ir::Bucket {
            name: name.into(),
            doc: None,
            evidence,
            lock,
            noncurrent_days: None,
            abort_uploads_days: 7,
            bucket_name: format!("p-local-{name}"),
            from_stack: true,
        }
    }

    /// Object Lock where the cloud has it (evidence or `lock`), versioning always, the
    /// default retention in the declared mode where one is declared.
    #[test]
    fn the_job_creates_each_bucket_as_declared() {
        let compliance = ir::Lock { mode: ir::LockMode::Compliance, retention_days: Some(365) };
        let governance = ir::Lock { mode: ir::LockMode::Governance, retention_days: None };
        let s = script(&[
            bucket("evidence", true, Some(compliance)),
            bucket("held", false, Some(governance)),
            bucket("plain", false, None),
            bucket("proof", true, None),
        ]);
        assert!(s.contains("mc mb --ignore-existing --with-lock local/p-local-evidence\n"));
        assert!(s.contains("mc retention set --default COMPLIANCE 365d local/p-local-evidence\n"));
        assert!(s.contains("mc mb --ignore-existing --with-lock local/p-local-held\n"));
        assert!(s.contains("mc mb --ignore-existing local/p-local-plain\n"));
        assert!(s.contains("mc mb --ignore-existing --with-lock local/p-local-proof\n"));
        assert_eq!(s.matches("mc version enable").count(), 4);
        assert_eq!(s.matches("mc retention set").count(), 1, "only a declared retention");
    }

    /// The local overlay of `envs/` with buckets: one MinIO pinned by digest, credentials
    /// from the local store only (no Secret with a value), the connecting services pointed
    /// at it, the others not.
    #[test]
    fn local_services_reach_the_in_cluster_store() {
        let (program, _) = compile(envs_with_buckets()).expect("builds");
        let env = program.environments.iter().find(|e| e.tier == ir::Tier::Local).expect("local");
        let view = View::new(&program.project, Some(env), &env.resources);
        let objects = super::super::objects(&view).expect("objects");
        let docs: Vec<String> = objects.iter().map(Object::to_document).collect();
        let text = docs.join("---\n");
        assert!(!objects.iter().any(|o| o.kind == "Secret"), "no Secret with a value");
        let sts = objects.iter().find(|o| o.kind == "StatefulSet" && o.name == NAME).expect("MinIO");
        assert!(sts.to_document().contains(versions::MINIO_IMAGE));
        assert!(versions::MINIO_IMAGE.contains("@sha256:") && versions::MINIO_CLIENT_IMAGE.contains("@sha256:"));
        assert!(text.contains("key: zenthea/local/minio/root-user"));
        assert!(text.contains("mc mb --ignore-existing --with-lock local/zenthea-local-evidence"));
        let config = |svc: &str| {
            let name = format!("{svc}-config");
            objects.iter().find(|o| o.kind == "ConfigMap" && o.name == name).map(Object::to_document)
        };
        let endpoint = format!("http://{NAME}.zenthea-local.svc.cluster.local:{PORT}");
        for svc in ["api", "worker"] {
            assert!(config(svc).expect("a ConfigMap").contains(&endpoint), "{svc}");
            let deployment = objects.iter().find(|o| o.kind == "Deployment" && o.name == svc).expect("deployment");
            assert!(deployment.to_document().contains("AWS_SECRET_ACCESS_KEY"), "{svc}");
        }
        assert!(config("api").expect("api").contains("EVIDENCE_BUCKET: zenthea-local-evidence"));
        assert!(!config("web").unwrap_or_default().contains("AWS_ENDPOINT_URL_S3"), "web connects to no bucket");
        let web = objects.iter().find(|o| o.kind == "Deployment" && o.name == "web").expect("web");
        assert!(!web.to_document().contains("AWS_SECRET_ACCESS_KEY"));
        // A cloud environment has no MinIO.
        let staging = program.environments.iter().find(|e| e.name == "staging").expect("staging");
        let cloud =
            super::super::objects(&View::new(&program.project, Some(staging), &staging.resources)).expect("objects");
        assert!(!cloud.iter().any(|o| o.name.starts_with(NAME)));
    }
}
